#pragma once

// A simulated node's clocks. Now() is the kernel's virtual time: monotonic, shared by every node,
// never affected by faults. WallNow() is the node's own wall clock: virtual time plus a fixed
// epoch, plus an offset that jumps can move, plus a drift rate (parts per million) that makes it
// run fast or slow. The state belongs to the machine, so it survives process crashes.

#include <cstdint>

#include "core/io/clock.h"
#include "sim/kernel.h"

namespace apogee::sim {

// Wall time at virtual time zero: 2026-01-01T00:00:00Z, fixed so every run sees the same dates.
inline constexpr int64_t kSimEpochWallNs = 1767225600LL * 1000000000LL;

class SimClock final : public io::Clock {
 public:
  explicit SimClock(Kernel& kernel) : kernel_(&kernel) {}

  Instant Now() const override { return kernel_->Now(); }
  WallTime WallNow() const override;

  // Moves the wall clock by `delta` (either way) at once.
  void Jump(Duration delta);
  // From now on the wall clock gains `ppm` microseconds per virtual second (negative: loses).
  void SetDrift(double ppm);
  double drift_ppm() const { return drift_ppm_; }
  // Wall time minus (epoch + virtual time) right now.
  Duration Offset() const;

 private:
  Duration DriftSinceAnchor() const;

  Kernel* kernel_;
  Duration offset_{0};
  double drift_ppm_ = 0;
  Instant drift_anchor_{};
};

}  // namespace apogee::sim
