// Latency fault tolerance: RocketMQ's avoidance table, isolation, availability over time,
// least-bad choice, and queue selection with and without the feature.

#include "core/client/latency_fault.h"

#include <gtest/gtest.h>

namespace apogee::client {
namespace {

TopicPublishInfo TwoBrokers() {
  TopicRouteData route;
  for (const char* name : {"a", "b"}) {
    route.queue_datas.push_back({name, 2, 2, 6, 0});
    protocol::BrokerData bd;
    bd.broker_name = name;
    bd.broker_addrs[0] = std::string(name) + ":1";
    route.broker_datas.push_back(bd);
  }
  return BuildPublishInfo("T", route, 0);
}

TEST(LatencyFaultTest, AvoidanceFollowsRocketMqTable) {
  // Proves: the latency -> not-available table of MQFaultStrategy.
  using L = LatencyFaultTolerance;
  EXPECT_EQ(L::NotAvailableDuration(10ms), 0s);
  EXPECT_EQ(L::NotAvailableDuration(549ms), 0s);
  EXPECT_EQ(L::NotAvailableDuration(550ms), 30s);
  EXPECT_EQ(L::NotAvailableDuration(1s), 60s);
  EXPECT_EQ(L::NotAvailableDuration(2500ms), 120s);
  EXPECT_EQ(L::NotAvailableDuration(3s), 180s);
  EXPECT_EQ(L::NotAvailableDuration(15s), 600s);
  EXPECT_EQ(L::NotAvailableDuration(30s), 600s);
}

TEST(LatencyFaultTest, IsolationAvoidsTheBrokerForItsPeriod) {
  // Proves: a failure (isolation = 30 s latency) avoids the broker 600 s, then frees it.
  LatencyFaultTolerance f(true);
  Instant t0 = InstantFromNanos(0);
  f.Update("a", 5ms, true, t0);
  EXPECT_FALSE(f.IsAvailable("a", t0 + 599s));
  EXPECT_TRUE(f.IsAvailable("a", t0 + 600s));
  EXPECT_TRUE(f.IsAvailable("b", t0));
  f.Update("b", 700ms, false, t0);
  EXPECT_FALSE(f.IsAvailable("b", t0 + 29s));
  EXPECT_TRUE(f.IsAvailable("b", t0 + 30s));
  f.Update("b", 10ms, false, t0);
  EXPECT_TRUE(f.IsAvailable("b", t0));
}

TEST(LatencyFaultTest, DisabledRecordsNothing) {
  // Proves: with the feature off no broker is ever avoided.
  LatencyFaultTolerance f(false);
  f.Update("a", 5ms, true, InstantFromNanos(0));
  EXPECT_TRUE(f.items().empty());
  EXPECT_TRUE(f.IsAvailable("a", InstantFromNanos(0)));
}

TEST(LatencyFaultTest, SelectionSkipsUnavailableBrokers) {
  // Proves: enabled selection never picks an avoided broker while another is available.
  LatencyFaultTolerance f(true);
  TopicPublishInfo info = TwoBrokers();
  Instant t0 = InstantFromNanos(0);
  f.Update("a", 0ms, true, t0);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(f.SelectOneMessageQueue(info, std::nullopt, t0).broker_name, "b");
  }
}

TEST(LatencyFaultTest, AllUnavailablePicksTheLeastBad) {
  // Proves: when every broker is avoided, the one with the lower latency is taken.
  LatencyFaultTolerance f(true);
  TopicPublishInfo info = TwoBrokers();
  Instant t0 = InstantFromNanos(0);
  f.Update("a", 20s, false, t0);
  f.Update("b", 600ms, false, t0);
  EXPECT_EQ(f.PickOneAtLeast(t0), "b");
  MessageQueue mq = f.SelectOneMessageQueue(info, std::nullopt, t0);
  EXPECT_EQ(mq.broker_name, "b");
  EXPECT_LT(mq.queue_id, 2);
}

TEST(LatencyFaultTest, PlainSelectionRoundRobinsAndAvoidsTheLastBroker) {
  // Proves: without the feature, selection is round robin and a retry leaves the failed broker.
  LatencyFaultTolerance f(false);
  TopicPublishInfo info = TwoBrokers();
  std::vector<std::string> seen;
  for (int i = 0; i < 4; ++i) {
    MessageQueue mq = f.SelectOneMessageQueue(info, std::nullopt, InstantFromNanos(0));
    seen.push_back(mq.broker_name + std::to_string(mq.queue_id));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a0", "a1", "b0", "b1"}));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(f.SelectOneMessageQueue(info, "a", InstantFromNanos(0)).broker_name, "b");
  }
}

}  // namespace
}  // namespace apogee::client
