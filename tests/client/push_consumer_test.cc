// The push consumer against a scripted broker on the simulator: clustering consumption with
// offsets committed, two consumers splitting the queues, send-back on RECONSUME_LATER, orderly
// consumption under locks, and tag filtering.

#include "core/client/push_consumer.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/client/fake_cluster.h"

namespace apogee::client_test {
namespace {

using client::ClientConfig;
using client::ClientInstance;
using client::ConsumeConcurrentlyContext;
using client::ConsumeConcurrentlyStatus;
using client::ConsumeOrderlyContext;
using client::ConsumeOrderlyStatus;
using client::MessageExt;
using client::PushConsumer;
using client::PushConsumerConfig;

std::shared_ptr<ClientInstance> Instance(io::Env& env, const std::string& name) {
  ClientConfig config;
  config.namesrv_addrs = {"10.0.0.10:9876"};
  config.client_ip = "10.0.0.1";
  config.instance_name = name;
  return std::make_shared<ClientInstance>(env, config);
}

PushConsumerConfig Config() {
  PushConsumerConfig c;
  c.group = "G";
  c.consume_from_where = protocol::ConsumeFromWhere::kFirstOffset;
  c.consume_fibers = 4;
  return c;
}

void WaitFor(io::Env& env, const std::function<bool()>& done, Duration limit = 120s) {
  Instant end = env.clock.Now() + limit;
  while (!done() && env.clock.Now() < end) env.scheduler.Sleep(100ms);
}

TEST(PushConsumerTest, ClusteringConsumesEverythingAndCommitsOffsets) {
  // Proves: every stored message reaches the listener once, and the committed offsets reach
  // the end of each queue.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a"}, 2);
    for (int q = 0; q < 2; ++q) {
      for (int i = 0; i < 40; ++i) c.broker("broker-a").Store("T", q, fmt::format("{}-{}", q, i));
    }
    std::multiset<std::string> seen;
    PushConsumer consumer(Instance(env, "one"), Config());
    ASSERT_TRUE(consumer.Subscribe("T", "*").ok());
    consumer.RegisterListener(client::ConcurrentListener(
        [&](const std::vector<MessageExt>& msgs, ConsumeConcurrentlyContext&) {
          for (const auto& m : msgs) seen.insert(std::string(m.body.begin(), m.body.end()));
          return ConsumeConcurrentlyStatus::kConsumeSuccess;
        }));
    ASSERT_TRUE(consumer.Start().ok());
    WaitFor(env, [&] { return seen.size() >= 80; });
    env.scheduler.Sleep(6s);  // one offset persist round
    EXPECT_EQ(seen.size(), 80u);
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 80u);
    EXPECT_EQ(consumer.AssignedQueues().size(), 2u);
    EXPECT_EQ((c.broker("broker-a").committed[{"T", 0}]), 40);
    EXPECT_EQ((c.broker("broker-a").committed[{"T", 1}]), 40);
    consumer.Shutdown();
    EXPECT_EQ(c.broker("broker-a").Count(protocol::request::kUnregisterClient), 1u);
  });
}

TEST(PushConsumerTest, TwoClusteringConsumersSplitTheQueues) {
  // Proves: two clients of one group serve disjoint queues that cover the topic, and together
  // see every message.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a", "broker-b"}, 2);
    for (const char* b : {"broker-a", "broker-b"}) {
      for (int q = 0; q < 2; ++q) {
        for (int i = 0; i < 10; ++i) c.broker(b).Store("T", q, fmt::format("{}{}{}", b, q, i));
      }
    }
    std::map<std::string, int> seen;
    auto listener = [&](const std::vector<MessageExt>& msgs, ConsumeConcurrentlyContext&) {
      for (const auto& m : msgs) seen[std::string(m.body.begin(), m.body.end())]++;
      return ConsumeConcurrentlyStatus::kConsumeSuccess;
    };
    PushConsumer one(Instance(env, "one"), Config());
    PushConsumer two(Instance(env, "two"), Config());
    for (PushConsumer* p : {&one, &two}) {
      ASSERT_TRUE(p->Subscribe("T", "*").ok());
      p->RegisterListener(client::ConcurrentListener(listener));
      ASSERT_TRUE(p->Start().ok());
    }
    WaitFor(env, [&] {
      return one.AssignedQueues().size() == 2 && two.AssignedQueues().size() == 2 &&
             seen.size() == 40;
    });
    std::set<client::MessageQueue> all = one.AssignedQueues();
    for (const auto& q : two.AssignedQueues()) EXPECT_TRUE(all.insert(q).second) << q.ToString();
    EXPECT_EQ(all.size(), 4u);
    EXPECT_EQ(seen.size(), 40u);
  });
}

TEST(PushConsumerTest, ReconsumeLaterSendsTheMessageBack) {
  // Proves: RECONSUME_LATER sends CONSUMER_SEND_MSG_BACK with the commit log offset, and the
  // queue's offset still moves past the message.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a"}, 1);
    c.broker("broker-a").Store("T", 0, "fail-me");
    c.broker("broker-a").Store("T", 0, "fine");
    int calls = 0;
    PushConsumer consumer(Instance(env, "one"), Config());
    ASSERT_TRUE(consumer.Subscribe("T", "*").ok());
    consumer.RegisterListener(client::ConcurrentListener(
        [&](const std::vector<MessageExt>& msgs, ConsumeConcurrentlyContext&) {
          calls++;
          bool fail = std::string(msgs[0].body.begin(), msgs[0].body.end()) == "fail-me";
          return fail ? ConsumeConcurrentlyStatus::kReconsumeLater
                      : ConsumeConcurrentlyStatus::kConsumeSuccess;
        }));
    ASSERT_TRUE(consumer.Start().ok());
    WaitFor(env, [&] {
      return c.broker("broker-a").Count(protocol::request::kConsumerSendMsgBack) > 0;
    });
    env.scheduler.Sleep(6s);
    ASSERT_EQ(c.broker("broker-a").Count(protocol::request::kConsumerSendMsgBack), 1u);
    for (const RemotingCommand& r : c.broker("broker-a").others) {
      if (r.code != protocol::request::kConsumerSendMsgBack) continue;
      auto h = protocol::ConsumerSendMsgBackRequestHeader::Decode(r.ext_fields);
      ASSERT_TRUE(h.ok());
      EXPECT_EQ(h->offset, 0);  // the first record's commit log offset
      EXPECT_EQ(h->group, "G");
      EXPECT_EQ(h->delay_level, 0);
    }
    EXPECT_EQ(calls, 2);
    EXPECT_EQ((c.broker("broker-a").committed[{"T", 0}]), 2);
  });
}

TEST(PushConsumerTest, OrderlyConsumesEachQueueInOrderUnderItsLock) {
  // Proves: orderly consumption locks its queues, sees each queue's messages in offset order,
  // retries a suspended message before moving on, and unlocks at shutdown.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a"}, 2);
    for (int q = 0; q < 2; ++q) {
      for (int i = 0; i < 20; ++i) c.broker("broker-a").Store("T", q, std::to_string(i));
    }
    std::map<int32_t, std::vector<int64_t>> order;
    bool suspended_once = false;
    PushConsumer consumer(Instance(env, "one"), Config());
    ASSERT_TRUE(consumer.Subscribe("T", "*").ok());
    consumer.RegisterListener(
        client::OrderlyListener([&](const std::vector<MessageExt>& msgs, ConsumeOrderlyContext&) {
          if (msgs[0].queue_id == 1 && msgs[0].queue_offset == 5 && !suspended_once) {
            suspended_once = true;
            return ConsumeOrderlyStatus::kSuspendCurrentQueueAMoment;
          }
          for (const auto& m : msgs) order[m.queue_id].push_back(m.queue_offset);
          return ConsumeOrderlyStatus::kSuccess;
        }));
    ASSERT_TRUE(consumer.Start().ok());
    WaitFor(env, [&] { return order[0].size() == 20 && order[1].size() == 20; });
    for (int q = 0; q < 2; ++q) {
      ASSERT_EQ(order[q].size(), 20u);
      for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(order[q][static_cast<size_t>(i)], i);
    }
    EXPECT_TRUE(suspended_once);
    EXPECT_GE(c.broker("broker-a").Count(protocol::request::kLockBatchMq), 2u);
    consumer.Shutdown();
    EXPECT_GE(c.broker("broker-a").Count(protocol::request::kUnlockBatchMq), 1u);
    EXPECT_EQ((c.broker("broker-a").committed[{"T", 1}]), 20);
  });
}

TEST(PushConsumerTest, TagExpressionFiltersMessages) {
  // Proves: only messages whose tag is in the expression reach the listener, and the offset
  // still covers the skipped ones.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a"}, 1);
    for (int i = 0; i < 9; ++i) {
      c.broker("broker-a")
          .Store("T", 0, std::to_string(i), i % 3 == 0 ? "A" : (i % 3 == 1 ? "B" : "C"));
    }
    std::vector<std::string> tags;
    PushConsumer consumer(Instance(env, "one"), Config());
    ASSERT_TRUE(consumer.Subscribe("T", "A || C").ok());
    consumer.RegisterListener(client::ConcurrentListener(
        [&](const std::vector<MessageExt>& msgs, ConsumeConcurrentlyContext&) {
          for (const auto& m : msgs) tags.push_back(m.Tags());
          return ConsumeConcurrentlyStatus::kConsumeSuccess;
        }));
    ASSERT_TRUE(consumer.Start().ok());
    WaitFor(env, [&] { return tags.size() >= 6; });
    env.scheduler.Sleep(6s);
    EXPECT_EQ(tags.size(), 6u);
    for (const auto& t : tags) EXPECT_NE(t, "B");
    EXPECT_EQ((c.broker("broker-a").committed[{"T", 0}]), 9);
  });
}

}  // namespace
}  // namespace apogee::client_test
