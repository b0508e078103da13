// Tests of the message index: the file format's codecs.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/base/java_hash.h"
#include "core/store/index_file.h"

namespace apogee::store {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();
constexpr int64_t kAllTime = std::numeric_limits<int64_t>::min() / 2;

// ---------------------------------------------------------------------------------------------
// Format.

TEST(IndexFileTest, HeaderAndEntryRoundTripBigEndian) {
  // Proves the header and entry codecs write RocketMQ's big-endian layout and read it back.
  IndexHeader h{0x0102030405060708, 2, 3, 4, 5, 6};
  uint8_t buf[kIndexHeaderBytes];
  h.EncodeTo(buf);
  EXPECT_EQ(buf[0], 0x01);
  EXPECT_EQ(buf[7], 0x08);
  EXPECT_EQ(buf[35], 5);  // hashSlotCount at 32
  EXPECT_EQ(buf[39], 6);  // indexCount at 36
  IndexHeader back = IndexHeader::DecodeFrom(buf);
  EXPECT_EQ(back.begin_timestamp_ms, h.begin_timestamp_ms);
  EXPECT_EQ(back.end_phy_offset, 4);
  EXPECT_EQ(back.index_count, 6);

  IndexEntry e{123, 0x1122334455, -7, 9};
  uint8_t ebuf[kIndexEntryBytes];
  e.EncodeTo(ebuf);
  EXPECT_EQ(ebuf[3], 123);
  EXPECT_EQ(ebuf[7], 0x11);  // phyOffset occupies bytes 4..11
  EXPECT_EQ(ebuf[11], 0x55);
  IndexEntry eb = IndexEntry::DecodeFrom(ebuf);
  EXPECT_EQ(eb.key_hash, 123);
  EXPECT_EQ(eb.phy_offset, 0x1122334455);
  EXPECT_EQ(eb.time_diff_s, -7);
  EXPECT_EQ(eb.prev_index, 9);
}

TEST(IndexFileTest, ShapeOffsetsMatchRocketMq) {
  // Proves slots follow the 40-byte header and entries follow the slots, and the file size.
  IndexShape s{5'000'000, 20'000'000};
  EXPECT_EQ(s.SlotOffset(0), 40u);
  EXPECT_EQ(s.EntryOffset(0), 40u + 4u * 5'000'000);
  EXPECT_EQ(s.FileBytes(), 40u + 4u * 5'000'000 + 20u * 20'000'000);  // RocketMQ's 420000040
  EXPECT_EQ(s.FileBytes(), 420'000'040u);
}

TEST(IndexFileTest, KeyHashIsAbsJavaHashOfTopicHashKey) {
  // Proves the key hash is |hashCode("topic#key")|, and Java's abs(INT_MIN) case maps to 0.
  std::string scratch;
  EXPECT_EQ(IndexKeyHash("TopicA", "key1", &scratch), std::abs(JavaStringHash("TopicA#key1")));
  int32_t raw = JavaStringHash("TopicTest#OrderID188");
  EXPECT_EQ(IndexKeyHash("TopicTest", "OrderID188", &scratch), raw < 0 ? -raw : raw);
  // "t#VNY4QO1ce\u99f3".hashCode() == Integer.MIN_VALUE.
  std::string key = "VNY4QO1ce\xe9\xa7\xb3";
  ASSERT_EQ(JavaStringHash("t#" + key), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(IndexKeyHash("t", key, &scratch), 0);
}

TEST(IndexFileTest, TimeDiffFloorsAndWindowIsConservative) {
  // Proves time diffs floor to the second (also before the file's begin) and the window test
  // keeps every entry whose second meets the window.
  EXPECT_EQ(IndexTimeDiff(1999, 1000), 0);
  EXPECT_EQ(IndexTimeDiff(2000, 1000), 1);
  EXPECT_EQ(IndexTimeDiff(999, 1000), -1);
  EXPECT_EQ(IndexTimeDiff(0, 1000), -1);
  EXPECT_EQ(IndexTimeDiff(-1, 1000), -2);
  EXPECT_EQ(IndexTimeDiff(kNoLimit, 0), std::numeric_limits<int32_t>::max());
  // Entry at second [2000, 2999].
  EXPECT_TRUE(IndexTimeMayMatch(1000, 1, 2999, 5000));
  EXPECT_TRUE(IndexTimeMayMatch(1000, 1, 0, 2000));
  EXPECT_FALSE(IndexTimeMayMatch(1000, 1, 3000, 5000));
  EXPECT_FALSE(IndexTimeMayMatch(1000, 1, 0, 1999));
}

TEST(IndexFileTest, FileNamesAreTwentyDigitSequences) {
  // Proves names are 20 zero-padded digits that parse back, and other names are rejected.
  EXPECT_EQ(IndexFileName(42), "00000000000000000042");
  EXPECT_EQ(ParseIndexFileName("00000000000000000042"), 42u);
  EXPECT_EQ(ParseIndexFileName(IndexFileName(UINT64_MAX)), UINT64_MAX);
  EXPECT_FALSE(ParseIndexFileName("0000000000000000042").has_value());
  EXPECT_FALSE(ParseIndexFileName("0000000000000000004x").has_value());
  EXPECT_FALSE(ParseIndexFileName("99999999999999999999").has_value());  // > UINT64_MAX
}

}  // namespace
}  // namespace apogee::store
