#pragma once

// What a client derives from a topic's route (TopicRouteData from GET_ROUTEINFO_BY_TOPIC):
// the queues a producer may write to (TopicPublishInfo) and the queues a consumer may read
// (the subscribe queues), as RocketMQ's MQClientInstance.topicRouteData2TopicPublishInfo and
// topicRouteData2TopicSubscribeInfo derive them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol/bodies.h"

namespace apogee::client {

using protocol::MessageQueue;
using protocol::TopicRouteData;

// The write queues of a topic and the producer's round-robin position over them.
// Invariants: every queue's broker is in the route with a master address (unless order_topic,
// where the operator's orderTopicConf is taken as given); queues are grouped by broker, brokers
// in name order.
struct TopicPublishInfo {
  std::string topic;
  bool order_topic = false;
  std::vector<MessageQueue> queues;
  TopicRouteData route;
  uint32_t send_which_queue = 0;  // round-robin counter, advanced by every selection

  bool ok() const { return !queues.empty(); }
  // The next queue in round-robin order, skipping queues of `last_broker` (the broker the
  // previous attempt failed on) when another broker has one. REQUIRES: ok().
  MessageQueue SelectOne(std::optional<std::string_view> last_broker);
  // The write queue count of `broker_name` in the route, or -1 when the broker has none.
  int32_t WriteQueueNums(std::string_view broker_name) const;
};

// The publish info of `topic` from its route. A route with orderTopicConf ("brokerA:4;brokerB:8")
// gives exactly those queues; otherwise every writable queue of every broker that has a master.
// `start` seeds the round-robin counter (RocketMQ starts it at a random value).
TopicPublishInfo BuildPublishInfo(const std::string& topic, const TopicRouteData& route,
                                  uint32_t start);

// The readable queues of `topic`, sorted (the order rebalance allocates over).
std::vector<MessageQueue> BuildSubscribeQueues(const std::string& topic,
                                               const TopicRouteData& route);

// The master address of `broker_name` in `route`, if the route names one.
std::optional<std::string> MasterAddress(const TopicRouteData& route, std::string_view broker_name);

}  // namespace apogee::client
