// Client message ids: RocketMQ's 32-hex-digit layout, the address prefix, the month clock and
// uniqueness within a generator.

#include "core/client/unique_id.h"

#include <gtest/gtest.h>

#include <set>

namespace apogee::client {
namespace {

// 2024-03-15T12:00:00Z and the start of that month, in ms since the epoch.
constexpr int64_t kMarch15NoonMs = 1710504000000;
constexpr int64_t kMarch1Ms = 1709251200000;

WallTime AtMs(int64_t ms) { return WallFromNanos(ms * 1'000'000); }

TEST(UniqueIdTest, LayoutMatchesRocketMq) {
  // Proves: 32 uppercase hex digits, the IPv4 address first, ms since the month start next.
  io::SeededRandom random(1);
  UniqueIdGenerator gen("10.0.0.1", random);
  std::string id = gen.Next(AtMs(kMarch15NoonMs));
  EXPECT_EQ(id.size(), 32u);
  EXPECT_TRUE(IsUniqueId(id)) << id;
  EXPECT_EQ(id.substr(0, 8), "0A000001");
  EXPECT_EQ(UniqueIdIp(id), "10.0.0.1");
  EXPECT_EQ(UniqueIdMonthMillis(id), static_cast<uint32_t>(kMarch15NoonMs - kMarch1Ms));
  EXPECT_EQ(id.substr(0, 20), gen.prefix());
}

TEST(UniqueIdTest, IdsOfOneGeneratorAreDistinct) {
  // Proves: many ids in the same millisecond differ (the counter), and the prefix stays.
  io::SeededRandom random(2);
  UniqueIdGenerator gen("192.168.1.20", random);
  std::set<std::string> seen;
  for (int i = 0; i < 50000; ++i) {
    std::string id = gen.Next(AtMs(kMarch15NoonMs));
    EXPECT_EQ(id.substr(0, 20), gen.prefix());
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 50000u);
}

TEST(UniqueIdTest, MonthRollsOver) {
  // Proves: the time field restarts at the first of the next month.
  io::SeededRandom random(3);
  UniqueIdGenerator gen("10.0.0.1", random);
  constexpr int64_t kApril1Ms = 1711929600000;
  EXPECT_GT(UniqueIdMonthMillis(gen.Next(AtMs(kApril1Ms - 1))), 2'000'000'000u);
  EXPECT_EQ(UniqueIdMonthMillis(gen.Next(AtMs(kApril1Ms + 5))), 5u);
}

TEST(UniqueIdTest, GeneratorsOnOneHostDifferInTheirPrefix) {
  // Proves: the random process and instance tags separate two generators with one address.
  io::SeededRandom r1(4);
  io::SeededRandom r2(5);
  UniqueIdGenerator a("10.0.0.1", r1);
  UniqueIdGenerator b("10.0.0.1", r2);
  EXPECT_NE(a.prefix(), b.prefix());
  EXPECT_EQ(a.prefix().substr(0, 8), b.prefix().substr(0, 8));
}

TEST(UniqueIdTest, ParsesOnlyDottedQuads) {
  // Proves: the address parser takes dotted quads and nothing else.
  EXPECT_EQ(ParseIpv4("127.0.0.1"), 0x7F000001u);
  EXPECT_EQ(ParseIpv4("255.255.255.255"), 0xFFFFFFFFu);
  EXPECT_FALSE(ParseIpv4("256.0.0.1").has_value());
  EXPECT_FALSE(ParseIpv4("1.2.3").has_value());
  EXPECT_FALSE(ParseIpv4("1.2.3.4.5").has_value());
  EXPECT_FALSE(ParseIpv4("client-1").has_value());
  EXPECT_FALSE(IsUniqueId("0a000001"));
}

}  // namespace
}  // namespace apogee::client
