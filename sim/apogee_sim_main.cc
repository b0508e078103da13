// apogee-sim: the simulator's command.
//   apogee-sim list
//   apogee-sim run --scenario NAME --seed N [--json] [--check-determinism] [--log-level L]
//                  [--plan FILE | --plan-json JSON] [--html FILE]
//   apogee-sim sweep [--scenario A,B] [--seeds N | --seeds FIRST..LAST] [--jobs N]
//                    [--shard I/N] [--check-determinism] [--out DIR] [--timeout S] [--no-progress]
//                    [--no-shrink] [--shrink-runs N] [--shrink-max N] [--no-reports]
//   apogee-sim replay FILE [--json] [--log-level L] [--html FILE]
//   apogee-sim shrink FILE [--out FILE] [--max-runs N] [--timeout S]
// The exit code is the outcome: 0 pass, 1 violation, 2 crash, 3 liveness, 4 nondeterminism;
// 64 for a usage error. A sweep exits with its most severe outcome (sim/sweep.h); a replay whose
// trace hash differs from the file's exits 4; a shrink exits with the outcome of its minimal run.

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "core/base/assert.h"
#include "sim/child_run.h"
#include "sim/html_report.h"
#include "sim/kernel.h"
#include "sim/repro.h"
#include "sim/scenario.h"
#include "sim/shrink_run.h"
#include "sim/sweep.h"

namespace apogee::sim {
namespace {

constexpr int kUsageExit = 64;

// What the crash handlers need to report a run that died: set before the run starts.
struct CrashContext {
  std::string scenario;
  uint64_t seed = 0;
  bool json = false;
  std::string plan_json;          // the run's fault plan once it is fixed (JSON), or empty
  char signal_line[65536] = {0};  // preformatted, since a signal handler may not allocate
  std::chrono::steady_clock::time_point start;
};
CrashContext crash_context;

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out += c;
    }
  }
  return out;
}

void OnAssertFailure(std::string_view report) {
  // How far the run got, from the kernel that was running when the assertion failed.
  Kernel* kernel = CurrentKernel();
  uint64_t hash = kernel != nullptr ? kernel->trace().hash() : 0;
  uint64_t steps = kernel != nullptr ? kernel->steps() : 0;
  double sim_ms = kernel != nullptr ? static_cast<double>(ToNanos(kernel->Now())) / 1e6 : 0;
  double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                             crash_context.start)
                       .count();
  std::string line;
  if (crash_context.json) {
    line = fmt::format(
        "{{\"scenario\":\"{}\",\"seed\":{},\"outcome\":\"crash\",\"trace_hash\":\"{:016x}\","
        "\"sim_time_ms\":{:.3f},\"wall_time_ms\":{:.3f},\"events\":{},\"violations\":[\"{}\"]{}}}"
        "\n",
        JsonEscape(crash_context.scenario), crash_context.seed, hash, sim_ms, wall_ms, steps,
        JsonEscape(report),
        crash_context.plan_json.empty() ? "" : ",\"fault_plan\":" + crash_context.plan_json);
  } else {
    line = fmt::format(
        "scenario: {}\nseed: {}\noutcome: crash\ntrace_hash: {:016x}\n"
        "sim_time: {:.3f} s\nviolation: {}\nreplay: apogee-sim run --scenario {} "
        "--seed {}\n",
        crash_context.scenario, crash_context.seed, hash, sim_ms / 1000, report,
        crash_context.scenario, crash_context.seed);
  }
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
  _exit(OutcomeExitCode(Outcome::kCrash));
}

void OnFatalSignal(int sig) {
  // Only async-signal-safe calls here.
  ssize_t ignored =
      write(STDOUT_FILENO, crash_context.signal_line, strlen(crash_context.signal_line));
  (void)ignored;
  const char* name = sig == SIGSEGV  ? "SIGSEGV"
                     : sig == SIGBUS ? "SIGBUS"
                     : sig == SIGFPE ? "SIGFPE"
                                     : "SIGILL";
  ignored = write(STDERR_FILENO, name, strlen(name));
  _exit(OutcomeExitCode(Outcome::kCrash));
}

// What a fatal signal prints: no allocation is allowed then, so it is formatted beforehand (and
// again once the run's plan is known).
void FormatSignalLine() {
  std::string line =
      crash_context.json
          ? fmt::format(
                "{{\"scenario\":\"{}\",\"seed\":{},\"outcome\":\"crash\"{}}}\n",
                JsonEscape(crash_context.scenario), crash_context.seed,
                crash_context.plan_json.empty() ||
                        crash_context.plan_json.size() > sizeof(crash_context.signal_line) - 512
                    ? ""
                    : ",\"fault_plan\":" + crash_context.plan_json)
          : std::string("outcome: crash (fatal signal)\n");
  std::snprintf(crash_context.signal_line, sizeof(crash_context.signal_line), "%s", line.c_str());
}

void InstallCrashHandlers(const std::string& scenario, uint64_t seed, bool json,
                          RunConfig* config) {
  crash_context.scenario = scenario;
  crash_context.seed = seed;
  crash_context.json = json;
  crash_context.start = std::chrono::steady_clock::now();
  FormatSignalLine();
  config->on_plan = [](const FaultPlan& plan) {
    crash_context.plan_json = EncodeFaultPlan(plan);
    FormatSignalLine();
  };
  SetAssertFailureHook(&OnAssertFailure);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, &OnFatalSignal);
}

std::string ToJson(const RunReport& r, double wall_ms, bool with_plan) {
  std::string out = fmt::format(
      "{{\"scenario\":\"{}\",\"seed\":{},\"outcome\":\"{}\",\"trace_hash\":\"{:016x}\","
      "\"sim_time_ms\":{:.3f},\"wall_time_ms\":{:.3f},\"events\":{},\"fiber_resumes\":{},"
      "\"timer_events\":{},\"violations\":[",
      JsonEscape(r.scenario), r.seed, OutcomeName(r.outcome), r.trace_hash,
      static_cast<double>(r.sim_time_ns) / 1e6, wall_ms, r.trace_steps, r.fiber_resumes,
      r.events_fired);
  for (size_t i = 0; i < r.violations.size(); i++) {
    out += fmt::format("{}\"{}\"", i ? "," : "", JsonEscape(r.violations[i]));
  }
  out += "],\"counters\":{";
  for (size_t i = 0; i < r.counters.size(); i++) {
    out += fmt::format("{}\"{}\":{}", i ? "," : "", JsonEscape(r.counters[i].first),
                       r.counters[i].second);
  }
  out += "},\"buggify\":[";
  for (size_t i = 0; i < r.buggify.size(); i++) {
    const BuggifyPointStats& b = r.buggify[i];
    out += fmt::format("{}{{\"point\":\"{}\",\"armed\":{},\"reached\":{},\"fired\":{}}}",
                       i ? "," : "", JsonEscape(b.point), b.armed, b.reached, b.fired);
  }
  out += "]";
  if (with_plan) out += ",\"fault_plan\":" + EncodeFaultPlan(r.fault_plan);
  out += "}";
  return out;
}

std::string ToText(const RunReport& r, double wall_ms) {
  double sim_s = static_cast<double>(r.sim_time_ns) / 1e9;
  std::string out = fmt::format(
      "scenario: {}\nseed: {}\noutcome: {}\ntrace_hash: {:016x}\nsim_time: {:.3f} s\n"
      "wall_time: {:.1f} ms ({:.0f}x real time)\nevents: {} (fiber resumes {}, timer events {})\n",
      r.scenario, r.seed, OutcomeName(r.outcome), r.trace_hash, sim_s, wall_ms,
      wall_ms > 0 ? sim_s * 1000 / wall_ms : 0.0, r.trace_steps, r.fiber_resumes, r.events_fired);
  if (!r.counters.empty()) {
    out += "counters:\n";
    for (const auto& [name, value] : r.counters) out += fmt::format("  {}: {}\n", name, value);
  }
  size_t armed = 0;
  size_t fired = 0;
  for (const auto& b : r.buggify) {
    armed += b.armed ? 1 : 0;
    fired += b.fired > 0 ? 1 : 0;
  }
  out += fmt::format("buggify: {} points reached, {} armed, {} fired\n", r.buggify.size(), armed,
                     fired);
  if (!r.fault_mix.empty()) out += fmt::format("fault mix: {}\n", r.fault_mix);
  if (!r.fault_plan.faults.empty()) {
    out += fmt::format("fault plan ({} faults):\n", r.fault_plan.faults.size());
    for (const Fault& f : r.fault_plan.faults) out += fmt::format("  {}\n", Describe(f));
  }
  for (const auto& v : r.violations) out += fmt::format("violation: {}\n", v);
  out += fmt::format("replay: apogee-sim run --scenario {} --seed {}\n", r.scenario, r.seed);
  return out;
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::fprintf(stderr, "apogee-sim: cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

// Checks that `plan` fits `scenario`; a usage error message when it does not.
std::optional<std::string> CheckPlan(const Scenario& scenario, const FaultPlan& plan) {
  if (!scenario.targets) {
    return fmt::format("scenario '{}' takes no fault plan", scenario.name);
  }
  Status valid = ValidateFaultPlan(plan, scenario.targets(), scenario.plan_length);
  if (!valid.ok()) return std::string(valid.message());
  return std::nullopt;
}

// Reads and decodes a repro file whose scenario this build has; the error says which is wrong.
apogee::Result<Repro> LoadRepro(const std::string& path) {
  std::optional<std::string> text = ReadFile(path);
  if (!text.has_value()) {
    return Status(ErrorCode::kInvalidArgument, fmt::format("cannot read {}", path));
  }
  apogee::Result<Repro> repro = DecodeRepro(*text);
  if (!repro.ok()) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("{}: {}", path, repro.status().message()));
  }
  if (FindScenario(repro->scenario) == nullptr) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("{}: no scenario '{}' in this build", path, repro->scenario));
  }
  return repro;
}

void WriteHtml(const std::string& path, const RunReport& report, std::string replay_command,
               const Repro* repro) {
  HtmlReportInput input;
  input.report = &report;
  input.build_id = BuildId();
  input.replay_command = std::move(replay_command);
  if (repro != nullptr) {
    input.original_plan = repro->original_fault_plan;
    input.shrink = repro->shrink;
  }
  if (WriteTextFile(path, RenderHtmlReport(input))) {
    std::fprintf(stderr, "apogee-sim: report %s\n", path.c_str());
  }
}

int Usage(const char* why) {
  std::fprintf(stderr,
               "%s\nusage:\n  apogee-sim list\n"
               "  apogee-sim run --scenario NAME --seed N [--json] [--check-determinism] "
               "[--log-level debug|info|warn|error|off] [--plan FILE | --plan-json JSON] "
               "[--html FILE]\n"
               "  apogee-sim sweep [--scenario A,B] [--seeds N | --seeds FIRST..LAST] [--jobs N] "
               "[--shard I/N] [--check-determinism] [--out DIR] [--timeout SECONDS] "
               "[--no-progress] [--no-shrink] [--shrink-runs N] [--shrink-max N] [--no-reports]\n"
               "  apogee-sim replay FILE [--json] [--log-level L] [--html FILE]\n"
               "  apogee-sim shrink FILE [--out FILE] [--max-runs N] [--timeout SECONDS]\n",
               why);
  return kUsageExit;
}

bool ParseSeed(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) return false;  // overflow
    v = next;
  }
  *out = v;
  return true;
}

int List() {
  for (const Scenario& s : Scenarios())
    std::printf("%-24s %s\n", s.name.c_str(), s.description.c_str());
  return 0;
}

int Run(int argc, char** argv) {
  std::string scenario_name;
  uint64_t seed = 0;
  bool have_seed = false;
  bool json = false;
  bool check = false;
  std::string html;
  std::string plan_text;
  RunConfig config;
  for (int i = 2; i < argc; i++) {
    std::string_view arg = argv[i];
    // The argument after a flag, or nullptr when the command line ends first.
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--scenario") {
      const char* v = value();
      if (v == nullptr) return Usage("--scenario needs a name");
      scenario_name = v;
    } else if (arg == "--seed") {
      const char* v = value();
      if (v == nullptr || !ParseSeed(v, &seed)) return Usage("--seed needs a number");
      have_seed = true;
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--check-determinism") {
      check = true;
    } else if (IsTestHook(arg)) {
      // For demonstrating failure handling only: the determinism checker, the crash outcome,
      // shrinking.
      if (Status st = ApplyTestHook(arg, &config); !st.ok()) return Usage(st.message().c_str());
    } else if (arg == "--log-level") {
      const char* v = value();
      if (v == nullptr || !ParseLogLevel(v, &config.log_level)) return Usage("bad --log-level");
    } else if (arg == "--plan") {
      const char* v = value();
      if (v == nullptr) return Usage("--plan needs a file");
      std::optional<std::string> text = ReadFile(v);
      if (!text.has_value()) return Usage(fmt::format("cannot read {}", v).c_str());
      plan_text = *text;
    } else if (arg == "--plan-json") {
      const char* v = value();
      if (v == nullptr) return Usage("--plan-json needs a JSON array of faults");
      plan_text = v;
    } else if (arg == "--html") {
      const char* v = value();
      if (v == nullptr) return Usage("--html needs a file");
      html = v;
    } else {
      return Usage(fmt::format("unknown argument '{}'", arg).c_str());
    }
  }
  if (scenario_name.empty()) return Usage("run needs --scenario");
  if (!have_seed) return Usage("run needs --seed");
  const Scenario* scenario = FindScenario(scenario_name);
  if (scenario == nullptr) {
    return Usage(fmt::format("no scenario '{}' (see apogee-sim list)", scenario_name).c_str());
  }
  if (!plan_text.empty()) {
    apogee::Result<FaultPlan> plan = DecodeFaultPlan(plan_text);
    if (!plan.ok()) return Usage(std::string(plan.status().message()).c_str());
    if (std::optional<std::string> bad = CheckPlan(*scenario, *plan)) return Usage(bad->c_str());
    config.fault_plan = std::move(*plan);
  }
  config.seed = seed;
  config.record_timeline = !html.empty();
  InstallCrashHandlers(scenario_name, seed, json, &config);
  auto start = std::chrono::steady_clock::now();
  RunReport report = check ? CheckDeterminism(*scenario, config) : scenario->run(config);
  double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::string out = json ? ToJson(report, wall_ms, static_cast<bool>(scenario->targets)) + "\n"
                         : ToText(report, wall_ms);
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (!html.empty()) {
    WriteHtml(html, report,
              fmt::format("apogee-sim run --scenario {} --seed {}{}", scenario_name, seed,
                          plan_text.empty() ? "" : " --plan PLAN"),
              nullptr);
  }
  return OutcomeExitCode(report.outcome);
}

bool ParseShard(std::string_view text, int* index, int* total) {
  size_t slash = text.find('/');
  uint64_t i = 0;
  uint64_t n = 0;
  if (slash == std::string_view::npos || !ParseSeed(text.substr(0, slash), &i) ||
      !ParseSeed(text.substr(slash + 1), &n) || n == 0 || i >= n || n > 1'000'000) {
    return false;
  }
  *index = static_cast<int>(i);
  *total = static_cast<int>(n);
  return true;
}

int Sweep(int argc, char** argv) {
  SweepOptions o;
  o.jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool have_shard = false;
  for (int i = 2; i < argc; i++) {
    std::string_view arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--scenario") {
      const char* v = value();
      if (v == nullptr) return Usage("--scenario needs names");
      std::string_view names = v;
      while (!names.empty()) {
        size_t comma = names.find(',');
        std::string name(names.substr(0, comma));
        if (FindScenario(name) == nullptr) {
          return Usage(fmt::format("no scenario '{}' (see apogee-sim list)", name).c_str());
        }
        o.scenarios.push_back(name);
        names = comma == std::string_view::npos ? "" : names.substr(comma + 1);
      }
    } else if (arg == "--seeds") {
      const char* v = value();
      if (v == nullptr) return Usage("--seeds needs a count or FIRST..LAST");
      std::string_view t = v;
      size_t dots = t.find("..");
      uint64_t a = 0;
      uint64_t b = 0;
      if (dots == std::string_view::npos) {
        if (!ParseSeed(t, &a) || a == 0) return Usage("--seeds needs a positive count");
        o.seed_first = 1;
        o.seed_count = a;
      } else {
        if (!ParseSeed(t.substr(0, dots), &a) || !ParseSeed(t.substr(dots + 2), &b) || b < a) {
          return Usage("--seeds FIRST..LAST needs FIRST <= LAST");
        }
        o.seed_first = a;
        o.seed_count = b - a + 1;
      }
    } else if (arg == "--jobs") {
      const char* v = value();
      uint64_t n = 0;
      if (v == nullptr || !ParseSeed(v, &n) || n == 0 || n > 1024) return Usage("bad --jobs");
      o.jobs = static_cast<int>(n);
    } else if (arg == "--shard") {
      const char* v = value();
      if (v == nullptr || !ParseShard(v, &o.shard_index, &o.shard_total)) {
        return Usage("--shard needs I/N with I < N");
      }
      have_shard = true;
    } else if (arg == "--check-determinism") {
      o.check_determinism = true;
    } else if (arg == "--out") {
      const char* v = value();
      if (v == nullptr) return Usage("--out needs a directory");
      o.out_dir = v;
    } else if (arg == "--timeout") {
      const char* v = value();
      uint64_t n = 0;
      if (v == nullptr || !ParseSeed(v, &n) || n == 0) return Usage("bad --timeout (seconds)");
      o.run_timeout = std::chrono::seconds(n);
    } else if (arg == "--no-progress") {
      o.progress = false;
    } else if (arg == "--no-shrink") {
      o.shrink_max = 0;
    } else if (arg == "--no-reports") {
      o.reports = false;
    } else if (arg == "--shrink-runs" || arg == "--shrink-max") {
      const char* v = value();
      uint64_t n = 0;
      if (v == nullptr || !ParseSeed(v, &n) || n > 100'000) {
        return Usage(fmt::format("bad {}", arg).c_str());
      }
      (arg == "--shrink-runs" ? o.shrink_runs : o.shrink_max) = static_cast<int>(n);
    } else if (IsTestHook(arg)) {
      o.run_test_hooks.emplace_back(arg);  // for demonstrating failure handling only
    } else {
      return Usage(fmt::format("unknown argument '{}'", arg).c_str());
    }
  }
  if (!have_shard) {
    const char* index = std::getenv("GTEST_SHARD_INDEX");
    const char* total = std::getenv("GTEST_TOTAL_SHARDS");
    if (index != nullptr && total != nullptr &&
        !ParseShard(fmt::format("{}/{}", index, total), &o.shard_index, &o.shard_total)) {
      return Usage("GTEST_SHARD_INDEX / GTEST_TOTAL_SHARDS do not make a shard I/N with I < N");
    }
  }
  std::string self = SelfExe();
  if (self.empty()) return Usage("cannot find this binary (/proc/self/exe)");
  return RunSweep(o, self);
}

int Replay(int argc, char** argv) {
  if (argc < 3) return Usage("replay needs a repro file");
  std::string path = argv[2];
  bool json = false;
  std::string html;
  RunConfig config;
  for (int i = 3; i < argc; i++) {
    std::string_view arg = argv[i];
    if (arg == "--json") {
      json = true;
    } else if (arg == "--log-level" && i + 1 < argc) {
      if (!ParseLogLevel(argv[++i], &config.log_level)) return Usage("bad --log-level");
    } else if (arg == "--html" && i + 1 < argc) {
      html = argv[++i];
    } else {
      return Usage(fmt::format("unknown argument '{}'", arg).c_str());
    }
  }
  apogee::Result<Repro> repro = LoadRepro(path);
  if (!repro.ok()) return Usage(repro.status().message().c_str());
  const Scenario* scenario = FindScenario(repro->scenario);
  if (repro->build_id != BuildId()) {
    std::fprintf(stderr,
                 "apogee-sim replay: %s was written by build %s, this is build %s: the trace may "
                 "differ\n",
                 path.c_str(), repro->build_id.c_str(), BuildId());
  }
  if (repro->fault_plan.has_value() && scenario->targets) {
    if (std::optional<std::string> bad = CheckPlan(*scenario, *repro->fault_plan)) {
      return Usage(fmt::format("{}: {}", path, *bad).c_str());
    }
    config.fault_plan = repro->fault_plan;
  }
  config.seed = repro->seed;
  config.record_timeline = !html.empty();
  for (const std::string& hook : repro->test_hooks) {
    if (Status st = ApplyTestHook(hook, &config); !st.ok()) return Usage(st.message().c_str());
  }
  InstallCrashHandlers(repro->scenario, repro->seed, json, &config);
  auto start = std::chrono::steady_clock::now();
  RunReport report = scenario->run(config);
  double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  bool same = report.trace_hash == repro->trace_hash;
  if (!html.empty()) WriteHtml(html, report, fmt::format("apogee-sim replay {}", path), &*repro);
  std::string out = json ? ToJson(report, wall_ms, static_cast<bool>(scenario->targets)) + "\n"
                         : ToText(report, wall_ms);
  std::string verdict =
      fmt::format("replay of {}: trace hash {:016x} {} the recorded {:016x}\n", path,
                  report.trace_hash, same ? "matches" : "DIFFERS FROM", repro->trace_hash);
  if (!json) out += verdict;
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (json) std::fwrite(verdict.data(), 1, verdict.size(), stderr);
  if (!same) return OutcomeExitCode(Outcome::kNondeterminism);
  return OutcomeExitCode(report.outcome);
}

int Shrink(int argc, char** argv) {
  if (argc < 3) return Usage("shrink needs a repro file");
  std::string path = argv[2];
  std::string out_path;
  ShrinkRunOptions options;
  options.max_runs = 100;
  for (int i = 3; i < argc; i++) {
    std::string_view arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--out") {
      const char* v = value();
      if (v == nullptr) return Usage("--out needs a file");
      out_path = v;
    } else if (arg == "--max-runs") {
      const char* v = value();
      uint64_t n = 0;
      if (v == nullptr || !ParseSeed(v, &n) || n == 0 || n > 100'000)
        return Usage("bad --max-runs");
      options.max_runs = static_cast<int>(n);
    } else if (arg == "--timeout") {
      const char* v = value();
      uint64_t n = 0;
      if (v == nullptr || !ParseSeed(v, &n) || n == 0) return Usage("bad --timeout (seconds)");
      options.run_timeout = std::chrono::seconds(n);
    } else {
      return Usage(fmt::format("unknown argument '{}'", arg).c_str());
    }
  }
  apogee::Result<Repro> repro = LoadRepro(path);
  if (!repro.ok()) return Usage(repro.status().message().c_str());
  const Scenario* scenario = FindScenario(repro->scenario);
  if (!scenario->targets) {
    return Usage(fmt::format("{}: scenario '{}' takes no fault plan: nothing to shrink", path,
                             repro->scenario)
                     .c_str());
  }
  if (repro->fault_plan.has_value()) {
    if (std::optional<std::string> bad = CheckPlan(*scenario, *repro->fault_plan)) {
      return Usage(fmt::format("{}: {}", path, *bad).c_str());
    }
  }
  if (out_path.empty()) {
    std::string stem = path;
    for (std::string_view ext : {".repro.json", ".json"}) {
      if (stem.size() > ext.size() && stem.ends_with(ext)) {
        stem.resize(stem.size() - ext.size());
        break;
      }
    }
    out_path = stem + ".min.repro.json";
  }
  std::string self = SelfExe();
  if (self.empty()) return Usage("cannot find this binary (/proc/self/exe)");
  options.on_candidate = [](int run, size_t faults, bool still_fails) {
    std::fprintf(stderr, "shrink: run %d, %zu faults: %s\n", run, faults,
                 still_fails ? "still fails, kept" : "passes or fails differently");
  };
  ShrinkRunResult result = ShrinkRepro(self, *repro, options);
  if (!result.reproduced) {
    std::printf("%s: the run passes on this build (%s): nothing to shrink\n", path.c_str(),
                BuildId());
    return 0;
  }
  if (!WriteTextFile(out_path, EncodeRepro(result.minimal))) return 2;
  const Repro& m = result.minimal;
  std::printf("shrunk %s (%s): %s\nminimal plan:\n", path.c_str(), result.signature.c_str(),
              m.shrink.c_str());
  for (const Fault& f : m.fault_plan->faults) std::printf("  %s\n", Describe(f).c_str());
  for (const std::string& v : m.violations) std::printf("violation: %s\n", v.c_str());
  std::printf("wrote %s\nreplay: apogee-sim replay %s\n", out_path.c_str(), out_path.c_str());
  Outcome outcome = Outcome::kCrash;
  for (Outcome o : {Outcome::kPass, Outcome::kViolation, Outcome::kCrash, Outcome::kLiveness,
                    Outcome::kNondeterminism}) {
    if (m.outcome == OutcomeName(o)) outcome = o;
  }
  return OutcomeExitCode(outcome);
}

}  // namespace
}  // namespace apogee::sim

int main(int argc, char** argv) {
  if (argc < 2) return apogee::sim::Usage("missing command");
  std::string_view command = argv[1];
  if (command == "list") return apogee::sim::List();
  if (command == "run") return apogee::sim::Run(argc, argv);
  if (command == "sweep") return apogee::sim::Sweep(argc, argv);
  if (command == "replay") return apogee::sim::Replay(argc, argv);
  if (command == "shrink") return apogee::sim::Shrink(argc, argv);
  if (command == "--help" || command == "help") {
    apogee::sim::Usage("apogee-sim: the deterministic simulator");
    return 0;
  }
  return apogee::sim::Usage("unknown command");
}
