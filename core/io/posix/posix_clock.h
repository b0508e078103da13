#pragma once

// The operating system's clocks. MonotonicNow() is CLOCK_MONOTONIC, the one time base of a
// production node: the reactor's loop, every Scheduler deadline and the log prefix all read it,
// so a deadline computed from Clock::Now() means the same instant to the loop.

#include "core/base/time.h"
#include "core/io/clock.h"

namespace apogee::io {

// CLOCK_MONOTONIC as an Instant. Never fails (asserts if the kernel refuses).
Instant MonotonicNow();
// CLOCK_REALTIME as a WallTime (Unix epoch). Never fails (asserts if the kernel refuses).
WallTime RealtimeNow();

class PosixClock final : public Clock {
 public:
  Instant Now() const override { return MonotonicNow(); }
  WallTime WallNow() const override { return RealtimeNow(); }
};

}  // namespace apogee::io
