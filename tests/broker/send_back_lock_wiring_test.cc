// CONSUMER_SEND_MSG_BACK and LOCK/UNLOCK_BATCH_MQ served by a running broker: the wiring of
// send_back.h, queue_lock_manager.h and the schedule service into the request handling.

#include <gtest/gtest.h>

#include "tests/broker/broker_test_util.h"

namespace apogee::broker::testing {
namespace {

RemotingCommand SendBack(TestClient& c, int64_t commit_log_offset, int32_t delay_level) {
  protocol::ConsumerSendMsgBackRequestHeader h;
  h.offset = commit_log_offset;
  h.group = "cg";
  h.delay_level = delay_level;
  h.max_reconsume_times = 16;
  protocol::ExtFields f;
  h.Encode(f);
  return c.Call(request::kConsumerSendMsgBack, f);
}

TEST(BrokerSendBackTest, SentBackMessagesReachTheRetryTopicAfterTheirDelayOrTheDlq) {
  // Proves a message sent back with delay level 0 lands in %RETRY%cg after level 3's 10 s (not
  // before), one sent back with level -1 goes to %DLQ%cg at once, and an offset holding no
  // record is SYSTEM_ERROR.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    auto first = c.SendOk("T", 0, "retry me");
    auto second = c.SendOk("T", 0, "bury me");
    auto first_id = store::ParseOffsetMsgId(first.msg_id);
    auto second_id = store::ParseOffsetMsgId(second.msg_id);
    ASSERT_TRUE(first_id.ok());
    ASSERT_TRUE(second_id.ok());

    Instant sent_back = env.clock.Now();
    ASSERT_EQ(SendBack(c, first_id->commit_log_offset, 0).code, response::kSuccess);
    ASSERT_EQ(SendBack(c, second_id->commit_log_offset, -1).code, response::kSuccess);
    EXPECT_EQ(rig.broker().store().MaxOffset("%DLQ%cg", 0), 1);
    EXPECT_EQ(SendBack(c, first_id->commit_log_offset + 1, 0).code, response::kSystemError);

    auto h = TestClient::PullHeader("%RETRY%cg", 0, 0);
    h.sys_flag |= protocol::kPullFlagSuspend;
    h.suspend_timeout_millis = 30000;
    RemotingCommand r = c.Pull(h);
    ASSERT_EQ(r.code, response::kSuccess) << r.remark.value_or("");
    EXPECT_GE(env.clock.Now() - sent_back, 10s);
    auto m = TestClient::Messages(r);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(TestClient::BodyOf(m[0]), "retry me");
    EXPECT_EQ(m[0].reconsume_times, 1);
    EXPECT_EQ(m[0].Property("RETRY_TOPIC"), "T");
  });
}

TEST(BrokerSendBackTest, QueueLocksAreGrantedToOneClientAtATime) {
  // Proves LOCK_BATCH_MQ grants a queue to the first client, refuses it to a second while held,
  // and grants it to the second after the first unlocks.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    protocol::MessageQueue mq{"T", "broker-a", 0};
    auto lock = [&](const std::string& client) {
      protocol::LockBatchRequestBody body{"cg", client, {mq}};
      std::string json = body.ToJson();
      RemotingCommand r =
          c.Call(request::kLockBatchMq, {}, std::vector<uint8_t>(json.begin(), json.end()));
      EXPECT_EQ(r.code, response::kSuccess);
      auto answer = protocol::LockBatchResponseBody::FromJson(
          std::string_view(reinterpret_cast<const char*>(r.body.data()), r.body.size()));
      EXPECT_TRUE(answer.ok());
      return answer.ok() ? answer->lock_ok_mq_set.size() : 0;
    };
    EXPECT_EQ(lock("a"), 1u);
    EXPECT_EQ(lock("b"), 0u);
    protocol::UnlockBatchRequestBody unlock{"cg", "a", {mq}};
    std::string json = unlock.ToJson();
    EXPECT_EQ(
        c.Call(request::kUnlockBatchMq, {}, std::vector<uint8_t>(json.begin(), json.end())).code,
        response::kSuccess);
    EXPECT_EQ(lock("b"), 1u);
  });
}

}  // namespace
}  // namespace apogee::broker::testing
