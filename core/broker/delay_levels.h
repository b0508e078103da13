#pragma once

// DelayLevels: RocketMQ's messageDelayLevel setting, parsed. The text is a space-separated list
// of durations, each a positive integer followed by one unit: s (seconds), m (minutes),
// h (hours) or d (days), e.g. "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h".
// The first word is level 1. A message with DELAY=n waits for level n's duration; levels above
// the highest are clamped to it (as RocketMQ does), level 0 or less means "not delayed".

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/base/time.h"

namespace apogee::broker {

// More levels than this is refused: each level is a queue of SCHEDULE_TOPIC_XXXX.
inline constexpr int32_t kDelayLevelsMax = 64;
// The longest single level accepted (a year): guards the millisecond arithmetic.
inline constexpr Duration kDelayLevelDurationMax = std::chrono::hours(24 * 366);

class DelayLevels {
 public:
  // Parses a messageDelayLevel value. kInvalidArgument, naming the bad word, for an empty list,
  // a word without a number or with an unknown unit, a zero or over-long duration, or more than
  // kDelayLevelsMax words. Runs of spaces are allowed.
  static Result<DelayLevels> Parse(std::string_view text);

  // The number of levels (the highest level).
  int32_t max_level() const { return static_cast<int32_t>(delays_.size()); }
  // `level` clamped to [1, max_level()]. REQUIRES: level >= 1.
  int32_t Clamp(int32_t level) const;
  // The delay of `level`. REQUIRES: 1 <= level <= max_level().
  Duration DelayOf(int32_t level) const;
  int64_t DelayMillisOf(int32_t level) const;

 private:
  explicit DelayLevels(std::vector<Duration> delays) : delays_(std::move(delays)) {}
  std::vector<Duration> delays_;  // delays_[i] is level i + 1
};

}  // namespace apogee::broker
