#pragma once

// Runs of apogee-sim in child processes: the sweep and the shrinker run each scenario run as its
// own process (`apogee-sim run ... --json`), so a run that crashes or hangs takes nothing else
// down. This parses what such a child printed into one result, whatever way it ended.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/fault_plan.h"

namespace apogee::sim {

struct ChildResult {
  std::string outcome = "crash";  // OutcomeName(), or "crash" when the child left no report
  std::vector<std::string> violations;
  uint64_t trace_hash = 0;
  double sim_time_ms = 0;
  double wall_ms = 0;
  uint64_t events = 0;
  bool has_plan = false;  // the child reported the fault plan it carried out
  FaultPlan plan;
};

// The result of a child that printed `output` and ended with wait status `status` (killed by the
// parent after its time limit when `timed_out`): its JSON report line when it left one, else a
// crash saying how it died.
ChildResult ParseChildOutput(const std::string& output, int status, bool timed_out);

// A started child: its stdout is a pipe the caller reads from `fd`; its stderr goes to
// /dev/null unless `keep_stderr`.
struct ChildProcess {
  pid_t pid = -1;
  int fd = -1;
};
ChildProcess SpawnChild(const std::string& self, const std::vector<std::string>& args,
                        bool keep_stderr = false);

// Runs `self args...` to the end (killing it after `timeout`) and parses what it printed.
ChildResult RunChild(const std::string& self, const std::vector<std::string>& args,
                     std::chrono::seconds timeout);

// This binary's path (/proc/self/exe), or "" when it cannot be found.
std::string SelfExe();

}  // namespace apogee::sim
