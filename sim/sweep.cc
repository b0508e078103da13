#include "sim/sweep.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/remoting/json.h"
#include "sim/repro.h"
#include "sim/scenario.h"

namespace apogee::sim {

namespace {

using Clock = std::chrono::steady_clock;

struct Job {
  std::string scenario;
  uint64_t seed = 0;
};

struct Result {
  Job job;
  std::string outcome = "crash";
  std::vector<std::string> violations;
  std::string trace_hash;
  double sim_time_ms = 0;
  double wall_ms = 0;
  uint64_t events = 0;
  std::string repro_path;
};

struct Running {
  Job job;
  pid_t pid = -1;
  int fd = -1;
  std::string output;
  Clock::time_point started;
  bool timed_out = false;
};

int Severity(const std::string& outcome) {
  if (outcome == "pass") return 0;
  if (outcome == "liveness") return 1;
  if (outcome == "violation") return 2;
  if (outcome == "nondeterminism") return 3;
  return 4;  // crash
}

int ExitCodeOf(const std::string& outcome) {
  if (outcome == "pass") return 0;
  if (outcome == "violation") return 1;
  if (outcome == "liveness") return 3;
  if (outcome == "nondeterminism") return 4;
  return 2;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

Running Launch(const Job& job, const SweepOptions& o, const std::string& self) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::perror("apogee-sim sweep: pipe");
    std::exit(2);
  }
  std::string seed = fmt::format("{}", job.seed);
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("apogee-sim sweep: fork");
    std::exit(2);
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, STDERR_FILENO);
    std::vector<const char*> argv = {self.c_str(), "run",        "--scenario", job.scenario.c_str(),
                                     "--seed",     seed.c_str(), "--json"};
    if (o.check_determinism) argv.push_back("--check-determinism");
    for (const std::string& hook : o.run_test_hooks) argv.push_back(hook.c_str());
    argv.push_back(nullptr);
    execv(self.c_str(), const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  close(fds[1]);
  Running r;
  r.job = job;
  r.pid = pid;
  r.fd = fds[0];
  r.started = Clock::now();
  return r;
}

Result Finish(Running& r, int status) {
  Result res;
  res.job = r.job;
  res.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - r.started).count();
  std::string line = r.output.substr(0, r.output.find('\n'));
  apogee::Result<JsonValue> parsed = ParseJson(line);
  if (parsed.ok() && parsed->is_object()) {
    const JsonValue& o = *parsed;
    if (const JsonValue* v = o.Find("outcome"); v && v->is_string())
      res.outcome = v->string_value();
    if (const JsonValue* v = o.Find("trace_hash"); v && v->is_string()) {
      res.trace_hash = v->string_value();
    }
    if (const JsonValue* v = o.Find("sim_time_ms"); v && v->is_number()) {
      res.sim_time_ms = std::stod(v->number_text());
    }
    if (const JsonValue* v = o.Find("events"); v && v->is_number()) {
      res.events = static_cast<uint64_t>(v->int64().value_or(0));
    }
    if (const JsonValue* v = o.Find("violations"); v && v->is_array()) {
      for (const JsonValue& item : v->items()) {
        if (item.is_string()) res.violations.push_back(item.string_value());
      }
    }
  } else {
    res.outcome = "crash";
    if (r.timed_out) {
      res.violations.push_back("the run was killed after exceeding its wall-time limit");
    } else if (WIFSIGNALED(status)) {
      res.violations.push_back(fmt::format("the run died of signal {} ({})", WTERMSIG(status),
                                           strsignal(WTERMSIG(status))));
    } else {
      res.violations.push_back(fmt::format("the run exited {} without a report",
                                           WIFEXITED(status) ? WEXITSTATUS(status) : -1));
    }
  }
  return res;
}

void Progress(const SweepOptions& o, size_t done, size_t total, size_t failed,
              Clock::time_point start, bool final, size_t* last_decile) {
  if (!o.progress || total == 0) return;
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  if (isatty(STDERR_FILENO)) {
    constexpr int kWidth = 30;
    int filled = static_cast<int>(kWidth * done / total);
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < kWidth) bar += '>';
    bar.resize(kWidth, ' ');
    std::fprintf(stderr, "\r[%s] %zu/%zu runs  %zu failed  %.1f runs/s", bar.c_str(), done, total,
                 failed, rate);
    if (final) std::fputc('\n', stderr);
    std::fflush(stderr);
    return;
  }
  size_t decile = done * 10 / total;
  if (decile != *last_decile || final) {
    *last_decile = decile;
    std::fprintf(stderr, "sweep: %zu/%zu runs, %zu failed, %.1f runs/s\n", done, total, failed,
                 rate);
  }
}

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) std::fprintf(stderr, "apogee-sim sweep: cannot write %s\n", path.c_str());
}

std::string JsonString(std::string_view s) {
  std::string out;
  WriteJsonString(s, &out);
  return out;
}

}  // namespace

int RunSweep(const SweepOptions& o, const std::string& self) {
  std::vector<std::string> names = o.scenarios;
  if (names.empty()) {
    for (const Scenario& s : Scenarios()) names.push_back(s.name);
  }
  std::deque<Job> pending;
  uint64_t index = 0;
  for (const std::string& name : names) {
    for (uint64_t i = 0; i < o.seed_count; ++i, ++index) {
      if (static_cast<int>(index % static_cast<uint64_t>(o.shard_total)) != o.shard_index) continue;
      pending.push_back(Job{name, o.seed_first + i});
    }
  }
  const size_t total = pending.size();
  std::filesystem::create_directories(std::filesystem::path(o.out_dir) / "failures");
  std::vector<Result> results;
  std::vector<Running> running;
  const Clock::time_point start = Clock::now();
  size_t failed = 0;
  size_t last_decile = 0;
  while (!pending.empty() || !running.empty()) {
    while (!pending.empty() && static_cast<int>(running.size()) < o.jobs) {
      running.push_back(Launch(pending.front(), o, self));
      pending.pop_front();
    }
    std::vector<pollfd> fds;
    for (const Running& r : running) fds.push_back(pollfd{r.fd, POLLIN, 0});
    int n = poll(fds.data(), fds.size(), 1000);
    if (n < 0 && errno != EINTR) {
      std::perror("apogee-sim sweep: poll");
      return 2;
    }
    for (size_t i = running.size(); i-- > 0;) {
      Running& r = running[i];
      bool ended = false;
      if (fds[i].revents != 0) {
        char buf[65536];
        ssize_t got = read(r.fd, buf, sizeof(buf));
        if (got > 0) {
          r.output.append(buf, static_cast<size_t>(got));
        } else if (got == 0 || errno != EINTR) {
          ended = true;
        }
      }
      if (!ended && Clock::now() - r.started > o.run_timeout && !r.timed_out) {
        r.timed_out = true;
        kill(r.pid, SIGKILL);
      }
      if (!ended) continue;
      close(r.fd);
      int status = 0;
      while (waitpid(r.pid, &status, 0) < 0 && errno == EINTR) {
      }
      Result res = Finish(r, status);
      if (res.outcome != "pass") {
        failed++;
        Repro repro{res.job.scenario, res.job.seed,   BuildId(), res.outcome, 0,
                    res.sim_time_ms,  res.violations, {}};
        repro.trace_hash = std::strtoull(res.trace_hash.c_str(), nullptr, 16);
        repro.test_hooks = o.run_test_hooks;
        std::filesystem::path path =
            std::filesystem::path(o.out_dir) / "failures" /
            fmt::format("{}-seed-{}.repro.json", res.job.scenario, res.job.seed);
        WriteFile(path, EncodeRepro(repro));
        res.repro_path = path.string();
        std::fprintf(stderr, "%s%s seed %llu: %s%s%s\n  replay: apogee-sim replay %s\n",
                     isatty(STDERR_FILENO) && o.progress ? "\r" : "", res.job.scenario.c_str(),
                     static_cast<unsigned long long>(res.job.seed), res.outcome.c_str(),
                     res.violations.empty() ? "" : ": ",
                     res.violations.empty() ? "" : res.violations[0].c_str(), path.c_str());
      }
      results.push_back(std::move(res));
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
      Progress(o, results.size(), total, failed, start, false, &last_decile);
    }
  }
  Progress(o, results.size(), total, failed, start, true, &last_decile);
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(results.begin(), results.end(), [](const Result& a, const Result& b) {
    return std::tie(a.job.scenario, a.job.seed) < std::tie(b.job.scenario, b.job.seed);
  });

  // Summary.
  std::map<std::string, size_t> by_outcome;
  std::map<std::string, std::pair<size_t, size_t>> by_scenario;  // runs, failed
  double sim_ms = 0;
  uint64_t events = 0;
  std::string worst = "pass";
  for (const Result& r : results) {
    by_outcome[r.outcome]++;
    auto& s = by_scenario[r.job.scenario];
    s.first++;
    if (r.outcome != "pass") s.second++;
    sim_ms += r.sim_time_ms;
    events += r.events;
    if (Severity(r.outcome) > Severity(worst)) worst = r.outcome;
  }
  std::string json = fmt::format(
      "{{\"build_id\":{},\"runs\":{},\"failed\":{},\"shard\":\"{}/{}\",\"jobs\":{},"
      "\"check_determinism\":{},\"wall_time_s\":{:.3f},\"runs_per_s\":{:.2f},"
      "\"sim_time_s\":{:.3f},\"events\":{},\"outcomes\":{{",
      JsonString(BuildId()), results.size(), failed, o.shard_index, o.shard_total, o.jobs,
      o.check_determinism ? "true" : "false", wall_s,
      wall_s > 0 ? static_cast<double>(results.size()) / wall_s : 0.0, sim_ms / 1000, events);
  bool first = true;
  for (const auto& [outcome, count] : by_outcome) {
    json += fmt::format("{}{}:{}", first ? "" : ",", JsonString(outcome), count);
    first = false;
  }
  json += "},\"scenarios\":{";
  first = true;
  for (const auto& [name, rf] : by_scenario) {
    json += fmt::format("{}{}:{{\"runs\":{},\"failed\":{}}}", first ? "" : ",", JsonString(name),
                        rf.first, rf.second);
    first = false;
  }
  json += "},\"failures\":[";
  first = true;
  for (const Result& r : results) {
    if (r.outcome == "pass") continue;
    json += fmt::format(
        "{}{{\"scenario\":{},\"seed\":{},\"outcome\":{},\"violation\":{},"
        "\"repro\":{}}}",
        first ? "" : ",", JsonString(r.job.scenario), r.job.seed, JsonString(r.outcome),
        JsonString(r.violations.empty() ? "" : r.violations[0]), JsonString(r.repro_path));
    first = false;
  }
  json += "]}\n";
  WriteFile(std::filesystem::path(o.out_dir) / "summary.json", json);

  // JUnit: one suite per scenario, one case per seed.
  std::string xml = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"apogee-sim\" tests=\"{}\" "
      "failures=\"{}\" time=\"{:.3f}\">\n",
      results.size(), failed, wall_s);
  std::string current;
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    if (r.job.scenario != current) {
      if (!current.empty()) xml += "  </testsuite>\n";
      current = r.job.scenario;
      const auto& rf = by_scenario[current];
      xml += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">\n",
                         XmlEscape(current), rf.first, rf.second);
    }
    xml += fmt::format("    <testcase classname=\"apogee-sim.{}\" name=\"seed-{}\" time=\"{:.3f}\"",
                       XmlEscape(r.job.scenario), r.job.seed, r.wall_ms / 1000);
    if (r.outcome == "pass") {
      xml += "/>\n";
      continue;
    }
    std::string body;
    for (const std::string& v : r.violations) body += v + "\n";
    body += fmt::format("replay: apogee-sim replay {}\n", r.repro_path);
    xml +=
        fmt::format(">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                    XmlEscape(r.outcome),
                    XmlEscape(r.violations.empty() ? r.outcome : r.violations[0]), XmlEscape(body));
  }
  if (!current.empty()) xml += "  </testsuite>\n";
  xml += "</testsuites>\n";
  WriteFile(std::filesystem::path(o.out_dir) / "junit.xml", xml);

  std::fprintf(stderr,
               "sweep: %zu runs in %.1f s (%.1f runs/s), %zu failed; summary %s/summary.json, "
               "JUnit %s/junit.xml\n",
               results.size(), wall_s,
               wall_s > 0 ? static_cast<double>(results.size()) / wall_s : 0, failed,
               o.out_dir.c_str(), o.out_dir.c_str());
  return ExitCodeOf(worst);
}

}  // namespace apogee::sim
