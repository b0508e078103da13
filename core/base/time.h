#pragma once

// Time types shared by the seam and everything above it.
//
// Instant is a point on a node's monotonic clock (never goes back, unaffected by wall-clock
// jumps); WallTime is a point on the wall clock (Unix epoch, may jump). Both count nanoseconds.
// They are distinct types so that a wall time can never be passed where a monotonic one is due.

#include <chrono>
#include <cstdint>
#include <optional>

namespace apogee {

using Duration = std::chrono::nanoseconds;
using std::chrono_literals::operator""ns;
using std::chrono_literals::operator""us;
using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;

struct MonotonicTag {};
struct WallTag {};
using Instant = std::chrono::time_point<MonotonicTag, Duration>;
using WallTime = std::chrono::time_point<WallTag, Duration>;

// An absent deadline means "wait for ever".
using Deadline = std::optional<Instant>;

// `now + d`, saturated so that a huge timeout (Duration::max()) means "for ever" instead of
// overflowing. A negative `d` counts as zero.
inline Instant SaturatingAdd(Instant now, Duration d) {
  if (d <= Duration::zero()) return now;
  if (d >= Instant::max() - now) return Instant::max();
  return now + d;
}

inline int64_t ToNanos(Instant t) { return t.time_since_epoch().count(); }
inline int64_t ToMillis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline Instant InstantFromNanos(int64_t ns) { return Instant(Duration(ns)); }
inline WallTime WallFromNanos(int64_t ns) { return WallTime(Duration(ns)); }
inline double ToSeconds(Duration d) { return static_cast<double>(d.count()) / 1e9; }

}  // namespace apogee
