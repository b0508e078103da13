#pragma once

// Repro files: everything needed to run one simulated run again, bit for bit, in one JSON file.
//
//   {"format":"apogee-repro/2","scenario":"broker-crash-sync","seed":42,"build_id":"1a2b3c4",
//    "outcome":"violation","trace_hash":"00ab...","sim_time_ms":95000.0,
//    "violations":["lost: ..."],"test_hooks":[],
//    "fault_plan":[{"at_ms":3250,"duration_ms":2000,"type":"crash","a":"broker-a",...}],
//    "original_fault_plan":[...],"shrink":"14 faults -> 2 in 23 runs"}
//
// `apogee-sim replay FILE` runs the scenario on the seed with the file's fault plan and checks
// that the trace hash is the recorded one. `fault_plan` is the plan the run carried out (absent
// for scenarios that take no plan); a shrunk file also keeps the plan it was shrunk from and a
// line saying how. Files of format apogee-repro/1 carried no plan (their seed drew it) and
// still replay that way. A file written by another build replays, with a warning, because
// another build may schedule differently.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "sim/fault_plan.h"
#include "sim/scenario.h"

namespace apogee::sim {

struct Repro {
  std::string scenario;
  uint64_t seed = 0;
  std::string build_id;
  std::string outcome;  // OutcomeName() of the recorded run
  uint64_t trace_hash = 0;
  double sim_time_ms = 0;
  std::vector<std::string> violations;
  // The run's test hooks ("--inject-crash", "--inject-nondeterminism"); empty in real runs.
  std::vector<std::string> test_hooks;
  // The plan to carry out; nullopt: the seed draws it (format 1, or a scenario without plans).
  std::optional<FaultPlan> fault_plan;
  // After `apogee-sim shrink`: the plan it started from, and what it did.
  std::optional<FaultPlan> original_fault_plan;
  std::string shrink;
};

std::string EncodeRepro(const Repro& repro);
// kMalformed naming what is wrong (not JSON, wrong format tag, a field missing or mistyped).
Result<Repro> DecodeRepro(std::string_view text);

// Test hooks: flags that make a run fail on purpose, so failure handling can be shown
// ("--inject-crash", "--inject-nondeterminism", "--inject-violation-on=KIND"). IsTestHook says
// whether `arg` is one; ApplyTestHook sets it in `config` (kInvalidArgument if it is not one).
bool IsTestHook(std::string_view arg);
Status ApplyTestHook(std::string_view arg, RunConfig* config);

// The build this binary was made from (git commit, "-dirty" when the tree had changes), or
// "unknown" outside a git checkout.
const char* BuildId();

}  // namespace apogee::sim
