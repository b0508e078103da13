#include "core/client/allocate.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/base/assert.h"

namespace apogee::client {

namespace {

// The position of `current_id` in the sorted ids, or -1.
int64_t IndexOf(std::string_view current_id, const std::vector<std::string>& client_ids) {
  auto it = std::lower_bound(client_ids.begin(), client_ids.end(), current_id);
  if (it == client_ids.end() || *it != current_id) return -1;
  return it - client_ids.begin();
}

void CheckInputs(const std::vector<MessageQueue>& queues,
                 const std::vector<std::string>& client_ids) {
  APOGEE_ASSERT(std::is_sorted(queues.begin(), queues.end()));
  APOGEE_ASSERT(std::is_sorted(client_ids.begin(), client_ids.end()));
}

}  // namespace

uint64_t Fnv1a64(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : data) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::vector<MessageQueue> AllocateAveragely::Allocate(
    std::string_view current_id, const std::vector<MessageQueue>& queues,
    const std::vector<std::string>& client_ids) const {
  CheckInputs(queues, client_ids);
  std::vector<MessageQueue> out;
  int64_t index = IndexOf(current_id, client_ids);
  if (index < 0 || queues.empty()) return out;
  const auto q = static_cast<int64_t>(queues.size());
  const auto c = static_cast<int64_t>(client_ids.size());
  const int64_t base = q / c;
  const int64_t extra = q % c;  // the first `extra` clients take one more
  const int64_t count = base + (index < extra ? 1 : 0);
  const int64_t start = index * base + std::min(index, extra);
  for (int64_t i = 0; i < count; ++i) out.push_back(queues[static_cast<size_t>(start + i)]);
  APOGEE_ASSERT(start + count <= q);
  return out;
}

std::vector<MessageQueue> AllocateAveragelyByCircle::Allocate(
    std::string_view current_id, const std::vector<MessageQueue>& queues,
    const std::vector<std::string>& client_ids) const {
  CheckInputs(queues, client_ids);
  std::vector<MessageQueue> out;
  int64_t index = IndexOf(current_id, client_ids);
  if (index < 0) return out;
  for (size_t i = static_cast<size_t>(index); i < queues.size(); i += client_ids.size()) {
    out.push_back(queues[i]);
  }
  return out;
}

AllocateConsistentHash::AllocateConsistentHash(int virtual_nodes) : virtual_nodes_(virtual_nodes) {
  APOGEE_ASSERT(virtual_nodes >= 1);
}

std::vector<MessageQueue> AllocateConsistentHash::Allocate(
    std::string_view current_id, const std::vector<MessageQueue>& queues,
    const std::vector<std::string>& client_ids) const {
  CheckInputs(queues, client_ids);
  std::vector<MessageQueue> out;
  if (IndexOf(current_id, client_ids) < 0) return out;
  // The ring: hash -> client index. A collision keeps the smaller client index, so every
  // client computes the same ring.
  std::map<uint64_t, size_t> ring;
  for (size_t c = 0; c < client_ids.size(); ++c) {
    for (int v = 0; v < virtual_nodes_; ++v) {
      ring.emplace(Fnv1a64(fmt::format("{}#{}", client_ids[c], v)), c);
    }
  }
  for (const MessageQueue& mq : queues) {
    auto it = ring.lower_bound(Fnv1a64(mq.ToString()));
    if (it == ring.end()) it = ring.begin();
    if (client_ids[it->second] == current_id) out.push_back(mq);
  }
  return out;
}

std::shared_ptr<const AllocateStrategy> MakeAllocateStrategy(std::string_view name) {
  if (name == "AVG") return std::make_shared<AllocateAveragely>();
  if (name == "AVG_BY_CIRCLE") return std::make_shared<AllocateAveragelyByCircle>();
  if (name == "CONSISTENT_HASH") return std::make_shared<AllocateConsistentHash>();
  return nullptr;
}

}  // namespace apogee::client
