#pragma once

// Clock: a node's two notions of time.
//
// Now() is monotonic: it never goes back and is not affected by wall-clock jumps. Use it for
// timeouts, intervals and deadlines. It is the same time the node's Scheduler uses.
// WallNow() is the wall clock (Unix epoch): it may jump forwards or backwards and drift (in the
// simulator, by injected faults; in production, by NTP or an operator). Use it only for what
// must be a calendar time: message store timestamps, delay-level due times, file retention.

#include "core/base/time.h"

namespace apogee::io {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant Now() const = 0;
  virtual WallTime WallNow() const = 0;
};

}  // namespace apogee::io
