#pragma once

// Repro files: everything needed to run one simulated run again, bit for bit, in one JSON file.
//
//   {"format":"apogee-repro/1","scenario":"messaging","seed":42,"build_id":"1a2b3c4",
//    "outcome":"violation","trace_hash":"00ab...","sim_time_ms":60000.0,
//    "violations":["lost: ..."],"test_hooks":[],"fault_plan":[]}
//
// `apogee-sim replay FILE` runs the scenario on the seed and checks that the trace hash is the
// recorded one. The fault plan is empty until scenarios draw explicit plans; the seed alone then
// decides every fault. A file written by another build replays, with a warning, because
// another build may schedule differently.

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/status.h"

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
};

std::string EncodeRepro(const Repro& repro);
// kMalformed naming what is wrong (not JSON, wrong format tag, a field missing or mistyped).
Result<Repro> DecodeRepro(std::string_view text);

// The build this binary was made from (git commit, "-dirty" when the tree had changes), or
// "unknown" outside a git checkout.
const char* BuildId();

}  // namespace apogee::sim
