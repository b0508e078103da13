#include "core/client/route.h"

#include <algorithm>
#include <charconv>

#include "core/base/assert.h"
#include "core/base/log.h"

namespace apogee::client {

namespace {

const protocol::BrokerData* FindBroker(const TopicRouteData& route, std::string_view name) {
  for (const protocol::BrokerData& b : route.broker_datas) {
    if (b.broker_name == name) return &b;
  }
  return nullptr;
}

// "brokerA:4;brokerB:8" -> queues; malformed entries are skipped with a warning.
std::vector<MessageQueue> QueuesFromOrderConf(const std::string& topic, std::string_view conf) {
  std::vector<MessageQueue> queues;
  while (!conf.empty()) {
    size_t end = conf.find(';');
    std::string_view item = conf.substr(0, end);
    conf = end == std::string_view::npos ? std::string_view() : conf.substr(end + 1);
    size_t colon = item.find(':');
    int32_t nums = 0;
    if (colon == std::string_view::npos) {
      LOG_WARN("orderTopicConf of {}: entry '{}' has no queue count", topic, item);
      continue;
    }
    std::string_view count = item.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(count.data(), count.data() + count.size(), nums);
    if (ec != std::errc() || ptr != count.data() + count.size() || nums < 0) {
      LOG_WARN("orderTopicConf of {}: entry '{}' has a bad queue count", topic, item);
      continue;
    }
    for (int32_t q = 0; q < nums; ++q) {
      queues.push_back(MessageQueue{topic, std::string(item.substr(0, colon)), q});
    }
  }
  return queues;
}

}  // namespace

MessageQueue TopicPublishInfo::SelectOne(std::optional<std::string_view> last_broker) {
  APOGEE_ASSERT(ok());
  const size_t n = queues.size();
  if (last_broker.has_value()) {
    for (size_t i = 0; i < n; ++i) {
      const MessageQueue& mq = queues[send_which_queue++ % n];
      if (mq.broker_name != *last_broker) return mq;
    }
  }
  return queues[send_which_queue++ % n];
}

int32_t TopicPublishInfo::WriteQueueNums(std::string_view broker_name) const {
  for (const protocol::QueueData& qd : route.queue_datas) {
    if (qd.broker_name == broker_name) return qd.write_queue_nums;
  }
  return -1;
}

TopicPublishInfo BuildPublishInfo(const std::string& topic, const TopicRouteData& route,
                                  uint32_t start) {
  TopicPublishInfo info;
  info.topic = topic;
  info.route = route;
  info.send_which_queue = start;
  if (route.order_topic_conf.has_value() && !route.order_topic_conf->empty()) {
    info.order_topic = true;
    info.queues = QueuesFromOrderConf(topic, *route.order_topic_conf);
    return info;
  }
  std::vector<protocol::QueueData> qds = route.queue_datas;
  std::sort(qds.begin(), qds.end(),
            [](const auto& a, const auto& b) { return a.broker_name < b.broker_name; });
  for (const protocol::QueueData& qd : qds) {
    if (!protocol::IsWriteable(qd.perm)) continue;
    const protocol::BrokerData* broker = FindBroker(route, qd.broker_name);
    // A broker group without a master takes no writes.
    if (broker == nullptr || !broker->MasterAddr().has_value()) continue;
    for (int32_t q = 0; q < qd.write_queue_nums; ++q) {
      info.queues.push_back(MessageQueue{topic, qd.broker_name, q});
    }
  }
  return info;
}

std::vector<MessageQueue> BuildSubscribeQueues(const std::string& topic,
                                               const TopicRouteData& route) {
  std::vector<MessageQueue> queues;
  for (const protocol::QueueData& qd : route.queue_datas) {
    if (!protocol::IsReadable(qd.perm)) continue;
    for (int32_t q = 0; q < qd.read_queue_nums; ++q) {
      queues.push_back(MessageQueue{topic, qd.broker_name, q});
    }
  }
  std::sort(queues.begin(), queues.end());
  queues.erase(std::unique(queues.begin(), queues.end()), queues.end());
  return queues;
}

std::optional<std::string> MasterAddress(const TopicRouteData& route,
                                         std::string_view broker_name) {
  const protocol::BrokerData* broker = FindBroker(route, broker_name);
  if (broker == nullptr) return std::nullopt;
  return broker->MasterAddr();
}

}  // namespace apogee::client
