#pragma once

// Latency-based broker avoidance (RocketMQ's MQFaultStrategy and LatencyFaultToleranceImpl).
//
// After every send the producer reports the broker and the send's latency; a failed send counts
// as an isolation (a 30 s latency). A latency at or above latencyMax[i] makes the broker
// unavailable for notAvailableDuration[i]:
//   latency  >= 50ms 100ms 550ms 1s  2s   3s   15s
//   avoided     0    0     30s   60s 120s 180s 600s
// Selection (when enabled) walks the round-robin order for a queue whose broker is available;
// when none is, it takes the least-bad broker (PickOneAtLeast) and retargets the next queue to
// it. Disabled by default, as RocketMQ's sendLatencyFaultEnable.
//
// Invariants: items_ holds one entry per broker reported since its last Remove(); an entry is
// available once `now >= available_at`.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/time.h"
#include "core/client/route.h"
#include "core/io/random.h"

namespace apogee::client {

class LatencyFaultTolerance {
 public:
  struct Item {
    Duration latency{};
    Instant available_at{};
  };

  explicit LatencyFaultTolerance(bool enabled) : enabled_(enabled) {}

  bool enabled() const { return enabled_; }

  // How long a broker is avoided after a send that took `latency`.
  static Duration NotAvailableDuration(Duration latency);

  // Records a send to `broker` that took `latency` (or failed, when `isolation`). No effect
  // when disabled.
  void Update(const std::string& broker, Duration latency, bool isolation, Instant now);
  // True when `broker` has no entry or its avoidance period has passed.
  bool IsAvailable(std::string_view broker, Instant now) const;
  void Remove(std::string_view broker);
  // The least-bad broker: items sorted by (available first, lower latency, sooner available),
  // then one of the better half in turn. nullopt when there are no items.
  std::optional<std::string> PickOneAtLeast(Instant now);

  // The queue for the next attempt: see the header comment. `last_broker` is the broker of the
  // previous failed attempt of this send, if any. REQUIRES: info.ok().
  MessageQueue SelectOneMessageQueue(TopicPublishInfo& info,
                                     std::optional<std::string_view> last_broker, Instant now);

  const std::map<std::string, Item, std::less<>>& items() const { return items_; }

 private:
  bool enabled_;
  std::map<std::string, Item, std::less<>> items_;
  uint32_t which_item_worst_ = 0;
};

}  // namespace apogee::client
