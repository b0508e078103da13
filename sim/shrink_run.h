#pragma once

// Shrinking a repro file: the driver behind `apogee-sim shrink FILE` and the sweep's automatic
// shrinking of failing runs. Every candidate plan runs as its own child process (so a crashing
// candidate is just a failing one) on the repro's seed, and is kept when it fails the same way
// as the original (sim/shrink.h).

#include <chrono>
#include <functional>
#include <string>

#include "sim/child_run.h"
#include "sim/repro.h"
#include "sim/shrink.h"

namespace apogee::sim {

struct ShrinkRunOptions {
  int max_runs = 40;  // candidate runs, beyond the one that confirms the failure
  std::chrono::seconds run_timeout{300};
  // Told of each candidate: its number, its size, and whether it still failed.
  std::function<void(int run, size_t faults, bool still_fails)> on_candidate;
};

struct ShrinkRunResult {
  // False when the repro's run does not fail (any more) on this build: nothing was shrunk.
  bool reproduced = false;
  std::string signature;  // FailureSignature() of the confirmed failure
  // The minimal run's repro: its plan, outcome, violations and trace hash, with the plan it was
  // shrunk from and a line saying how.
  Repro minimal;
  ShrinkStats stats;
};

ShrinkRunResult ShrinkRepro(const std::string& self_exe, const Repro& repro,
                            const ShrinkRunOptions& options);

// The repro file of a child's run of `scenario` on `seed` with `test_hooks`: its outcome,
// violations, trace hash and (when it reported one) its fault plan, with this build's id.
Repro ReproOfChild(const std::string& scenario, uint64_t seed, const ChildResult& run,
                   const std::vector<std::string>& test_hooks);

// The child's command line for one run of `repro`'s scenario and seed with `plan` (nullptr: the
// seed draws the plan), printing its JSON report.
std::vector<std::string> RunArgs(const Repro& repro, const FaultPlan* plan);

}  // namespace apogee::sim
