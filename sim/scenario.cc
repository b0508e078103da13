#include "sim/scenario.h"

#include <fmt/format.h>

#include <algorithm>

namespace apogee::sim {

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPass:
      return "pass";
    case Outcome::kViolation:
      return "violation";
    case Outcome::kCrash:
      return "crash";
    case Outcome::kLiveness:
      return "liveness";
    case Outcome::kNondeterminism:
      return "nondeterminism";
  }
  return "?";
}

int OutcomeExitCode(Outcome outcome) { return static_cast<int>(outcome); }

RunReport CheckDeterminism(const Scenario& scenario, RunConfig config) {
  config.record_trace = true;
  RunReport first = scenario.run(config);
  RunReport second = scenario.run(config);
  if (first.trace_hash == second.trace_hash && first.trace_steps == second.trace_steps) {
    second.trace.clear();
    return second;
  }
  // Find the first step where the runs went apart: the first entry whose hash differs.
  const auto& a = first.trace;
  const auto& b = second.trace;
  size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i].hash == b[i].hash) i++;
  std::string where;
  if (i < n) {
    where = fmt::format("first divergence at step {}: run 1 {} / run 2 {}", i,
                        DescribeEntry(a[i], first.group_names),
                        DescribeEntry(b[i], second.group_names));
  } else {
    where = fmt::format("runs agree for {} steps, then one has {} and the other {} steps", n,
                        a.size(), b.size());
  }
  if (i > 0)
    where += fmt::format(" (last common step: {})", DescribeEntry(a[i - 1], first.group_names));
  RunReport report = std::move(second);
  report.trace.clear();
  report.outcome = Outcome::kNondeterminism;
  report.violations.insert(report.violations.begin(),
                           fmt::format("nondeterminism: trace hash {:016x} then {:016x}; {}",
                                       first.trace_hash, report.trace_hash, where));
  return report;
}

}  // namespace apogee::sim
