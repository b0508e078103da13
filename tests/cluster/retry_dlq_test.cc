// Retries and dead letters end to end: a concurrent listener that keeps answering RECONSUME_LATER
// for one message sees it again with reconsume times 1, 2, ... each after its delay level
// (3 + n: 10 s, 30 s, 1 m, ...), and past max_reconsume_times the broker puts it in
// %DLQ%{group}, after which the listener never sees it again.

#include <gtest/gtest.h>

#include "tests/cluster/cluster_fixture.h"

namespace apogee::cluster_test {
namespace {

class RetryDlqTest : public ClusterTest {};

// The default messageDelayLevel from level 3 on: 10s 30s 1m 2m.
constexpr Duration kRetryDelay[] = {10s, 30s, 60s, 120s};
constexpr Duration kLateMax = 1500ms;

TEST_F(RetryDlqTest, RedeliveredAtIncreasingDelaysThenDeadLettered) {
  // Proves: with max_reconsume_times 3 the poisoned message is delivered 4 times (reconsume
  // times 0..3), attempt n+1 no earlier than delay(level 3+n) after attempt n and at most 1.5 s
  // later; then it is in %DLQ%cg-retry (queue 0 of the broker that held it) with its key, and
  // for 10 more minutes the group never sees it again; the other messages are consumed once.
  constexpr int kMaxReconsume = 3;
  sim::ClusterSpec spec;
  spec.producers = 0;
  Build(spec);
  Start();
  NodeId consumer_id = AddConsumer(
      "c-retry",
      ConsumerSpec{
          .group = "cg-retry",
          .concurrent_status =
              [](const std::vector<MessageExt>& msgs) {
                for (const MessageExt& m : msgs) {
                  if (m.Keys() == "poison") return ConsumeConcurrentlyStatus::kReconsumeLater;
                }
                return ConsumeConcurrentlyStatus::kConsumeSuccess;
              },
          .tune = [](client::PushConsumerConfig& c) { c.max_reconsume_times = kMaxReconsume; }});
  world().Start(consumer_id);
  NodeId producer = AddProducer("p-retry");
  // A new group's retry topic is created by the broker at the consumer's first heartbeat, so
  // the consumer may learn its route only at its next route refresh (30 s); the timings below
  // are of a group whose retry queues are assigned.
  ASSERT_TRUE(RunUntil(
      [&] {
        client::PushConsumer* c = consumer(consumer_id);
        if (c == nullptr) return false;
        size_t retry_queues = 0;
        for (const MessageQueue& mq : c->AssignedQueues()) {
          retry_queues += mq.topic == "%RETRY%cg-retry";
        }
        return retry_queues == 2;  // one per broker
      },
      60s));
  for (const char* key : {"fine-1", "poison", "fine-2"}) {
    protocol::Message msg;
    msg.topic = cluster().spec().topic;
    msg.SetKeys(key);
    msg.body = {'r'};
    Send(producer, msg);
  }
  ASSERT_TRUE(RunUntil([&] { return SendsDone(producer); }, 10s));
  const sim::SendOp* poison_send = SendOf("poison");
  ASSERT_EQ(poison_send->outcome, sim::OpOutcome::kOk);
  const int poison_broker = poison_send->queue.broker_name == "broker-a" ? 0 : 1;
  const std::string dlq = "%DLQ%cg-retry";
  auto dead_lettered = [&] { return broker(poison_broker)->store().MaxOffset(dlq, 0) > 0; };
  // 10 + 30 + 60 s of delays, plus slack.
  ASSERT_TRUE(RunUntil(dead_lettered, 3min));
  const Instant dead_at = Now();
  RunFor(10min);

  std::vector<const sim::Delivery*> attempts = DeliveriesOf("cg-retry", "poison");
  ASSERT_EQ(attempts.size(), static_cast<size_t>(kMaxReconsume + 1));
  for (size_t n = 0; n < attempts.size(); ++n) {
    SCOPED_TRACE(n);
    EXPECT_EQ(attempts[n]->reconsume_times, static_cast<int32_t>(n));
    EXPECT_EQ(attempts[n]->consumer, "c-retry");
    if (n == 0) {
      // The first attempt comes from the topic itself; the retries from %RETRY%cg-retry.
      EXPECT_EQ(attempts[n]->queue, poison_send->queue);
      continue;
    }
    EXPECT_EQ(attempts[n]->queue.topic, "%RETRY%cg-retry");
    Instant due = attempts[n - 1]->at + kRetryDelay[n - 1];
    EXPECT_GE(attempts[n]->at, due) << "early by " << Ms(due - attempts[n]->at) << " ms";
    EXPECT_LE(attempts[n]->at, due + kLateMax) << "late by " << Ms(attempts[n]->at - due) << " ms";
  }
  // The last attempt's send-back went to the DLQ at once (no delay), and nothing after it.
  EXPECT_LE(dead_at - attempts.back()->at, 200ms);
  for (const char* key : {"fine-1", "fine-2"}) {
    std::vector<const sim::Delivery*> got = DeliveriesOf("cg-retry", key);
    ASSERT_EQ(got.size(), 1u) << key;
    EXPECT_EQ(got.front()->reconsume_times, 0);
  }

  // The dead letter: exactly one record, the poisoned message with its key and its count.
  EXPECT_EQ(broker(poison_broker)->store().MaxOffset(dlq, 0), 1);
  EXPECT_EQ(broker(1 - poison_broker)->store().MaxOffset(dlq, 0), -1);
  std::vector<MessageExt> dead = StoredMessages(poison_broker, dlq, 0);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead.front().Keys(), "poison");
  EXPECT_EQ(dead.front().reconsume_times, kMaxReconsume + 1);
  EXPECT_EQ(dead.front().Property(protocol::property::kRetryTopic), cluster().spec().topic);
  // A DLQ is write-only until an operator opens it (RocketMQ's PermName.PERM_WRITE).
  std::optional<protocol::TopicConfig> dlq_config = broker(poison_broker)->topics().Find(dlq);
  ASSERT_TRUE(dlq_config.has_value());
  EXPECT_EQ(dlq_config->perm, protocol::kPermWrite);
}

}  // namespace
}  // namespace apogee::cluster_test
