#include "sim/sim_clock.h"

#include <cmath>

namespace apogee::sim {

Duration SimClock::DriftSinceAnchor() const {
  int64_t elapsed = (kernel_->Now() - drift_anchor_).count();
  return Duration(
      static_cast<int64_t>(std::llround(static_cast<double>(elapsed) * drift_ppm_ / 1e6)));
}

Duration SimClock::Offset() const { return offset_ + DriftSinceAnchor(); }

WallTime SimClock::WallNow() const {
  return WallFromNanos(kSimEpochWallNs + ToNanos(kernel_->Now()) + Offset().count());
}

void SimClock::Jump(Duration delta) { offset_ += delta; }

void SimClock::SetDrift(double ppm) {
  // Fold the drift so far into the offset, then drift at the new rate from here.
  offset_ += DriftSinceAnchor();
  drift_anchor_ = kernel_->Now();
  drift_ppm_ = ppm;
}

}  // namespace apogee::sim
