#include "scenarios/checkers_index.h"

#include <algorithm>
#include <bit>
#include <functional>

#include "core/base/assert.h"

namespace apogee::scenarios {

namespace {

const std::string kNoName;
// Up to this many queues, InternQueue scans them rather than searching the map.
constexpr size_t kQueueScanMax = 64;

}  // namespace

HistoryIndex::HistoryIndex(const sim::History& history) : history_(history) {
  const std::vector<sim::SendOp>& sends = history.sends;
  const std::vector<sim::Delivery>& deliveries = history.deliveries;
  // At most one key per send, delivery and DLQ record.
  const size_t keys_max = sends.size() + deliveries.size() + history.dlq.size();
  key_slots_.assign(std::bit_ceil(2 * keys_max + 2), 0);
  InternMember(kNoName);
  for (const sim::GroupInfo& g : history.groups) {
    const uint32_t id = InternGroup(g.name);
    if (info_.size() <= id) info_.resize(id + 1, nullptr);
    info_[id] = &g;  // the last of a name wins, as a map by name would keep
    for (const std::string& c : g.consumers) InternMember(c);
  }

  send_key_.reserve(sends.size());
  send_queue_.reserve(sends.size());
  for (const sim::SendOp& s : sends) {
    send_key_.push_back(InternKey(s.key));
    send_queue_.push_back(s.outcome == sim::OpOutcome::kOk ? InternQueue(s.queue) : kNone);
  }
  delivery_key_.reserve(deliveries.size());
  delivery_group_.reserve(deliveries.size());
  delivery_member_.reserve(deliveries.size());
  delivery_queue_.reserve(deliveries.size());
  for (const sim::Delivery& d : deliveries) {
    delivery_key_.push_back(InternKey(d.key));
    delivery_group_.push_back(InternGroup(d.group));
    delivery_member_.push_back(InternMember(d.consumer));
    delivery_queue_.push_back(InternQueue(d.queue));
  }
  for (const sim::DlqRecord& r : history.dlq) {
    dlq_key_.push_back(InternKey(r.key));
    dlq_group_.push_back(InternGroup(r.group));
  }
  for (const sim::OffsetCommit& c : history.commits) {
    commit_group_.push_back(InternGroup(c.group));
    commit_queue_.push_back(InternQueue(c.queue));
  }
  info_.resize(group_names_.size(), nullptr);

  const size_t keys = keys_.size();
  last_send_.assign(keys, kNone);
  acked_.assign(keys, 0);
  damaged_.assign(keys, 0);
  const bool refusals = history.audit.done && !history.audit.refused.empty();
  for (size_t i = 0; i < sends.size(); i++) {
    const sim::SendOp& s = sends[i];
    const uint32_t k = send_key_[i];
    last_send_[k] = static_cast<uint32_t>(i);
    if (s.outcome != sim::OpOutcome::kOk) continue;
    acked_[k] = 1;
    if (refusals && s.delay_level == 0 && history.audit.refused.count({s.queue, s.offset}) != 0) {
      damaged_[k] = 1;
    }
  }
  BuildArrivals();
  APOGEE_ASSERT(send_key_.size() == sends.size());
  APOGEE_ASSERT(delivery_key_.size() == deliveries.size());
}

size_t HistoryIndex::KeySlot(std::string_view key) const {
  const size_t mask = key_slots_.size() - 1;
  for (size_t slot = std::hash<std::string_view>{}(key)&mask;; slot = (slot + 1) & mask) {
    const uint32_t held = key_slots_[slot];
    if (held == 0 || keys_[held - 1] == key) return slot;
  }
}

uint32_t HistoryIndex::InternKey(std::string_view key) {
  const size_t slot = KeySlot(key);
  if (key_slots_[slot] == 0) {
    APOGEE_ASSERT(2 * (keys_.size() + 1) <= key_slots_.size());  // the table never fills
    keys_.push_back(key);
    key_slots_[slot] = static_cast<uint32_t>(keys_.size());
  }
  return key_slots_[slot] - 1;
}

uint32_t HistoryIndex::InternGroup(const std::string& name) {
  // Runs of records of one group are common: try the last one first.
  if (last_group_ != kNone && *group_names_[last_group_] == name) return last_group_;
  auto [it, inserted] = group_ids_.try_emplace(name, static_cast<uint32_t>(group_names_.size()));
  if (inserted) group_names_.push_back(&name);
  last_group_ = it->second;
  return it->second;
}

uint32_t HistoryIndex::InternMember(const std::string& name) {
  if (last_member_ != kNone && *member_names_[last_member_] == name) return last_member_;
  auto [it, inserted] = member_ids_.try_emplace(name, static_cast<uint32_t>(member_names_.size()));
  if (inserted) member_names_.push_back(&name);
  last_member_ = it->second;
  return it->second;
}

uint32_t HistoryIndex::InternQueue(const sim::MessageQueue& q) {
  // Runs of records from one queue are common (a batch of deliveries): try the last one first.
  if (last_queue_ != kNone && *queues_[last_queue_] == q) return last_queue_;
  // A run has a few dozen queues at most: a scan comparing the queue id first beats the map.
  if (queues_.size() <= kQueueScanMax) {
    for (uint32_t i = 0; i < queues_.size(); i++) {
      const sim::MessageQueue& known = *queues_[i];
      if (known.queue_id == q.queue_id && known.broker_name == q.broker_name &&
          known.topic == q.topic) {
        last_queue_ = i;
        return i;
      }
    }
  }
  auto [it, inserted] = queue_ids_.try_emplace(q, static_cast<uint32_t>(queues_.size()));
  if (inserted) queues_.push_back(&it->first);
  last_queue_ = it->second;
  return it->second;
}

uint32_t HistoryIndex::KeyId(std::string_view key) const {
  const uint32_t held = key_slots_[KeySlot(key)];
  return held == 0 ? kNone : held - 1;
}

uint32_t HistoryIndex::GroupId(std::string_view name) const {
  auto it = group_ids_.find(name);
  return it == group_ids_.end() ? kNone : it->second;
}

uint32_t HistoryIndex::MemberId(std::string_view name) const {
  auto it = member_ids_.find(name);
  return it == member_ids_.end() ? kNone : it->second;
}

uint32_t HistoryIndex::QueueId(const sim::MessageQueue& q) const {
  auto it = queue_ids_.find(q);
  return it == queue_ids_.end() ? kNone : it->second;
}

std::span<const HistoryIndex::Arrival> HistoryIndex::Arrivals(uint32_t group, uint32_t key) const {
  APOGEE_ASSERT(group < group_names_.size());
  APOGEE_ASSERT(key < keys_.size());
  const size_t slot = static_cast<size_t>(group) * keys_.size() + key;
  return std::span<const Arrival>(arrivals_.data() + arrivals_begin_[slot],
                                  arrivals_begin_[slot + 1] - arrivals_begin_[slot]);
}

// What a group got (checkers.h): a clustering group's deliveries whose listener succeeded, every
// delivery of a broadcasting group, and each group's DLQ records (as member ""); per member, the
// first record in history order. A counting sort by (group, key) keeps history order within each
// slot, so the first record of a member in its slot is its first arrival.
void HistoryIndex::BuildArrivals() {
  const std::vector<sim::Delivery>& deliveries = history_.deliveries;
  const size_t keys = keys_.size();
  const size_t slots = group_names_.size() * keys;
  auto counts = [&](size_t d) {
    return broadcasting(delivery_group_[d]) || deliveries[d].outcome == sim::ConsumeOutcome::kOk;
  };
  std::vector<uint32_t> fill(slots + 1, 0);
  for (size_t d = 0; d < deliveries.size(); d++) {
    if (counts(d)) fill[delivery_group_[d] * keys + delivery_key_[d] + 1]++;
  }
  for (size_t r = 0; r < history_.dlq.size(); r++) fill[dlq_group_[r] * keys + dlq_key_[r] + 1]++;
  for (size_t s = 1; s <= slots; s++) fill[s] += fill[s - 1];
  arrivals_begin_ = fill;  // where each slot begins; `fill` becomes where its next record goes
  arrivals_.resize(fill[slots]);
  for (size_t d = 0; d < deliveries.size(); d++) {
    if (!counts(d)) continue;
    arrivals_[fill[delivery_group_[d] * keys + delivery_key_[d]]++] =
        Arrival{delivery_member_[d], deliveries[d].at};
  }
  for (size_t r = 0; r < history_.dlq.size(); r++) {
    arrivals_[fill[dlq_group_[r] * keys + dlq_key_[r]]++] = Arrival{kNoMember, history_.dlq[r].at};
  }
  // Keep each member's first record per slot, compacting in place (`out` never passes the
  // record being read). Slots are small (one message's records in one group): an insertion sort
  // by member, stable, keeps them in history order per member without allocating.
  size_t out = 0;
  for (size_t s = 0; s < slots; s++) {
    const size_t begin = arrivals_begin_[s];
    const size_t end = arrivals_begin_[s + 1];
    arrivals_begin_[s] = static_cast<uint32_t>(out);
    for (size_t i = begin + 1; i < end; i++) {
      const Arrival a = arrivals_[i];
      size_t j = i;
      for (; j > begin && arrivals_[j - 1].member > a.member; j--) arrivals_[j] = arrivals_[j - 1];
      arrivals_[j] = a;
    }
    uint32_t previous = kNone;
    for (size_t i = begin; i < end; i++) {
      if (arrivals_[i].member == previous) continue;
      previous = arrivals_[i].member;
      arrivals_[out++] = arrivals_[i];
    }
  }
  arrivals_begin_[slots] = static_cast<uint32_t>(out);
  arrivals_.resize(out);
}

}  // namespace apogee::scenarios
