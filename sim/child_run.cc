#include "sim/child_run.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/remoting/json.h"

namespace apogee::sim {

ChildResult ParseChildOutput(const std::string& output, int status, bool timed_out) {
  ChildResult res;
  // The report is the last line that parses as a JSON object (a child may print other lines
  // first, e.g. a replay's verdict goes to stderr, but be lenient).
  size_t end = output.size();
  while (end > 0) {
    size_t start = output.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    std::string_view line(output.data() + start, end - start);
    if (!line.empty() && line.front() == '{') {
      Result<JsonValue> parsed = ParseJson(line);
      if (parsed.ok() && parsed->is_object()) {
        const JsonValue& o = *parsed;
        if (const JsonValue* v = o.Find("outcome"); v && v->is_string()) {
          res.outcome = v->string_value();
        }
        if (const JsonValue* v = o.Find("trace_hash"); v && v->is_string()) {
          res.trace_hash = std::strtoull(v->string_value().c_str(), nullptr, 16);
        }
        if (const JsonValue* v = o.Find("sim_time_ms"); v && v->is_number()) {
          res.sim_time_ms = std::strtod(v->number_text().c_str(), nullptr);
        }
        if (const JsonValue* v = o.Find("wall_time_ms"); v && v->is_number()) {
          res.wall_ms = std::strtod(v->number_text().c_str(), nullptr);
        }
        if (const JsonValue* v = o.Find("events"); v && v->is_number()) {
          res.events = static_cast<uint64_t>(v->int64().value_or(0));
        }
        if (const JsonValue* v = o.Find("violations"); v && v->is_array()) {
          for (const JsonValue& item : v->items()) {
            if (item.is_string()) res.violations.push_back(item.string_value());
          }
        }
        if (const JsonValue* v = o.Find("fault_plan"); v && v->is_array()) {
          Result<FaultPlan> plan = DecodeFaultPlan(WriteJson(*v));
          if (plan.ok()) {
            res.has_plan = true;
            res.plan = std::move(*plan);
          }
        }
        return res;
      }
    }
    end = start == 0 ? 0 : start - 1;
  }
  res.outcome = "crash";
  if (timed_out) {
    res.violations.push_back("the run was killed after exceeding its wall-time limit");
  } else if (WIFSIGNALED(status)) {
    res.violations.push_back(fmt::format("the run died of signal {} ({})", WTERMSIG(status),
                                         strsignal(WTERMSIG(status))));
  } else {
    res.violations.push_back(fmt::format("the run exited {} without a report",
                                         WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  }
  return res;
}

ChildProcess SpawnChild(const std::string& self, const std::vector<std::string>& args,
                        bool keep_stderr) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::perror("apogee-sim: pipe");
    std::exit(2);
  }
  std::vector<const char*> argv = {self.c_str()};
  for (const std::string& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("apogee-sim: fork");
    std::exit(2);
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    if (!keep_stderr) {
      int devnull = open("/dev/null", O_WRONLY);
      if (devnull >= 0) dup2(devnull, STDERR_FILENO);
    }
    execv(self.c_str(), const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  close(fds[1]);
  return ChildProcess{pid, fds[0]};
}

ChildResult RunChild(const std::string& self, const std::vector<std::string>& args,
                     std::chrono::seconds timeout) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  ChildProcess child = SpawnChild(self, args);
  std::string output;
  bool timed_out = false;
  for (;;) {
    pollfd p{child.fd, POLLIN, 0};
    int n = poll(&p, 1, 1000);
    if (n < 0 && errno != EINTR) break;
    if (n > 0) {
      char buf[65536];
      ssize_t got = read(child.fd, buf, sizeof(buf));
      if (got > 0) {
        output.append(buf, static_cast<size_t>(got));
        continue;
      }
      if (got == 0 || errno != EINTR) break;
    }
    if (!timed_out && Clock::now() - start > timeout) {
      timed_out = true;
      kill(child.pid, SIGKILL);
    }
  }
  close(child.fd);
  int status = 0;
  while (waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
  }
  ChildResult res = ParseChildOutput(output, status, timed_out);
  if (res.wall_ms == 0) {
    res.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  }
  return res;
}

std::string SelfExe() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return "";
  return std::string(self, static_cast<size_t>(n));
}

}  // namespace apogee::sim
