#include "core/io/posix/posix_clock.h"

#include <time.h>

#include <cerrno>

#include "core/base/assert.h"

namespace apogee::io {
namespace {

int64_t ReadClock(clockid_t id) {
  timespec ts{};
  int rc = ::clock_gettime(id, &ts);
  APOGEE_ASSERT(rc == 0, "clock_gettime({}) failed: errno {}", id, errno);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

Instant MonotonicNow() { return InstantFromNanos(ReadClock(CLOCK_MONOTONIC)); }
WallTime RealtimeNow() { return WallFromNanos(ReadClock(CLOCK_REALTIME)); }

}  // namespace apogee::io
