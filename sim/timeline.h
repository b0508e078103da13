#pragma once

// Timeline: what happened in a run, for people. The World notes every node going up, down,
// paused and resumed; the FaultInjector every fault it applies, undoes or skips; the scenario
// its phases and violations; and the cluster scenarios add the operations of their workload,
// counted per simulated second. The HTML report of a failing run (sim/html_report.h) draws it.
//
// Recording is off unless asked for (RunConfig::record_timeline), so sweeps pay nothing for it.
// It never feeds back into the run: turning it on does not change the trace hash.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/base/time.h"

namespace apogee::sim {

enum class TimelineKind : uint8_t {
  kPhase,         // the scenario entered a phase ("safety", "healed", "liveness", "audit")
  kFaultStart,    // a fault of the plan took effect (text: Describe(fault))
  kFaultEnd,      // the injector undid it (healed, restarted, resumed, cleared)
  kFaultSkipped,  // the node was in no state to take it
  kNodeUp,        // a new incarnation started
  kNodeDown,      // the process died (text: the crash mode)
  kNodePaused,
  kNodeResumed,
  kViolation,  // a checker's finding (at the time the check ran)
};
const char* TimelineKindName(TimelineKind kind);

struct TimelineEvent {
  int64_t at_ns = 0;  // simulated time since the start of the run
  TimelineKind kind = TimelineKind::kPhase;
  std::string node;  // the node it concerns (its lane); empty for the whole run
  std::string text;
};

// The workload's operations in one simulated second: sends by outcome, and deliveries.
struct OpsBucket {
  int64_t second = 0;
  uint32_t sends_ok = 0;
  uint32_t sends_failed = 0;
  uint32_t sends_unknown = 0;  // timed out or cut off: may or may not be stored
  uint32_t deliveries = 0;
};

class Timeline {
 public:
  void Enable() { enabled_ = true; }
  bool enabled() const { return enabled_; }
  void Add(Instant at, TimelineKind kind, std::string node, std::string text) {
    if (!enabled_) return;
    events_.push_back(TimelineEvent{ToNanos(at), kind, std::move(node), std::move(text)});
  }
  const std::vector<TimelineEvent>& events() const { return events_; }
  std::vector<TimelineEvent> Take() { return std::move(events_); }

 private:
  bool enabled_ = false;
  std::vector<TimelineEvent> events_;
};

}  // namespace apogee::sim
