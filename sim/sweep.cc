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
#include <sstream>

#include "core/remoting/json.h"
#include "sim/child_run.h"
#include "sim/html_report.h"
#include "sim/repro.h"
#include "sim/scenario.h"
#include "sim/shrink_run.h"

namespace apogee::sim {

namespace {

using Clock = std::chrono::steady_clock;

struct Job {
  std::string scenario;
  uint64_t seed = 0;
};

struct Result {
  Job job;
  ChildResult run;
  double wall_ms = 0;
  std::string repro_path;
  std::string min_repro_path;  // when shrunk
  std::string shrink;          // "14 faults -> 2 in 23 runs"
  std::string html_path;
  bool replayed = false;  // the report's replay gave the recorded trace hash
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

Running Launch(const Job& job, const SweepOptions& o, const std::string& self) {
  std::vector<std::string> args = {
      "run", "--scenario", job.scenario, "--seed", fmt::format("{}", job.seed), "--json"};
  if (o.check_determinism) args.push_back("--check-determinism");
  for (const std::string& hook : o.run_test_hooks) args.push_back(hook);
  ChildProcess child = SpawnChild(self, args);
  Running r;
  r.job = job;
  r.pid = child.pid;
  r.fd = child.fd;
  r.started = Clock::now();
  return r;
}

Result Finish(Running& r, int status) {
  Result res;
  res.job = r.job;
  res.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - r.started).count();
  res.run = ParseChildOutput(r.output, status, r.timed_out);
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

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::filesystem::path FailurePath(const SweepOptions& o, const Job& job, std::string_view ext) {
  return std::filesystem::path(o.out_dir) / "failures" /
         fmt::format("{}-seed-{}{}", job.scenario, job.seed, ext);
}

// Shrinks a failing run's plan when it has one (and the budget allows), then writes the HTML
// report of the smallest failing run. A run that crashes leaves no report of its own; its HTML
// then holds what the sweep knows (outcome, violations, plan) without a timeline.
void Explain(const SweepOptions& o, const std::string& self, Result& r, int* shrunk) {
  apogee::Result<Repro> repro = DecodeRepro(ReadAll(r.repro_path));
  if (!repro.ok()) return;
  std::string report_of = r.repro_path;
  const Scenario* scenario = FindScenario(r.job.scenario);
  if (scenario != nullptr && scenario->targets && repro->fault_plan.has_value() &&
      !repro->fault_plan->faults.empty() && *shrunk < o.shrink_max && o.shrink_runs > 0) {
    ++*shrunk;
    ShrinkRunOptions so;
    so.max_runs = o.shrink_runs;
    so.run_timeout = o.run_timeout;
    ShrinkRunResult s = ShrinkRepro(self, *repro, so);
    if (s.reproduced) {
      std::filesystem::path min = FailurePath(o, r.job, ".min.repro.json");
      WriteFile(min, EncodeRepro(s.minimal));
      r.min_repro_path = min.string();
      r.shrink = s.minimal.shrink;
      report_of = r.min_repro_path;
      std::fprintf(stderr, "%s seed %llu: shrunk %s\n  replay: apogee-sim replay %s\n",
                   r.job.scenario.c_str(), static_cast<unsigned long long>(r.job.seed),
                   r.shrink.c_str(), r.min_repro_path.c_str());
    }
  }
  std::filesystem::path html = FailurePath(o, r.job, ".html");
  std::filesystem::remove(html);
  apogee::Result<Repro> shown = DecodeRepro(ReadAll(report_of));
  ChildResult replay =
      RunChild(self, {"replay", report_of, "--json", "--html", html.string()}, o.run_timeout);
  r.replayed = shown.ok() && replay.trace_hash == shown->trace_hash && replay.trace_hash != 0;
  if (!std::filesystem::exists(html)) {
    // The replay died before it could write its report: write what is known.
    RunReport known;
    known.scenario = r.job.scenario;
    known.seed = r.job.seed;
    known.violations = replay.violations.empty() ? r.run.violations : replay.violations;
    known.outcome = Outcome::kCrash;
    known.trace_hash = replay.trace_hash;
    known.sim_time_ns = static_cast<int64_t>(replay.sim_time_ms * 1e6);
    if (shown.ok() && shown->fault_plan.has_value()) known.fault_plan = *shown->fault_plan;
    HtmlReportInput input;
    input.report = &known;
    input.build_id = BuildId();
    input.replay_command = fmt::format("apogee-sim replay {}", report_of);
    if (shown.ok()) {
      input.original_plan = shown->original_fault_plan;
      input.shrink = shown->shrink;
    }
    input.note =
        "The run crashed, so it left no timeline: replay it with --log-level debug to see the "
        "events that led to the crash.";
    WriteFile(html, RenderHtmlReport(input));
  }
  r.html_path = html.string();
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
      if (res.run.outcome != "pass") {
        failed++;
        const ChildResult& run = res.run;
        Repro repro = ReproOfChild(res.job.scenario, res.job.seed, run, o.run_test_hooks);
        std::filesystem::path path = FailurePath(o, res.job, ".repro.json");
        WriteFile(path, EncodeRepro(repro));
        res.repro_path = path.string();
        std::fprintf(stderr, "%s%s seed %llu: %s%s%s\n  replay: apogee-sim replay %s\n",
                     isatty(STDERR_FILENO) && o.progress ? "\r" : "", res.job.scenario.c_str(),
                     static_cast<unsigned long long>(res.job.seed), run.outcome.c_str(),
                     run.violations.empty() ? "" : ": ",
                     run.violations.empty() ? "" : run.violations[0].c_str(), path.c_str());
      }
      results.push_back(std::move(res));
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
      Progress(o, results.size(), total, failed, start, false, &last_decile);
    }
  }
  Progress(o, results.size(), total, failed, start, true, &last_decile);
  std::sort(results.begin(), results.end(), [](const Result& a, const Result& b) {
    return std::tie(a.job.scenario, a.job.seed) < std::tie(b.job.scenario, b.job.seed);
  });
  // Each failure: shrink its plan (the first shrink_max of them), then write the HTML report
  // of the smallest failing run by replaying it, which also confirms that it reproduces.
  int shrunk = 0;
  for (Result& r : results) {
    if (r.run.outcome != "pass" && o.reports) Explain(o, self, r, &shrunk);
  }
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();

  // Summary.
  std::map<std::string, size_t> by_outcome;
  std::map<std::string, std::pair<size_t, size_t>> by_scenario;  // runs, failed
  double sim_ms = 0;
  uint64_t events = 0;
  std::string worst = "pass";
  for (const Result& r : results) {
    by_outcome[r.run.outcome]++;
    auto& s = by_scenario[r.job.scenario];
    s.first++;
    if (r.run.outcome != "pass") s.second++;
    sim_ms += r.run.sim_time_ms;
    events += r.run.events;
    if (Severity(r.run.outcome) > Severity(worst)) worst = r.run.outcome;
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
    if (r.run.outcome == "pass") continue;
    json += fmt::format(
        "{}{{\"scenario\":{},\"seed\":{},\"outcome\":{},\"violation\":{},"
        "\"repro\":{},\"min_repro\":{},\"shrink\":{},\"html\":{},\"replayed\":{}}}",
        first ? "" : ",", JsonString(r.job.scenario), r.job.seed, JsonString(r.run.outcome),
        JsonString(r.run.violations.empty() ? "" : r.run.violations[0]), JsonString(r.repro_path),
        JsonString(r.min_repro_path), JsonString(r.shrink), JsonString(r.html_path),
        r.replayed ? "true" : "false");
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
                         EscapeMarkup(current), rf.first, rf.second);
    }
    xml += fmt::format("    <testcase classname=\"apogee-sim.{}\" name=\"seed-{}\" time=\"{:.3f}\"",
                       EscapeMarkup(r.job.scenario), r.job.seed, r.wall_ms / 1000);
    if (r.run.outcome == "pass") {
      xml += "/>\n";
      continue;
    }
    std::string body;
    for (const std::string& v : r.run.violations) body += v + "\n";
    body += fmt::format("replay: apogee-sim replay {}\n", r.repro_path);
    if (!r.min_repro_path.empty()) {
      body += fmt::format("shrunk ({}): apogee-sim replay {}\n", r.shrink, r.min_repro_path);
    }
    if (!r.html_path.empty()) body += fmt::format("report: {}\n", r.html_path);
    xml +=
        fmt::format(">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                    EscapeMarkup(r.run.outcome),
                    EscapeMarkup(r.run.violations.empty() ? r.run.outcome : r.run.violations[0]),
                    EscapeMarkup(body));
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
