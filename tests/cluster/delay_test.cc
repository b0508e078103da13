// Delay levels end to end: a producer sends messages with DELAY levels 1..5 through two brokers;
// the consumer gets each no earlier than its store time plus its level's delay, and not much
// later (the schedule service wakes at the due time; the consumer's long poll wakes on arrival).

#include <gtest/gtest.h>

#include "tests/cluster/cluster_fixture.h"

namespace apogee::cluster_test {
namespace {

class DelayTest : public ClusterTest {};

// The default messageDelayLevel: 1s 5s 10s 30s 1m.
constexpr Duration kLevelDelay[] = {0s, 1s, 5s, 10s, 30s, 60s};
constexpr Duration kLateMax = 1500ms;

TEST_F(DelayTest, LevelsOneToFiveAreNeverEarlyAndBarelyLate) {
  // Proves: for levels 1..5 (twice each, sent at different moments), delivery >= original store
  // time + delay, and delivery <= that + 1.5 s; undelayed messages sent alongside come at once.
  sim::ClusterSpec spec;
  spec.producers = 0;
  Build(spec);
  Start();
  NodeId consumer = AddConsumer("c-delay", ConsumerSpec{.group = "cg-delay"});
  world().Start(consumer);
  NodeId producer = AddProducer("p-delay");
  RunFor(3s);

  std::vector<std::pair<std::string, int>> sent;  // key, level
  for (int round = 0; round < 2; ++round) {
    for (int level = 0; level <= 5; ++level) {
      protocol::Message msg;
      msg.topic = cluster().spec().topic;
      std::string key = fmt::format("r{}-level{}", round, level);
      msg.SetKeys(key);
      msg.SetDelayLevel(level);
      msg.body = {'d'};
      Send(producer, msg);
      sent.emplace_back(key, level);
    }
    RunFor(2700ms);  // the second round's store times fall elsewhere in the second
  }
  ASSERT_TRUE(RunUntil([&] { return SendsDone(producer); }, 10s));
  ASSERT_TRUE(RunUntil(
      [&] {
        for (const auto& [key, level] : sent) {
          if (DeliveriesOf("cg-delay", key).empty()) return false;
        }
        return true;
      },
      90s));

  for (const auto& [key, level] : sent) {
    SCOPED_TRACE(key);
    const sim::SendOp* send = SendOf(key);
    ASSERT_NE(send, nullptr);
    ASSERT_EQ(send->outcome, sim::OpOutcome::kOk) << send->error;
    std::vector<const sim::Delivery*> got = DeliveriesOf("cg-delay", key);
    ASSERT_EQ(got.size(), 1u);
    const sim::Delivery& d = *got.front();
    // The delivered copy keeps the destination the producer chose.
    EXPECT_EQ(d.queue, send->queue);
    if (level == 0) {
      EXPECT_LT(d.at - send->completed, 100ms);
      continue;
    }
    // The original's store time: the record waiting in SCHEDULE_TOPIC_XXXX queue level-1 of
    // the broker the producer sent it to.
    int broker_index = send->queue.broker_name == "broker-a" ? 0 : 1;
    std::vector<MessageExt> waiting =
        StoredMessages(broker_index, "SCHEDULE_TOPIC_XXXX", level - 1);
    const MessageExt* original = nullptr;
    for (const MessageExt& m : waiting) {
      if (m.Keys() == key) original = &m;
    }
    ASSERT_NE(original, nullptr) << "not in the schedule queue of level " << level;
    Instant stored = FromWallMs(original->store_timestamp);
    Instant due = stored + kLevelDelay[level];
    EXPECT_GE(stored, send->invoked - 1ms);  // ms-truncated store stamp
    EXPECT_LE(stored, send->completed);
    EXPECT_GE(d.at, due) << "early by " << Ms(due - d.at) << " ms";
    EXPECT_LE(d.at, due + kLateMax) << "late by " << Ms(d.at - due) << " ms";
  }
}

}  // namespace
}  // namespace apogee::cluster_test
