// Client messages: property accessors, pull answer bodies (stored records) and batch bodies.

#include "core/protocol/message.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/protocol/message_test_util.h"

namespace apogee::protocol {
namespace {

TEST(MessageTest, PropertyAccessors) {
  // Proves tags, keys, UNIQ_KEY, delay level and WAIT read and write their RocketMQ properties.
  Message m;
  EXPECT_EQ(m.Tags(), "");
  EXPECT_EQ(m.DelayLevel(), 0);
  EXPECT_TRUE(m.WaitStoreMsgOk());
  m.SetTags("TagA");
  m.SetKeys(std::vector<std::string>{"k1", "k2"});
  m.SetUniqKey("ID1");
  m.SetDelayLevel(3);
  EXPECT_EQ(m.properties.at("TAGS"), "TagA");
  EXPECT_EQ(m.properties.at("KEYS"), "k1 k2");
  EXPECT_EQ(m.KeyList(), (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(m.properties.at("UNIQ_KEY"), "ID1");
  EXPECT_EQ(m.properties.at("DELAY"), "3");
  EXPECT_EQ(m.DelayLevel(), 3);
  m.SetDelayLevel(0);
  EXPECT_FALSE(m.HasProperty("DELAY"));
  m.SetProperty("DELAY", "x");
  EXPECT_EQ(m.DelayLevel(), 0);
  m.SetProperty("WAIT", "false");
  EXPECT_FALSE(m.WaitStoreMsgOk());
  m.SetKeys("  a  b ");
  EXPECT_EQ(m.KeyList(), (std::vector<std::string>{"a", "b"}));
}

TEST(MessageTest, PropertiesEncodeSortedAndDecodeTolerantly) {
  // Proves the header form of properties, a trailing separator, junk pairs and repeats.
  std::map<std::string, std::string> p{{"TAGS", "A"}, {"KEYS", "k"}, {"E", ""}};
  std::string text = EncodeMessageProperties(p);
  EXPECT_EQ(text, std::string("E\x01\x02KEYS\x01k\x02TAGS\x01"
                              "A"));
  EXPECT_EQ(DecodeMessageProperties(text), p);
  EXPECT_EQ(DecodeMessageProperties(text + "\x02"), p);
  EXPECT_EQ(DecodeMessageProperties(std::string("junk\x02TAGS\x01X\x02TAGS\x01Y")),
            (std::map<std::string, std::string>{{"TAGS", "Y"}}));
  EXPECT_TRUE(DecodeMessageProperties("").empty());
  EXPECT_EQ(EncodeMessageProperties({}), "");
}

TEST(MessageTest, DecodesPullBodiesOfStoredRecords) {
  // Proves records back to back decode with every field, the store's CRC property hidden, and
  // msgId = UNIQ_KEY when set, else the offsetMsgId.
  std::vector<uint8_t> body;
  StoredSpec a;
  a.topic = "TopicA";
  a.properties = {{"TAGS", "TagA"}, {"UNIQ_KEY", "C0A8000100002A9F0000000000000001"}};
  a.body = {'h', 'i'};
  a.queue_offset = 5;
  a.physical_offset = 1000;
  AppendStoredRecord(a, &body);
  StoredSpec b;
  b.topic = "TopicA";
  b.queue_id = 3;
  b.body = {};
  b.queue_offset = 6;
  b.physical_offset = 4242;
  b.reconsume_times = 2;
  AppendStoredRecord(b, &body);

  Result<std::vector<MessageExt>> r = DecodeMessages(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  const MessageExt& m = (*r)[0];
  EXPECT_EQ(m.topic, "TopicA");
  EXPECT_EQ(m.body, a.body);
  EXPECT_EQ(m.properties, a.properties);
  EXPECT_EQ(m.Tags(), "TagA");
  EXPECT_EQ(m.queue_offset, 5);
  EXPECT_EQ(m.commit_log_offset, 1000);
  EXPECT_EQ(m.msg_id, "C0A8000100002A9F0000000000000001");
  EXPECT_EQ(m.offset_msg_id, "0A00000100002A9F00000000000003E8");
  EXPECT_EQ(m.StoreHost(), "10.0.0.1:10911");
  EXPECT_EQ(m.BornHost(), "192.168.0.7:50000");
  EXPECT_EQ(m.born_timestamp, 1700000000000);
  EXPECT_EQ(m.store_timestamp, 1700000000100);
  EXPECT_EQ(m.flag, 0);
  EXPECT_GT(m.store_size, 91);
  const MessageExt& n = (*r)[1];
  EXPECT_TRUE(n.properties.empty());
  EXPECT_TRUE(n.body.empty());
  EXPECT_EQ(n.queue_id, 3);
  EXPECT_EQ(n.reconsume_times, 2);
  EXPECT_EQ(n.msg_id, n.offset_msg_id);
  EXPECT_EQ(n.offset_msg_id, "0A00000100002A9F0000000000001092");
  EXPECT_EQ(static_cast<size_t>(m.store_size + n.store_size), body.size());

  Result<std::vector<MessageExt>> empty = DecodeMessages({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(MessageTest, CorruptOrTruncatedPullBodiesNameThePosition) {
  // Proves a flipped bit in the second record, or a cut, is kCorruption naming its offset.
  std::vector<uint8_t> body;
  StoredSpec a;
  a.properties = {{"TAGS", "A"}};
  AppendStoredRecord(a, &body);
  size_t second = body.size();
  a.physical_offset = 9999;
  AppendStoredRecord(a, &body);

  std::vector<uint8_t> flipped = body;
  flipped[second + 100] ^= 0x01;  // inside the body/topic area of the second record
  Result<std::vector<MessageExt>> r = DecodeMessages(flipped);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), ErrorCode::kCorruption);
  EXPECT_NE(r.status().message().find(fmt::format("at byte {} of", second)), std::string::npos)
      << r.status().message();

  std::vector<uint8_t> cut(body.begin(), body.end() - 1);
  r = DecodeMessages(cut);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            fmt::format("message record at byte {} of {}: truncated", second, cut.size()));

  std::vector<uint8_t> tail(body.begin(), body.begin() + second + 3);
  EXPECT_EQ(DecodeMessages(tail).code(), ErrorCode::kCorruption);
}

TEST(MessageTest, BatchHasTheRocketMqLayout) {
  // Proves the exact bytes of a one-message batch: total, zero magic and CRC, flag, lengths.
  Message m;
  m.flag = 7;
  m.body = {'a', 'b'};
  m.properties = {{"K", "v"}};
  std::vector<uint8_t> bytes = EncodeBatch({m});
  std::vector<uint8_t> want = {0, 0, 0, 27,  // total = 22 + 2 + 3
                               0, 0, 0, 0,  0,   0,   0, 0, 0,   0,    0,  7,
                               0, 0, 0, 2,  'a', 'b', 0, 3, 'K', 0x01, 'v'};
  EXPECT_EQ(bytes, want);
  Result<std::vector<Message>> back = DecodeBatch(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0], m);
  EXPECT_TRUE(DecodeBatch({}).value().empty());
}

TEST(MessageTest, BatchDecodeRefusesInconsistentLengths) {
  // Proves each length check: short tail, total too small or too large, negative or oversize
  // body length, properties length that does not add up, negative properties length.
  Message m;
  m.body = {'a', 'b'};
  m.properties = {{"K", "v"}};
  const std::vector<uint8_t> good = EncodeBatch({m, m});
  auto expect_bad = [](std::vector<uint8_t> bytes, std::string_view what) {
    Result<std::vector<Message>> r = DecodeBatch(bytes);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.code(), ErrorCode::kMalformed) << what;
    EXPECT_NE(r.status().message().find("batch message at byte"), std::string::npos);
  };
  expect_bad(std::vector<uint8_t>(good.begin(), good.end() - 1), "cut");
  expect_bad(std::vector<uint8_t>(good.begin(), good.begin() + 27 + 10), "short tail");
  std::vector<uint8_t> b = good;
  b[3] = 21;  // total below the fixed part
  expect_bad(b, "small total");
  b = good;
  b[2] = 1;  // total beyond the bytes left
  expect_bad(b, "large total");
  b = good;
  b[0] = 0x80;  // negative total
  expect_bad(b, "negative total");
  b = good;
  b[16] = 0xFF;  // negative body length
  expect_bad(b, "negative body");
  b = good;
  b[19] = 6;  // body length beyond the total
  expect_bad(b, "long body");
  b = good;
  b[19] = 1;  // body 1 byte: properties length then read from the wrong place
  expect_bad(b, "short body");
  b = good;
  b[23] = 2;  // properties length 2, total says 3
  expect_bad(b, "props mismatch");
  b = good;
  b[22] = 0x80;  // negative properties length
  expect_bad(b, "negative props");
}

}  // namespace
}  // namespace apogee::protocol
