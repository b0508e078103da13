#pragma once

// Scenarios: named, seeded runs of a simulated world that check their own invariants and end in
// one Outcome. `apogee-sim run --scenario NAME --seed N` runs one; later issues add scenarios to
// the same registry.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/log.h"
#include "sim/fault_plan.h"
#include "sim/sim_buggify.h"
#include "sim/timeline.h"
#include "sim/trace.h"

namespace apogee::sim {

enum class Outcome : uint8_t {
  kPass = 0,
  kViolation = 1,       // a safety invariant broke
  kCrash = 2,           // the code under test failed an assertion or died
  kLiveness = 3,        // after faults healed, the system did not make the promised progress
  kNondeterminism = 4,  // the same seed gave two different traces
};
const char* OutcomeName(Outcome outcome);
// Distinct process exit codes: 0 pass, 1 violation, 2 crash, 3 liveness, 4 nondeterminism.
int OutcomeExitCode(Outcome outcome);

struct RunConfig {
  uint64_t seed = 0;
  bool record_trace = false;  // keep every trace entry (for the determinism checker)
  LogLevel log_level = LogLevel::kOff;
  // Test hook: makes the run depend on something outside the seed, so the determinism checker
  // can be shown to catch it. Never set in real runs.
  bool inject_nondeterminism = false;
  // Test hook: fails an assertion one simulated second in, so the crash outcome can be shown.
  bool inject_crash = false;
  // Test hook: a scenario with fault plans reports a violation when a fault of this kind was
  // applied, so shrinking can be shown to find the one fault that matters. Never set in real
  // runs.
  std::optional<FaultType> inject_violation_on{};
  // The faults to inject, replacing the plan the scenario would draw from the seed (replaying a
  // repro file, shrinking, RapidCheck). Only for scenarios that take plans (Scenario::targets).
  std::optional<FaultPlan> fault_plan{};
  // Told of the fault plan once the run has fixed it (before any fault), so that a run that
  // dies can still report the plan it was carrying out.
  std::function<void(const FaultPlan&)> on_plan{};
  // Keep a timeline of the run (node states, faults, phases, operations) for the HTML report.
  bool record_timeline = false;
};

struct RunReport {
  std::string scenario;
  uint64_t seed = 0;
  Outcome outcome = Outcome::kPass;
  std::vector<std::string> violations;  // what broke, one line each, first first
  uint64_t trace_hash = 0;
  uint64_t trace_steps = 0;  // scheduling decisions, events and draws folded into the hash
  int64_t sim_time_ns = 0;
  uint64_t fiber_resumes = 0;
  uint64_t events_fired = 0;
  // The scenario's own figures (messages sent and acknowledged, faults injected by kind, ...),
  // in the order the scenario reports them.
  std::vector<std::pair<std::string, uint64_t>> counters;
  std::vector<BuggifyPointStats> buggify;
  std::vector<TraceEntry> trace;         // only with record_trace
  std::vector<std::string> group_names;  // only with record_trace: node of each fiber group
  // The fault plan the run carried out (drawn from the seed or given), and the swarm mix it was
  // drawn from ("" when given). Empty for scenarios without plans.
  FaultPlan fault_plan;
  std::string fault_mix;
  // Only with record_timeline: every node's name, the timeline, and operations per second.
  std::vector<std::string> nodes;
  std::vector<TimelineEvent> timeline;
  std::vector<OpsBucket> ops;

  void Violation(std::string what) {
    if (outcome == Outcome::kPass) outcome = Outcome::kViolation;
    violations.push_back(std::move(what));
  }
  void Count(std::string name, uint64_t value) { counters.emplace_back(std::move(name), value); }
};

struct Scenario {
  std::string name;
  std::string description;
  std::function<RunReport(const RunConfig&)> run;
  // For scenarios that carry out fault plans: the nodes a plan may name, and the length of the
  // safety phase plans are timed within (RapidCheck generates plans for these targets; shrink
  // and replay give plans back). Empty for scenarios that take no plan.
  std::function<FaultTargets()> targets;
  Duration plan_length{};
};

// Every scenario the simulator knows, in name order.
const std::vector<Scenario>& Scenarios();
// nullptr if there is no such scenario.
const Scenario* FindScenario(const std::string& name);

// The built-in demo of the foundation (sim/demo_scenario.cc).
Scenario DemoScenario();

// Runs a scenario twice on one seed with full trace recording. If the hashes differ, the report's
// outcome is kNondeterminism and its first violation names the first diverging step of each run.
RunReport CheckDeterminism(const Scenario& scenario, RunConfig config);

}  // namespace apogee::sim
