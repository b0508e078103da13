#include "core/broker/delay_levels.h"

#include <fmt/format.h>

#include <utility>

#include "core/base/assert.h"

namespace apogee::broker {
namespace {

// One word: digits then a unit. The digits are capped well before they could overflow.
Result<Duration> ParseWord(std::string_view word) {
  size_t digits = 0;
  int64_t count = 0;
  while (digits < word.size() && word[digits] >= '0' && word[digits] <= '9') {
    count = count * 10 + (word[digits] - '0');
    if (count > 1'000'000'000) {
      return Status(ErrorCode::kInvalidArgument, fmt::format("delay level '{}' too long", word));
    }
    digits++;
  }
  if (digits == 0 || digits + 1 != word.size()) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("delay level '{}' is not a number followed by s, m, h or d", word));
  }
  Duration unit;
  switch (word.back()) {
    case 's':
      unit = std::chrono::seconds(1);
      break;
    case 'm':
      unit = std::chrono::minutes(1);
      break;
    case 'h':
      unit = std::chrono::hours(1);
      break;
    case 'd':
      unit = std::chrono::hours(24);
      break;
    default:
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("delay level '{}' has an unknown unit (s, m, h or d)", word));
  }
  if (count == 0) {
    return Status(ErrorCode::kInvalidArgument, fmt::format("delay level '{}' is zero", word));
  }
  if (count > kDelayLevelDurationMax / unit) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("delay level '{}' is longer than a year", word));
  }
  return count * unit;
}

}  // namespace

Result<DelayLevels> DelayLevels::Parse(std::string_view text) {
  std::vector<Duration> delays;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    if (end > pos) {
      if (static_cast<int32_t>(delays.size()) == kDelayLevelsMax) {
        return Status(ErrorCode::kInvalidArgument,
                      fmt::format("more than {} delay levels", kDelayLevelsMax));
      }
      APOGEE_ASSIGN_OR_RETURN(Duration d, ParseWord(text.substr(pos, end - pos)));
      delays.push_back(d);
    }
    pos = end + 1;
  }
  if (delays.empty()) return Status(ErrorCode::kInvalidArgument, "no delay levels");
  return DelayLevels(std::move(delays));
}

int32_t DelayLevels::Clamp(int32_t level) const {
  APOGEE_ASSERT(level >= 1, "delay level {}", level);
  return level > max_level() ? max_level() : level;
}

Duration DelayLevels::DelayOf(int32_t level) const {
  APOGEE_ASSERT(level >= 1, "delay level {}", level);
  APOGEE_ASSERT(level <= max_level(), "delay level {} of {}", level, max_level());
  return delays_[static_cast<size_t>(level - 1)];
}

int64_t DelayLevels::DelayMillisOf(int32_t level) const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(DelayOf(level)).count();
}

}  // namespace apogee::broker
