#include "sim/timeline.h"

namespace apogee::sim {

const char* TimelineKindName(TimelineKind kind) {
  switch (kind) {
    case TimelineKind::kPhase:
      return "phase";
    case TimelineKind::kFaultStart:
      return "fault";
    case TimelineKind::kFaultEnd:
      return "fault ends";
    case TimelineKind::kFaultSkipped:
      return "fault skipped";
    case TimelineKind::kNodeUp:
      return "up";
    case TimelineKind::kNodeDown:
      return "down";
    case TimelineKind::kNodePaused:
      return "paused";
    case TimelineKind::kNodeResumed:
      return "resumed";
    case TimelineKind::kViolation:
      return "violation";
  }
  return "?";
}

}  // namespace apogee::sim
