#include "core/client/latency_fault.h"

#include <algorithm>
#include <array>
#include <vector>

#include "core/base/assert.h"

namespace apogee::client {

namespace {

// RocketMQ's MQFaultStrategy tables, in milliseconds.
constexpr std::array<int64_t, 7> kLatencyMaxMs = {50, 100, 550, 1000, 2000, 3000, 15000};
constexpr std::array<int64_t, 7> kNotAvailableMs = {0, 0, 30000, 60000, 120000, 180000, 600000};
constexpr Duration kIsolationLatency = 30s;

}  // namespace

Duration LatencyFaultTolerance::NotAvailableDuration(Duration latency) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(latency).count();
  for (size_t i = kLatencyMaxMs.size(); i-- > 0;) {
    if (ms >= kLatencyMaxMs[i]) return std::chrono::milliseconds(kNotAvailableMs[i]);
  }
  return Duration::zero();
}

void LatencyFaultTolerance::Update(const std::string& broker, Duration latency, bool isolation,
                                   Instant now) {
  if (!enabled_) return;
  Duration effective = isolation ? kIsolationLatency : latency;
  Item& item = items_[broker];
  item.latency = effective;
  item.available_at = now + NotAvailableDuration(effective);
}

bool LatencyFaultTolerance::IsAvailable(std::string_view broker, Instant now) const {
  auto it = items_.find(broker);
  return it == items_.end() || now >= it->second.available_at;
}

void LatencyFaultTolerance::Remove(std::string_view broker) {
  auto it = items_.find(broker);
  if (it != items_.end()) items_.erase(it);
}

std::optional<std::string> LatencyFaultTolerance::PickOneAtLeast(Instant now) {
  if (items_.empty()) return std::nullopt;
  std::vector<std::pair<std::string, Item>> sorted(items_.begin(), items_.end());
  // Deterministic: ties keep broker-name order (stable sort over the map's order).
  std::stable_sort(sorted.begin(), sorted.end(), [now](const auto& a, const auto& b) {
    bool a_ok = now >= a.second.available_at;
    bool b_ok = now >= b.second.available_at;
    if (a_ok != b_ok) return a_ok;
    if (a.second.latency != b.second.latency) return a.second.latency < b.second.latency;
    return a.second.available_at < b.second.available_at;
  });
  size_t half = sorted.size() / 2;
  if (half == 0) return sorted.front().first;
  return sorted[which_item_worst_++ % half].first;
}

MessageQueue LatencyFaultTolerance::SelectOneMessageQueue(
    TopicPublishInfo& info, std::optional<std::string_view> last_broker, Instant now) {
  APOGEE_ASSERT(info.ok());
  if (!enabled_) return info.SelectOne(last_broker);
  const size_t n = info.queues.size();
  for (size_t i = 0; i < n; ++i) {
    const MessageQueue& mq = info.queues[info.send_which_queue++ % n];
    if (IsAvailable(mq.broker_name, now)) return mq;
  }
  std::optional<std::string> least_bad = PickOneAtLeast(now);
  if (least_bad.has_value()) {
    int32_t write_queues = info.WriteQueueNums(*least_bad);
    if (write_queues > 0) {
      MessageQueue mq = info.SelectOne(std::nullopt);
      mq.broker_name = *least_bad;
      mq.queue_id = static_cast<int32_t>(info.send_which_queue++ % write_queues);
      return mq;
    }
    // The broker left the route: forget it.
    Remove(*least_bad);
  }
  return info.SelectOne(std::nullopt);
}

}  // namespace apogee::client
