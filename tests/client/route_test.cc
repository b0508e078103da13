// Route data -> the producer's publish queues and the consumer's subscribe queues.

#include "core/client/route.h"

#include <gtest/gtest.h>

namespace apogee::client {
namespace {

protocol::BrokerData Broker(const std::string& name, bool master) {
  protocol::BrokerData bd;
  bd.broker_name = name;
  bd.broker_addrs[master ? 0 : 1] = name + ":10911";
  return bd;
}

TEST(RouteTest, PublishQueuesAreWritableQueuesOfBrokersWithAMaster) {
  // Proves: write queue counts, the WRITE perm bit and the master requirement, broker order.
  TopicRouteData route;
  route.queue_datas = {
      {"b", 8, 2, 6, 0}, {"a", 4, 3, 6, 0}, {"ro", 4, 4, 4, 0}, {"slave", 4, 4, 6, 0}};
  route.broker_datas = {Broker("a", true), Broker("b", true), Broker("ro", true),
                        Broker("slave", false)};
  TopicPublishInfo info = BuildPublishInfo("T", route, 0);
  std::vector<MessageQueue> want = {
      {"T", "a", 0}, {"T", "a", 1}, {"T", "a", 2}, {"T", "b", 0}, {"T", "b", 1}};
  EXPECT_EQ(info.queues, want);
  EXPECT_FALSE(info.order_topic);
  EXPECT_EQ(info.WriteQueueNums("b"), 2);
  EXPECT_EQ(info.WriteQueueNums("zz"), -1);
}

TEST(RouteTest, SubscribeQueuesAreReadableQueuesSorted) {
  // Proves: read queue counts, the READ perm bit (write-only queues are left out), sorted.
  TopicRouteData route;
  route.queue_datas = {{"b", 2, 8, 6, 0}, {"a", 1, 4, 4, 0}, {"wo", 4, 4, 2, 0}};
  route.broker_datas = {Broker("a", true), Broker("b", true), Broker("wo", true)};
  std::vector<MessageQueue> want = {{"T", "a", 0}, {"T", "b", 0}, {"T", "b", 1}};
  EXPECT_EQ(BuildSubscribeQueues("T", route), want);
}

TEST(RouteTest, OrderTopicConfDefinesTheQueues) {
  // Proves: orderTopicConf "a:2;b:1" gives exactly those queues, in that order.
  TopicRouteData route;
  route.order_topic_conf = "b:2;a:1;bad";
  TopicPublishInfo info = BuildPublishInfo("T", route, 0);
  EXPECT_TRUE(info.order_topic);
  std::vector<MessageQueue> want = {{"T", "b", 0}, {"T", "b", 1}, {"T", "a", 0}};
  EXPECT_EQ(info.queues, want);
}

TEST(RouteTest, MasterAddressComesFromBrokerIdZero) {
  // Proves: the master is broker id 0; a group with only a slave has none.
  TopicRouteData route;
  route.broker_datas = {Broker("a", true), Broker("s", false)};
  EXPECT_EQ(MasterAddress(route, "a"), "a:10911");
  EXPECT_FALSE(MasterAddress(route, "s").has_value());
  EXPECT_FALSE(MasterAddress(route, "x").has_value());
}

}  // namespace
}  // namespace apogee::client
