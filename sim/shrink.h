#pragma once

// Shrinking a failing fault plan to a short one that still fails the same way, so that the
// person debugging it reads two faults instead of forty.
//
// The search is delta debugging over the plan's faults (try dropping halves, then quarters,
// ... then single faults, keeping every drop after which the run still fails), followed by
// simplifying each remaining fault (halving its duration, and its clock jump or drift, while it
// still fails). The result is 1-minimal when the budget allows: dropping any one fault makes the
// run pass or fail differently. Each candidate is judged by a caller-supplied predicate, which
// runs the scenario on the same seed with that plan (apogee-sim runs each in a child process).
//
// "The same way" is the same outcome and, for violations and liveness failures, the same
// checker: the text before the first ':' of the first violation ("lost", "queue order", ...).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/fault_plan.h"

namespace apogee::sim {

// What identifies a failure for shrinking: "violation/lost", "liveness/undelivered", "crash".
std::string FailureSignature(const std::string& outcome,
                             const std::vector<std::string>& violations);

struct ShrinkStats {
  int runs = 0;            // candidates tried
  int accepted = 0;        // candidates that still failed and were kept
  bool exhausted = false;  // stopped by the budget before reaching a 1-minimal plan
};

// Returns the smallest plan found. `still_fails(candidate)` is called at most `max_runs`
// times, with candidates in a deterministic order.
FaultPlan ShrinkFaultPlan(const FaultPlan& plan,
                          const std::function<bool(const FaultPlan&)>& still_fails, int max_runs,
                          ShrinkStats* stats);

}  // namespace apogee::sim
