#pragma once

// The HTML report of one run: a single self-contained file (inline CSS and SVG, no scripts from
// elsewhere, no network) that a CI system keeps beside the repro file of a failing run and a
// person opens in a browser. It shows:
//   - the verdict: scenario, seed, outcome, violations, trace hash, build, the replay command;
//   - a timeline over simulated time: one lane per node with its up / down / paused states,
//     the faults on the node they hit (bars for faults with a duration, ticks for instantaneous
//     ones, hatched when skipped), the phases of the scenario, and the violations;
//   - the workload's operations per simulated second (sends ok / failed / unknown, deliveries);
//   - the fault plan that ran, and, when the file was shrunk, the original plan beside it;
//   - the fault coverage: which fault kinds were applied how often, and which Buggify points
//     were reached, armed and fired;
//   - the scenario's counters.
// Everything comes from a RunReport recorded with RunConfig::record_timeline.

#include <optional>
#include <string>

#include "sim/fault_plan.h"
#include "sim/scenario.h"

namespace apogee::sim {

struct HtmlReportInput {
  const RunReport* report = nullptr;
  std::string build_id;
  std::string replay_command;  // "apogee-sim replay failures/x.repro.json"
  // When the run's plan is the result of shrinking: the plan it was shrunk from, and how
  // ("14 faults -> 2 in 23 runs").
  std::optional<FaultPlan> original_plan;
  std::string shrink;
  // Set when the run crashed and its report is cut short (no timeline after the crash).
  std::string note;
};

std::string RenderHtmlReport(const HtmlReportInput& input);

// `text` made safe inside HTML or XML elements and attribute values: <, >, & and " escaped,
// control characters other than newline and tab replaced by a space.
std::string EscapeMarkup(std::string_view text);

}  // namespace apogee::sim
