// DelayLevels: parsing RocketMQ's messageDelayLevel text, its errors, clamping.

#include "core/broker/delay_levels.h"

#include <gtest/gtest.h>

namespace apogee::broker {
namespace {

using namespace std::chrono_literals;

TEST(DelayLevelsTest, ParsesTheDefault) {
  // Proves the default text gives RocketMQ's 18 levels with the right durations.
  auto levels = DelayLevels::Parse("1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h");
  ASSERT_TRUE(levels.ok()) << levels.status().ToString();
  EXPECT_EQ(levels->max_level(), 18);
  EXPECT_EQ(levels->DelayOf(1), 1s);
  EXPECT_EQ(levels->DelayOf(3), 10s);
  EXPECT_EQ(levels->DelayOf(5), std::chrono::minutes(1));
  EXPECT_EQ(levels->DelayOf(16), std::chrono::minutes(30));
  EXPECT_EQ(levels->DelayOf(18), std::chrono::hours(2));
  EXPECT_EQ(levels->DelayMillisOf(2), 5000);
}

TEST(DelayLevelsTest, DaysAndExtraSpaces) {
  // Proves the d unit and runs of leading, trailing and inner spaces are accepted.
  auto levels = DelayLevels::Parse("  2d   3h 1s ");
  ASSERT_TRUE(levels.ok()) << levels.status().ToString();
  EXPECT_EQ(levels->max_level(), 3);
  EXPECT_EQ(levels->DelayOf(1), std::chrono::hours(48));
  EXPECT_EQ(levels->DelayOf(2), std::chrono::hours(3));
  EXPECT_EQ(levels->DelayOf(3), 1s);
}

TEST(DelayLevelsTest, ClampsAboveTheHighestLevel) {
  // Proves levels above the highest clamp to it and levels in range are kept.
  auto levels = DelayLevels::Parse("1s 5s");
  ASSERT_TRUE(levels.ok());
  EXPECT_EQ(levels->Clamp(1), 1);
  EXPECT_EQ(levels->Clamp(2), 2);
  EXPECT_EQ(levels->Clamp(3), 2);
  EXPECT_EQ(levels->Clamp(1000), 2);
}

TEST(DelayLevelsTest, RejectsBadText) {
  // Proves every malformed word is refused with kInvalidArgument and the word named.
  for (const char* bad : {"", "   ", "1", "s", "1x", "1s 5", "1.5s", "-1s", "0s", "1 s", "1sm",
                          "99999999999s", "400d", "1S"}) {
    auto levels = DelayLevels::Parse(bad);
    EXPECT_FALSE(levels.ok()) << "'" << bad << "'";
    EXPECT_EQ(levels.code(), ErrorCode::kInvalidArgument) << "'" << bad << "'";
  }
  auto named = DelayLevels::Parse("1s 7q");
  ASSERT_FALSE(named.ok());
  EXPECT_NE(named.status().message().find("7q"), std::string::npos) << named.status().ToString();
}

TEST(DelayLevelsTest, RejectsTooManyLevels) {
  // Proves a list longer than kDelayLevelsMax is refused and one of exactly that many is not.
  std::string text;
  for (int i = 0; i < kDelayLevelsMax; i++) text += "1s ";
  EXPECT_TRUE(DelayLevels::Parse(text).ok());
  text += "1s";
  EXPECT_EQ(DelayLevels::Parse(text).code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace apogee::broker
