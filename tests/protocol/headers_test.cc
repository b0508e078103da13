#include "core/protocol/headers.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <string>

#include "core/protocol/codes.h"
#include "core/remoting/command.h"

namespace apogee::protocol {
namespace {

// A SEND_MESSAGE_V2 JSON header as ali-ons sends it: numbers and booleans as JSON values, short
// keys a..k, a signature the broker must ignore.
TEST(SendMessageHeaderTest, DecodesV2AsAliOnsSendsIt) {
  RemotingCommand cmd;
  ASSERT_TRUE(DecodeJsonHeader(R"({"code":310,"extFields":{"a":"PG","b":"TopicA","c":"TBW102",
      "d":4,"e":3,"f":0,"g":1700000000123,"h":0,"i":"TAGS\u0001tagA\u0002","j":0,"k":false,
      "Signature":"xyz"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON",
      "version":373})",
                               &cmd)
                  .ok());
  Result<SendMessageRequestHeader> h = SendMessageRequestHeader::Decode(cmd);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->producer_group, "PG");
  EXPECT_EQ(h->topic, "TopicA");
  EXPECT_EQ(h->default_topic_queue_nums, 4);
  EXPECT_EQ(h->queue_id, 3);
  EXPECT_EQ(h->born_timestamp, 1700000000123);
  EXPECT_EQ(h->properties, "TAGS\x01tagA\x02");
  EXPECT_FALSE(h->unit_mode);
  EXPECT_FALSE(h->batch);
  EXPECT_FALSE(h->max_reconsume_times.has_value());
}

TEST(MakeRequestTest, SendsTheBinaryHeaderAndItRoundTrips) {
  // Proves Apogee's clients speak the ROCKETMQ binary header, and that a request built by
  // MakeRequest reads back through the binary codec with every field intact.
  ExtFields f;
  SendMessageRequestHeader h;
  h.producer_group = "PG";
  h.topic = "TopicA";
  h.queue_id = 2;
  h.born_timestamp = 1700000000123;
  h.properties = std::string("KEYS\x01k1\x02", 8);
  h.Encode(f, /*short_names=*/true);
  RemotingCommand cmd = MakeRequest(request::kSendMessageV2, f);
  EXPECT_EQ(cmd.serialize_type, SerializeType::kRocketmq);
  RemotingCommand back;
  back.serialize_type = SerializeType::kRocketmq;
  ASSERT_TRUE(DecodeBinaryHeader(EncodeBinaryHeader(cmd), &back).ok());
  EXPECT_EQ(back, cmd);
  Result<SendMessageRequestHeader> d = SendMessageRequestHeader::Decode(back);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->topic, "TopicA");
  EXPECT_EQ(d->queue_id, 2);
  EXPECT_EQ(d->properties, h.properties);
}

TEST(SendMessageHeaderTest, LongNamesForSendMessageShortForV2) {
  SendMessageRequestHeader h;
  h.producer_group = "g";
  h.topic = "t";
  h.queue_id = 5;
  h.max_reconsume_times = 3;
  for (int32_t code :
       {request::kSendMessage, request::kSendMessageV2, request::kSendBatchMessage}) {
    RemotingCommand cmd;
    cmd.code = code;
    h.Encode(cmd.ext_fields, code != request::kSendMessage);
    EXPECT_EQ(cmd.ext_fields.count("topic"), code == request::kSendMessage ? 1u : 0u);
    Result<SendMessageRequestHeader> back = SendMessageRequestHeader::Decode(cmd);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->topic, "t");
    EXPECT_EQ(back->queue_id, 5);
    EXPECT_EQ(back->max_reconsume_times, 3);
  }
}

TEST(SendMessageHeaderTest, MissingRequiredFieldIsNamed) {
  RemotingCommand cmd;
  cmd.code = request::kSendMessageV2;
  cmd.ext_fields = {{"a", "g"}, {"c", "TBW102"}};
  Result<SendMessageRequestHeader> h = SendMessageRequestHeader::Decode(cmd);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(h.status().message().find("'b'"), std::string::npos) << h.status().ToString();
}

TEST(PullMessageHeaderTest, MalformedNumberIsAnError) {
  PullMessageRequestHeader h;
  h.consumer_group = "cg";
  h.topic = "t";
  ExtFields f;
  h.Encode(f);
  f["queueOffset"] = "12x";
  Result<PullMessageRequestHeader> back = PullMessageRequestHeader::Decode(f);
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.status().message().find("queueOffset"), std::string::npos);
  f["queueOffset"] = " 12 ";
  back = PullMessageRequestHeader::Decode(f);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->queue_offset, 12);
  f["queueId"] = "4294967296";  // does not fit an int32
  EXPECT_FALSE(PullMessageRequestHeader::Decode(f).ok());
}

RC_GTEST_PROP(PullMessageHeaderProp, RoundTrips, ()) {
  PullMessageRequestHeader h;
  h.consumer_group = *rc::gen::arbitrary<std::string>();
  h.topic = *rc::gen::arbitrary<std::string>();
  h.queue_id = *rc::gen::arbitrary<int32_t>();
  h.queue_offset = *rc::gen::arbitrary<int64_t>();
  h.max_msg_nums = *rc::gen::arbitrary<int32_t>();
  h.sys_flag = *rc::gen::arbitrary<int32_t>();
  h.commit_offset = *rc::gen::arbitrary<int64_t>();
  h.suspend_timeout_millis = *rc::gen::arbitrary<int64_t>();
  if (*rc::gen::arbitrary<bool>()) h.subscription = *rc::gen::arbitrary<std::string>();
  h.sub_version = *rc::gen::arbitrary<int64_t>();
  ExtFields f;
  h.Encode(f);
  Result<PullMessageRequestHeader> back = PullMessageRequestHeader::Decode(f);
  RC_ASSERT(back.ok());
  RC_ASSERT(back->consumer_group == h.consumer_group);
  RC_ASSERT(back->topic == h.topic);
  RC_ASSERT(back->queue_id == h.queue_id);
  RC_ASSERT(back->queue_offset == h.queue_offset);
  RC_ASSERT(back->max_msg_nums == h.max_msg_nums);
  RC_ASSERT(back->sys_flag == h.sys_flag);
  RC_ASSERT(back->commit_offset == h.commit_offset);
  RC_ASSERT(back->suspend_timeout_millis == h.suspend_timeout_millis);
  RC_ASSERT(back->subscription == h.subscription);
  RC_ASSERT(back->sub_version == h.sub_version);
}

// Every decoder survives any map of fields: it answers a header or an error, never aborts.
RC_GTEST_PROP(HeadersProp, AnyFieldsNeverCrash, ()) {
  const auto keys = rc::gen::element<std::string>(
      "a", "b", "c", "d", "e", "f", "g", "topic", "queueId", "queueOffset", "consumerGroup",
      "offset", "commitOffset", "maxMsgNums", "sysFlag", "brokerId", "timestamp", "group");
  const auto generated = *rc::gen::container<std::map<std::string, std::string>>(
      keys, rc::gen::oneOf(rc::gen::arbitrary<std::string>(),
                           rc::gen::map(rc::gen::arbitrary<int64_t>(),
                                        [](int64_t v) { return std::to_string(v); })));
  const ExtFields f = ExtFields::FromEntries({generated.begin(), generated.end()});
  RemotingCommand cmd;
  cmd.code = *rc::gen::element(request::kSendMessage, request::kSendMessageV2);
  cmd.ext_fields = f;
  (void)SendMessageRequestHeader::Decode(cmd);
  (void)PullMessageRequestHeader::Decode(f);
  (void)ConsumerSendMsgBackRequestHeader::Decode(f);
  (void)RegisterBrokerRequestHeader::Decode(f);
  Result<QueueRequestHeader> q = QueueRequestHeader::Decode(f);
  RC_ASSERT(q.ok() == (f.count("topic") == 1 && f.count("queueId") == 1 &&
                       ParseDecimal(f.at("queueId"), INT32_MIN, INT32_MAX).has_value()));
}

}  // namespace
}  // namespace apogee::protocol
