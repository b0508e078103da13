#include "sim/shrink_run.h"

#include <fmt/format.h>

#include "sim/child_run.h"

namespace apogee::sim {

Repro ReproOfChild(const std::string& scenario, uint64_t seed, const ChildResult& run,
                   const std::vector<std::string>& test_hooks) {
  Repro r;
  r.scenario = scenario;
  r.seed = seed;
  r.build_id = BuildId();
  r.outcome = run.outcome;
  r.trace_hash = run.trace_hash;
  r.sim_time_ms = run.sim_time_ms;
  r.violations = run.violations;
  r.test_hooks = test_hooks;
  if (run.has_plan) r.fault_plan = run.plan;
  return r;
}

std::vector<std::string> RunArgs(const Repro& repro, const FaultPlan* plan) {
  std::vector<std::string> args = {
      "run", "--scenario", repro.scenario, "--seed", fmt::format("{}", repro.seed), "--json"};
  for (const std::string& hook : repro.test_hooks) args.push_back(hook);
  if (plan != nullptr) {
    args.push_back("--plan-json");
    args.push_back(EncodeFaultPlan(*plan));
  }
  return args;
}

ShrinkRunResult ShrinkRepro(const std::string& self, const Repro& repro,
                            const ShrinkRunOptions& options) {
  ShrinkRunResult out;
  const FaultPlan* given = repro.fault_plan.has_value() ? &*repro.fault_plan : nullptr;
  ChildResult first = RunChild(self, RunArgs(repro, given), options.run_timeout);
  if (first.outcome == "pass") return out;
  out.reproduced = true;
  out.signature = FailureSignature(first.outcome, first.violations);
  FaultPlan original = given != nullptr ? *given : first.plan;

  ChildResult last = first;  // the report of the smallest failing plan so far
  int run = 0;
  auto still_fails = [&](const FaultPlan& candidate) {
    ChildResult r = RunChild(self, RunArgs(repro, &candidate), options.run_timeout);
    bool same = FailureSignature(r.outcome, r.violations) == out.signature;
    if (same) last = r;
    if (options.on_candidate) options.on_candidate(++run, candidate.faults.size(), same);
    return same;
  };
  FaultPlan minimal = ShrinkFaultPlan(original, still_fails, options.max_runs, &out.stats);

  Repro& m = out.minimal;
  m = ReproOfChild(repro.scenario, repro.seed, last, repro.test_hooks);
  m.fault_plan = minimal;
  m.original_fault_plan = original;
  m.shrink =
      fmt::format("{} faults -> {} in {} runs{}", original.faults.size(), minimal.faults.size(),
                  out.stats.runs, out.stats.exhausted ? " (budget spent: may shrink further)" : "");
  return out;
}

}  // namespace apogee::sim
