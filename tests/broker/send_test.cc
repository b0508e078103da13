// SEND_MESSAGE, SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE through a real connection to a broker on
// the simulator: what is stored, what is answered, and every refusal.

#include <gtest/gtest.h>

#include "core/store/message_record.h"
#include "tests/broker/broker_test_util.h"

namespace apogee::broker::testing {
namespace {

std::string Props(std::vector<std::pair<std::string, std::string>> kv) {
  return store::EncodeProperties(kv);
}

TEST(BrokerSendTest, SendStoresTheMessageAndAnswersItsPlace) {
  // Proves a V2 send is stored in the asked queue with the producer's fields, the peer as born
  // host and the broker as store host, and that the answer's msgId is the record's offsetMsgId.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 4);
    auto first = c.SendOk("T", 2, "hello", Props({{"TAGS", "a"}, {"KEYS", "k1"}}));
    auto second = c.SendOk("T", 2, "world");
    EXPECT_EQ(first.queue_id, 2);
    EXPECT_EQ(first.queue_offset, 0);
    EXPECT_EQ(second.queue_offset, 1);
    Broker& b = rig.broker();
    EXPECT_EQ(b.store().MaxOffset("T", 2), 2);

    auto record = b.store().ReadRecordByOffsetMsgId(first.msg_id);
    ASSERT_TRUE(record.ok()) << record.status().ToString();
    auto messages = protocol::DecodeMessages(*record);
    ASSERT_TRUE(messages.ok());
    ASSERT_EQ(messages->size(), 1u);
    const protocol::MessageExt& m = messages->front();
    EXPECT_EQ(m.topic, "T");
    EXPECT_EQ(TestClient::BodyOf(m), "hello");
    EXPECT_EQ(m.Tags(), "a");
    EXPECT_EQ(m.born_timestamp, 1000);
    EXPECT_EQ(m.BornHost().substr(0, 9), "10.0.0.1:");
    EXPECT_EQ(m.StoreHost(), "10.0.0.2:10911");
    EXPECT_EQ(m.offset_msg_id, first.msg_id);
  });
}

TEST(BrokerSendTest, LongNamesOfSendMessageV1AreRead) {
  // Proves SEND_MESSAGE (code 10, long header names) is served like V2.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    RemotingCommand r = c.Send(TestClient::SendHeader("T", 0), "v1", request::kSendMessage);
    EXPECT_EQ(r.code, response::kSuccess) << r.remark.value_or("");
    EXPECT_EQ(rig.broker().store().MaxOffset("T", 0), 1);
  });
}

TEST(BrokerSendTest, BatchIsStoredTogetherAndAnswersEveryOffsetMsgId) {
  // Proves a SEND_BATCH_MESSAGE stores each message of its body with consecutive queue offsets,
  // and that msgId lists every record's offsetMsgId (each resolving to its message), also when
  // the batch crosses a commit log segment boundary.
  BrokerConfig config = BrokerRig::DefaultConfig();
  config.store.segment_bytes = 4096;
  config.store.message_bytes_max = 2048;
  BrokerRig rig(config);
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("B", 1);
    for (int round = 0; round < 4; round++) {
      std::vector<protocol::Message> batch;
      for (int i = 0; i < 10; i++) {
        protocol::Message m;
        m.body.assign(300, static_cast<uint8_t>('a' + i));
        m.SetUniqKey(fmt::format("u{}-{}", round, i));
        batch.push_back(m);
      }
      protocol::ExtFields f;
      auto h = TestClient::SendHeader("B", 0);
      h.batch = true;
      h.Encode(f, true);
      RemotingCommand r = c.Call(request::kSendBatchMessage, f, protocol::EncodeBatch(batch));
      ASSERT_EQ(r.code, response::kSuccess) << r.remark.value_or("");
      auto answer = protocol::SendMessageResponseHeader::Decode(r.ext_fields);
      ASSERT_TRUE(answer.ok());
      EXPECT_EQ(answer->queue_offset, round * 10);
      std::vector<std::string> ids;
      size_t pos = 0;
      while (pos <= answer->msg_id.size()) {
        size_t comma = answer->msg_id.find(',', pos);
        if (comma == std::string::npos) comma = answer->msg_id.size();
        ids.push_back(answer->msg_id.substr(pos, comma - pos));
        pos = comma + 1;
      }
      ASSERT_EQ(ids.size(), 10u);
      for (int i = 0; i < 10; i++) {
        auto record = rig.broker().store().ReadRecordByOffsetMsgId(ids[i]);
        ASSERT_TRUE(record.ok()) << "message " << i << ": " << record.status().ToString();
        auto m = protocol::DecodeMessages(*record);
        ASSERT_TRUE(m.ok());
        EXPECT_EQ(m->front().UniqKey(), fmt::format("u{}-{}", round, i));
        EXPECT_EQ(m->front().queue_offset, round * 10 + i);
      }
    }
    EXPECT_EQ(rig.broker().store().MaxOffset("B", 0), 40);
  });
}

TEST(BrokerSendTest, AutoCreateMakesTheTopicFromTbw102) {
  // Proves a send to an unknown topic creates it (min(client's 4, TBW102's 8) queues, perm
  // READ|WRITE without INHERIT) while autoCreateTopicEnable is on.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    auto tbw = rig.broker().topics().Find(protocol::kDefaultTopic);
    ASSERT_TRUE(tbw.has_value());
    EXPECT_EQ(tbw->perm, 7);
    c.SendOk("NewTopic", 1, "x");
    auto created = rig.broker().topics().Find("NewTopic");
    ASSERT_TRUE(created.has_value());
    EXPECT_EQ(created->write_queue_nums, 4);
    EXPECT_EQ(created->read_queue_nums, 4);
    EXPECT_EQ(created->perm, 6);
  });
}

TEST(BrokerSendTest, WithoutAutoCreateAnUnknownTopicIsTopicNotExist) {
  // Proves that with autoCreateTopicEnable off there is no TBW102 and a send to an unknown topic
  // is answered 17, and the topic is not created.
  BrokerConfig config = BrokerRig::DefaultConfig();
  config.auto_create_topic = false;
  BrokerRig rig(config);
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    EXPECT_FALSE(rig.broker().topics().Find(protocol::kDefaultTopic).has_value());
    RemotingCommand r = c.Send(TestClient::SendHeader("Nope", 0), "x");
    EXPECT_EQ(r.code, response::kTopicNotExist);
    EXPECT_FALSE(rig.broker().topics().Find("Nope").has_value());
    // An existing topic still works.
    c.CreateTopicOk("Yes", 1);
    c.SendOk("Yes", 0, "x");
  });
}

TEST(BrokerSendTest, PermissionsOfTopicAndBrokerAreEnforced) {
  // Proves NO_PERMISSION for a send to a read-only topic and to a send-forbidden system topic.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("RO", 1, protocol::kPermRead);
    EXPECT_EQ(c.Send(TestClient::SendHeader("RO", 0), "x").code, response::kNoPermission);
    EXPECT_EQ(c.Send(TestClient::SendHeader(protocol::kScheduleTopic, 0), "x").code,
              response::kNoPermission);
    EXPECT_EQ(rig.broker().store().MaxOffset("RO", 0), -1);
  });
  BrokerConfig config = BrokerRig::DefaultConfig();
  config.broker_permission = protocol::kPermRead;
  BrokerRig read_only(config);
  read_only.Run([&](io::Env& env) {
    ASSERT_TRUE(read_only.WaitUntilUp(env));
    TestClient c(env, read_only.address());
    c.CreateTopicOk("T", 1);
    EXPECT_EQ(c.Send(TestClient::SendHeader("T", 0), "x").code, response::kNoPermission);
  });
}

TEST(BrokerSendTest, QueueIdsOutOfRangeAreRefusedAndNegativeOnesPickAQueue) {
  // Proves a queue id >= max(read, write queues) is SYSTEM_ERROR (as RocketMQ's msgCheck), and a
  // negative one is stored in one of the topic's write queues.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("Q", 2);
    RemotingCommand r = c.Send(TestClient::SendHeader("Q", 2), "x");
    EXPECT_EQ(r.code, response::kSystemError);
    EXPECT_NE(r.remark.value_or("").find("queueId[2] is illegal"), std::string::npos);
    auto a = c.SendOk("Q", -1, "x");
    EXPECT_GE(a.queue_id, 0);
    EXPECT_LT(a.queue_id, 2);
  });
}

TEST(BrokerSendTest, MalformedHeaderIsAnsweredAndTheConnectionStaysUsable) {
  // Proves a send lacking required header fields, or with a non-numeric queue id, is answered
  // SYSTEM_ERROR naming the field, and the same connection then serves a good send.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    auto conn = c.Connection();
    RemotingCommand r = c.Call(request::kSendMessageV2, {{"b", "T"}});
    EXPECT_EQ(r.code, response::kSystemError);
    EXPECT_NE(r.remark.value_or("").find("lacks field"), std::string::npos);
    protocol::ExtFields f;
    TestClient::SendHeader("T", 0).Encode(f, true);
    f["e"] = "zero";
    r = c.Call(request::kSendMessageV2, f, {'x'});
    EXPECT_EQ(r.code, response::kSystemError);
    c.SendOk("T", 0, "fine");
    EXPECT_EQ(c.Connection(), conn);
    // A bad topic name is refused too.
    EXPECT_EQ(c.Send(TestClient::SendHeader("bad topic", 0), "x").code, response::kSystemError);
  });
}

TEST(BrokerSendTest, IllegalMessagesAreMessageIllegal) {
  // Proves a body over the store's maximum message size and properties over 32 KiB are answered
  // MESSAGE_ILLEGAL (13).
  BrokerConfig config = BrokerRig::DefaultConfig();
  config.store.message_bytes_max = 4096;
  BrokerRig rig(config);
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    EXPECT_EQ(c.Send(TestClient::SendHeader("T", 0), std::string(5000, 'x')).code,
              response::kMessageIllegal);
    std::string huge = Props({{"K", std::string(40000, 'v')}});
    EXPECT_EQ(c.Send(TestClient::SendHeader("T", 0, huge), "x").code, response::kMessageIllegal);
    EXPECT_EQ(rig.broker().store().MaxOffset("T", 0), -1);
  });
}

TEST(BrokerSendTest, RetryTopicSendOverMaxReconsumeGoesToTheDlq) {
  // Proves a send to %RETRY%g carrying reconsumeTimes >= maxReconsumeTimes is stored in %DLQ%g
  // (created write-only, one queue), and one below the limit stays in the retry topic.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    auto h = TestClient::SendHeader("%RETRY%g", 0);
    h.reconsume_times = 2;
    h.max_reconsume_times = 3;
    EXPECT_EQ(c.Send(h, "again").code, response::kSuccess);
    EXPECT_EQ(rig.broker().store().MaxOffset("%RETRY%g", 0), 1);
    h.reconsume_times = 3;
    RemotingCommand r = c.Send(h, "dead");
    ASSERT_EQ(r.code, response::kSuccess);
    EXPECT_EQ(rig.broker().store().MaxOffset("%DLQ%g", 0), 1);
    auto dlq = rig.broker().topics().Find("%DLQ%g");
    ASSERT_TRUE(dlq.has_value());
    EXPECT_EQ(dlq->perm, protocol::kPermWrite);
  });
}

TEST(BrokerSendTest, DelayedMessagesWaitInTheScheduleTopic) {
  // Proves a DELAY=2 (5 s) send is stored in SCHEDULE_TOPIC_XXXX queue 1, answered with the queue
  // asked for, not delivered early, and then delivered to its topic, where a long-polling pull
  // parked on the queue receives it.
  BrokerConfig config = BrokerRig::DefaultConfig();
  config.long_polling_check = 1s;
  BrokerRig rig(config);
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    TestClient consumer(env, rig.address());
    c.CreateTopicOk("T", 2);
    Instant sent = env.clock.Now();
    auto a = c.SendOk("T", 1, "later", Props({{"DELAY", "2"}, {"TAGS", "x"}}));
    EXPECT_EQ(a.queue_id, 1);
    EXPECT_EQ(rig.broker().store().MaxOffset(protocol::kScheduleTopic, 1), 1);
    EXPECT_EQ(rig.broker().store().MaxOffset("T", 1), -1);

    auto h = TestClient::PullHeader("T", 1, 0);
    h.sys_flag |= protocol::kPullFlagSuspend;
    h.suspend_timeout_millis = 30000;
    RemotingCommand r = consumer.Pull(h);
    Instant got = env.clock.Now();
    ASSERT_EQ(r.code, response::kSuccess) << r.remark.value_or("");
    EXPECT_GE(got - sent, 5s);
    EXPECT_LT(got - sent, 7s);
    auto m = TestClient::Messages(r);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(TestClient::BodyOf(m[0]), "later");
    EXPECT_EQ(m[0].Tags(), "x");
    EXPECT_FALSE(m[0].HasProperty("REAL_TOPIC"));
  });
}

TEST(BrokerSendTest, UnknownCodesAreNotSupported) {
  // Proves a request code the broker does not serve gets REQUEST_CODE_NOT_SUPPORTED.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    EXPECT_EQ(c.Call(999, {}).code, response::kRequestCodeNotSupported);
  });
}

}  // namespace
}  // namespace apogee::broker::testing
