#pragma once

// Queue allocation strategies for clustering consumers (RocketMQ's AllocateMessageQueueStrategy).
// Every consumer of a group computes its own share from the same inputs, the topic's queues and
// the group's client ids both sorted, so together they cover every queue exactly once as long
// as they agree on the inputs. A strategy is a pure function: no clock, no randomness.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol/bodies.h"

namespace apogee::client {

using protocol::MessageQueue;

class AllocateStrategy {
 public:
  virtual ~AllocateStrategy() = default;
  virtual std::string_view name() const = 0;
  // The queues `current_id` should serve. REQUIRES: `queues` and `client_ids` sorted, without
  // duplicates. A client id missing from `client_ids` (the broker does not know it yet) gets
  // nothing.
  virtual std::vector<MessageQueue> Allocate(std::string_view current_id,
                                             const std::vector<MessageQueue>& queues,
                                             const std::vector<std::string>& client_ids) const = 0;
};

// Contiguous ranges: with q queues and c clients, the first q % c clients take q / c + 1 queues
// and the rest q / c, in client order ("AVG").
class AllocateAveragely final : public AllocateStrategy {
 public:
  std::string_view name() const override { return "AVG"; }
  std::vector<MessageQueue> Allocate(std::string_view current_id,
                                     const std::vector<MessageQueue>& queues,
                                     const std::vector<std::string>& client_ids) const override;
};

// Round robin: queue i goes to client i % c ("AVG_BY_CIRCLE").
class AllocateAveragelyByCircle final : public AllocateStrategy {
 public:
  std::string_view name() const override { return "AVG_BY_CIRCLE"; }
  std::vector<MessageQueue> Allocate(std::string_view current_id,
                                     const std::vector<MessageQueue>& queues,
                                     const std::vector<std::string>& client_ids) const override;
};

// A hash ring with `virtual_nodes` points per client; a queue goes to the first point at or
// after its own hash (wrapping). Hashes are 64-bit FNV-1a of "clientId#i" and of the queue's
// ToString(), so a client joining or leaving moves only the queues next to its points
// ("CONSISTENT_HASH"; RocketMQ hashes with MD5, so the assignment differs from Java's).
class AllocateConsistentHash final : public AllocateStrategy {
 public:
  explicit AllocateConsistentHash(int virtual_nodes = 10);
  std::string_view name() const override { return "CONSISTENT_HASH"; }
  std::vector<MessageQueue> Allocate(std::string_view current_id,
                                     const std::vector<MessageQueue>& queues,
                                     const std::vector<std::string>& client_ids) const override;

 private:
  int virtual_nodes_;
};

// 64-bit FNV-1a.
uint64_t Fnv1a64(std::string_view data);

// The strategy named `name` (AVG, AVG_BY_CIRCLE, CONSISTENT_HASH), or nullptr.
std::shared_ptr<const AllocateStrategy> MakeAllocateStrategy(std::string_view name);

}  // namespace apogee::client
