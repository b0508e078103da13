// The stored record: layout, validation, properties and offsetMsgId.

#include "core/store/message_record.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base/bytes.h"
#include "core/base/crc32.h"

namespace apogee::store {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

MessageToStore Sample() {
  MessageToStore m;
  m.topic = "TopicA";
  m.queue_id = 3;
  m.flag = 7;
  m.body = Bytes("hello");
  m.properties = "TAGS\x01TagA\x02KEYS\x01k1 k2";
  m.sys_flag = 0;
  m.born_timestamp_ms = 1'700'000'000'123;
  m.born_ipv4 = 0x0A000002;
  m.born_port = 50000;
  m.reconsume_times = 2;
  return m;
}

std::vector<uint8_t> Encode(const MessageToStore& m, int64_t physical_offset) {
  std::vector<uint8_t> out(RecordSizeOf(m));
  RecordPlacement at;
  at.queue_offset = 42;
  at.physical_offset = physical_offset;
  at.store_timestamp_ms = 1'700'000'000'456;
  at.store_ipv4 = 0x7F000001;
  at.store_port = 10911;
  EncodeRecord(m, at, out);
  return out;
}

TEST(MessageRecordTest, LayoutMatchesRocketMq) {
  // Proves every field sits at RocketMQ's byte offset, big-endian, with the masked body CRC,
  // and the properties end with the whole-record CRC property.
  MessageToStore m = Sample();
  auto rec = Encode(m, 4096);
  ASSERT_EQ(rec.size(), 91u + 5 + 6 + m.properties.size() + 20);
  EXPECT_EQ(GetU32(&rec[0]), rec.size());
  EXPECT_EQ(GetU32(&rec[4]), 0xDAA320A7u);
  EXPECT_EQ(GetU32(&rec[8]), Crc32(Bytes("hello")) & 0x7FFFFFFFu);
  EXPECT_EQ(GetU32(&rec[12]), 3u);
  EXPECT_EQ(GetU32(&rec[16]), 7u);
  EXPECT_EQ(GetU64(&rec[20]), 42u);
  EXPECT_EQ(GetU64(&rec[28]), 4096u);
  EXPECT_EQ(GetU32(&rec[36]), 0u);
  EXPECT_EQ(GetU64(&rec[40]), 1'700'000'000'123u);
  EXPECT_EQ(GetU32(&rec[48]), 0x0A000002u);
  EXPECT_EQ(GetU32(&rec[52]), 50000u);
  EXPECT_EQ(GetU64(&rec[56]), 1'700'000'000'456u);
  EXPECT_EQ(GetU32(&rec[64]), 0x7F000001u);
  EXPECT_EQ(GetU32(&rec[68]), 10911u);
  EXPECT_EQ(GetU32(&rec[72]), 2u);
  EXPECT_EQ(GetU64(&rec[76]), 0u);
  EXPECT_EQ(GetU32(&rec[84]), 5u);
  EXPECT_EQ(std::string(rec.begin() + 88, rec.begin() + 93), "hello");
  EXPECT_EQ(rec[93], 6);
  EXPECT_EQ(std::string(rec.begin() + 94, rec.begin() + 100), "TopicA");
  EXPECT_EQ(GetU16(&rec[100]), m.properties.size() + 20);
  std::string props(rec.begin() + 102, rec.end());
  EXPECT_EQ(props.substr(0, m.properties.size()), m.properties);
  EXPECT_EQ(props.substr(m.properties.size(), 10), "\x02__CRC32#\x01");
  uint32_t crc = Crc32(std::span<const uint8_t>(rec.data(), rec.size() - 10));
  EXPECT_EQ(props.substr(props.size() - 10), fmt::format("{:010d}", crc));
}

TEST(MessageRecordTest, DecodeReturnsTheFields) {
  // Proves decoding gives back what was encoded, with views into the record.
  MessageToStore m = Sample();
  auto rec = Encode(m, 100);
  DecodedRecord d = DecodeRecord(rec, 100, 4u << 20, true);
  ASSERT_EQ(d.kind, RecordKind::kMessage) << d.error;
  EXPECT_EQ(d.size, rec.size());
  EXPECT_EQ(d.view.topic, "TopicA");
  EXPECT_EQ(d.view.queue_offset, 42);
  EXPECT_EQ(d.view.physical_offset, 100);
  EXPECT_EQ(d.view.properties, m.properties);
  EXPECT_EQ(std::string(d.view.body.begin(), d.view.body.end()), "hello");
  EXPECT_EQ(d.view.reconsume_times, 2);
  EXPECT_EQ(d.view.store_port, 10911);
}

TEST(MessageRecordTest, EveryFlippedBitIsCaught) {
  // Proves the record CRC (with the checks of size, magic, offset and lengths) makes a flip of
  // any single bit anywhere in the record corrupt or incomplete, never a valid message.
  MessageToStore m = Sample();
  auto rec = Encode(m, 512);
  for (size_t byte = 0; byte < rec.size(); byte++) {
    for (int bit = 0; bit < 8; bit++) {
      auto damaged = rec;
      damaged[byte] ^= static_cast<uint8_t>(1 << bit);
      DecodedRecord d = DecodeRecord(damaged, 512, 4u << 20, true);
      EXPECT_NE(d.kind, RecordKind::kMessage) << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(MessageRecordTest, ZeroedSectorTailIsCaught) {
  // Proves a torn write that zeroes the end of a record (properties included) is caught: the
  // body CRC alone would pass it.
  MessageToStore m = Sample();
  auto rec = Encode(m, 0);
  for (size_t cut = 93; cut < rec.size(); cut++) {
    auto torn = rec;
    std::fill(torn.begin() + static_cast<std::ptrdiff_t>(cut), torn.end(), 0);
    EXPECT_NE(DecodeRecord(torn, 0, 4u << 20, true).kind, RecordKind::kMessage) << cut;
  }
}

TEST(MessageRecordTest, ShortInputIsIncompleteAndBlankIsRecognised) {
  // Proves a record cut short reads as incomplete (a torn tail), and the blank record as blank.
  auto rec = Encode(Sample(), 0);
  EXPECT_EQ(DecodeRecord(std::span(rec).first(4), 0, 4u << 20, true).kind, RecordKind::kIncomplete);
  DecodedRecord cut = DecodeRecord(std::span(rec).first(rec.size() - 1), 0, 4u << 20, true);
  EXPECT_EQ(cut.kind, RecordKind::kIncomplete);
  EXPECT_EQ(cut.size, rec.size());
  uint8_t blank[8];
  EncodeBlankRecord(300, blank);
  DecodedRecord b = DecodeRecord(blank, 0, 4u << 20, true);
  EXPECT_EQ(b.kind, RecordKind::kBlank);
  EXPECT_EQ(b.size, 300u);
  std::vector<uint8_t> zeros(200, 0);
  EXPECT_EQ(DecodeRecord(zeros, 0, 4u << 20, true).kind, RecordKind::kCorrupt);
}

TEST(MessageRecordTest, ValidationRejectsWhatRocketMqRejects) {
  // Proves empty or long topics, oversized properties and records, and IPv6 flags are refused.
  MessageToStore m = Sample();
  EXPECT_TRUE(ValidateMessage(m, 4u << 20).ok());
  std::string long_topic(128, 't');
  MessageToStore bad = m;
  bad.topic = long_topic;
  EXPECT_EQ(ValidateMessage(bad, 4u << 20).code(), ErrorCode::kInvalidArgument);
  bad = m;
  bad.topic = "";
  EXPECT_EQ(ValidateMessage(bad, 4u << 20).code(), ErrorCode::kInvalidArgument);
  std::string props(32'767 - 20 + 1, 'p');
  bad = m;
  bad.properties = props;
  EXPECT_EQ(ValidateMessage(bad, 4u << 20).code(), ErrorCode::kResourceExhausted);
  props.pop_back();  // the largest that leaves room for the CRC property
  bad.properties = props;
  EXPECT_TRUE(ValidateMessage(bad, 4u << 20).ok());
  bad = m;
  bad.sys_flag = kSysFlagBornHostV6;
  EXPECT_EQ(ValidateMessage(bad, 4u << 20).code(), ErrorCode::kInvalidArgument);
  uint64_t size = RecordSizeOf(m);
  EXPECT_TRUE(ValidateMessage(m, static_cast<uint32_t>(size)).ok());
  EXPECT_EQ(ValidateMessage(m, static_cast<uint32_t>(size - 1)).code(),
            ErrorCode::kInvalidArgument);
}

TEST(MessageRecordTest, PropertiesParseAndTagsCode) {
  // Proves property lookup (last duplicate wins, trailing separator tolerated) and that the
  // tags code is Java's String.hashCode of TAGS ("TagA" -> 2598919).
  std::string_view props =
      "TAGS\x01TagA\x02KEYS\x01"
      "a b\x02TAGS\x01TagA\x02";
  EXPECT_EQ(FindProperty(props, "KEYS"), "a b");
  EXPECT_EQ(FindProperty(props, "TAGS"), "TagA");
  EXPECT_EQ(FindProperty(props, "NONE"), std::nullopt);
  EXPECT_EQ(ParseProperties(props).size(), 3u);
  EXPECT_EQ(TagsCode(props), 2598919);
  EXPECT_EQ(TagsCode("KEYS\x01x"), 0);
  std::string encoded = EncodeProperties({{"A", "1"}, {"B", "2"}});
  EXPECT_EQ(encoded,
            "A\x01"
            "1\x02"
            "B\x01"
            "2");
}

TEST(MessageRecordTest, KeysSplitIntoNonEmptyWordsAndHalfMessagesAreNotConsumable) {
  // Proves KEYS words are split on spaces with empty words skipped, and that half and
  // rolled-back transaction messages stay out of consume queues while commits do not.
  std::vector<std::string> words;
  ForEachKey("  a bb  c ", [&](std::string_view w) { words.emplace_back(w); });
  EXPECT_EQ(words, (std::vector<std::string>{"a", "bb", "c"}));
  words.clear();
  ForEachKey("", [&](std::string_view w) { words.emplace_back(w); });
  EXPECT_TRUE(words.empty());
  EXPECT_TRUE(IsConsumable(0));
  EXPECT_TRUE(IsConsumable(kSysFlagTransactionCommit | kSysFlagMultiTags));
  EXPECT_FALSE(IsConsumable(kSysFlagTransactionPrepared));
  EXPECT_FALSE(IsConsumable(kSysFlagTransactionRollback | kSysFlagCompressed));
}

TEST(MessageRecordTest, OffsetMsgIdRoundTrips) {
  // Proves offsetMsgId is 32 uppercase hex digits of ip, port and offset, and parses back.
  std::string id = MakeOffsetMsgId(0x0A000001, 10911, 0x1234);
  EXPECT_EQ(id, "0A00000100002A9F0000000000001234");
  EXPECT_EQ(MakeOffsetMsgId(0xFFFFFFFF, 65535, INT64_MAX), "FFFFFFFF0000FFFF7FFFFFFFFFFFFFFF");
  EXPECT_EQ(MakeOffsetMsgId(0, 0, 0), std::string(32, '0'));
  auto parsed = ParseOffsetMsgId(id);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->store_ipv4, 0x0A000001u);
  EXPECT_EQ(parsed->store_port, 10911);
  EXPECT_EQ(parsed->commit_log_offset, 0x1234);
  EXPECT_FALSE(ParseOffsetMsgId("XYZ").ok());
  EXPECT_FALSE(ParseOffsetMsgId(std::string(32, 'G')).ok());
}

}  // namespace
}  // namespace apogee::store
