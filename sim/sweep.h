#pragma once

// apogee-sim sweep: many seeds of one or more scenarios, run in parallel child processes, with a
// progress bar, sharding, and files CI can keep: a JSON summary, JUnit XML (one test case per
// scenario and seed) and a repro file for each failing run.
//
// Each run is its own process (`apogee-sim run --scenario S --seed N --json`, exec'd from this
// binary), so a run that crashes or hangs takes nothing else down: a crash is reported with the
// child's own report, a hang is killed after `run_timeout` and reported as a crash.
//
// Sharding: the (scenario, seed) pairs are numbered in order (scenarios in the order given,
// seeds ascending within each); shard i of n takes the pairs whose number is i modulo n. The
// shard comes from --shard i/n, or else from GTEST_SHARD_INDEX and GTEST_TOTAL_SHARDS.
//
// The exit code is the most severe outcome met (crash > nondeterminism > violation > liveness >
// pass), as the codes of `apogee-sim run`: 2, 4, 1, 3, 0.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace apogee::sim {

struct SweepOptions {
  std::vector<std::string> scenarios;  // empty: every scenario
  uint64_t seed_first = 1;
  uint64_t seed_count = 100;
  int jobs = 2;
  int shard_index = 0;
  int shard_total = 1;
  bool check_determinism = false;
  std::chrono::seconds run_timeout{300};
  std::string out_dir = "sim-reports";
  bool progress = true;  // a bar on stderr (a line per 10 % when stderr is not a terminal)
  // Failing runs of scenarios with fault plans are shrunk (sim/shrink_run.h), at most
  // `shrink_runs` candidate runs each, for the first `shrink_max` failures (0: none).
  int shrink_runs = 40;
  int shrink_max = 10;
  // Shrinking and HTML reports for failing runs; off: only their repro files (campaigns that
  // expect many failures and want only the first).
  bool reports = true;
  // Test hooks passed to every run (--inject-crash, --inject-nondeterminism), so the sweep's
  // handling of failures can be shown. Never set in real sweeps.
  std::vector<std::string> run_test_hooks;
};

// Runs the sweep and writes out_dir/summary.json, out_dir/junit.xml, and for each failing run
// out_dir/failures/<scenario>-seed-<n>.repro.json (the run's own plan), .min.repro.json (the
// shrunk plan, when shrunk) and .html (the report of the smallest failing run, sim/html_report.h).
// Returns the exit code described above.
int RunSweep(const SweepOptions& options, const std::string& self_exe);

}  // namespace apogee::sim
