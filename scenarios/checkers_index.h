#pragma once

// An index of a run's history, built once per check run and shared by the checkers
// (scenarios/checkers.h), so that they work on vectors indexed by dense numbers instead of maps
// keyed by strings. It interns the message keys, group names, consumer names and queues that the
// history mentions as dense ids, numbered in order of first appearance (history.groups, then
// sends, deliveries, DLQ records and commits), so no id depends on hashing or on pointers
// (hashing serves lookups only); and it derives once what several checkers ask about a key:
// its last send, whether it was acknowledged or damaged, and which members of each group got it.
//
// Like the checkers it is a pure function of the history, which it references and does not copy.
// REQUIRES: the history outlives the index and does not change while the index is in use (the
// runner builds a new index after the world ran on).
//
// Ids order nothing that a checker prints: a checker that reports in name order sorts by the
// names (GroupName, MemberName, Queue).

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/time.h"
#include "sim/cluster/history.h"

namespace apogee::scenarios {

class HistoryIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // A member of a group that got a message (in the sense of checkers.h), and when it first did:
  // the first such record in history order (deliveries, then DLQ records).
  struct Arrival {
    uint32_t member = kNone;  // MemberId; the DLQ is the member named ""
    Instant at{};
  };

  explicit HistoryIndex(const sim::History& history);
  HistoryIndex(const HistoryIndex&) = delete;
  HistoryIndex& operator=(const HistoryIndex&) = delete;

  const sim::History& history() const { return history_; }

  // Message keys: of every send, delivery and DLQ record.
  size_t key_count() const { return keys_.size(); }
  std::string_view Key(uint32_t key) const { return keys_[key]; }
  // kNone for a key the history never mentions.
  uint32_t KeyId(std::string_view key) const;
  uint32_t send_key(size_t send) const { return send_key_[send]; }
  uint32_t delivery_key(size_t delivery) const { return delivery_key_[delivery]; }
  uint32_t dlq_key(size_t record) const { return dlq_key_[record]; }
  // The last send (index into history.sends) with the key, whatever its outcome; kNone: never
  // sent (a phantom).
  uint32_t last_send(uint32_t key) const { return last_send_[key]; }
  bool sent(uint32_t key) const { return last_send_[key] != kNone; }
  // Some send of the key completed ok.
  bool acked(uint32_t key) const { return acked_[key] != 0; }
  // Damaged (checkers.h, DamagedKeys): an acknowledged undelayed send of the key sits at a
  // position the audit found refused.
  bool damaged(uint32_t key) const { return damaged_[key] != 0; }

  // Group names: of history.groups, deliveries, DLQ records and commits.
  size_t group_count() const { return group_names_.size(); }
  const std::string& GroupName(uint32_t group) const { return *group_names_[group]; }
  uint32_t GroupId(std::string_view name) const;
  // The group's description: the last of history.groups with its name; nullptr if none.
  const sim::GroupInfo* Info(uint32_t group) const { return info_[group]; }
  bool broadcasting(uint32_t group) const {
    return info_[group] != nullptr && info_[group]->broadcasting;
  }
  uint32_t delivery_group(size_t delivery) const { return delivery_group_[delivery]; }
  uint32_t dlq_group(size_t record) const { return dlq_group_[record]; }
  uint32_t commit_group(size_t commit) const { return commit_group_[commit]; }

  // Member (consumer) names: "" (id kNoMember: the DLQ, or no member) first, then those of
  // history.groups and deliveries.
  static constexpr uint32_t kNoMember = 0;
  const std::string& MemberName(uint32_t member) const { return *member_names_[member]; }
  uint32_t MemberId(std::string_view name) const;
  uint32_t delivery_member(size_t delivery) const { return delivery_member_[delivery]; }

  // Queues: of acknowledged sends, deliveries and commits.
  size_t queue_count() const { return queues_.size(); }
  const sim::MessageQueue& Queue(uint32_t queue) const { return *queues_[queue]; }
  // kNone for a queue the index has not seen.
  uint32_t QueueId(const sim::MessageQueue& q) const;
  // kNone unless the send completed ok.
  uint32_t send_queue(size_t send) const { return send_queue_[send]; }
  uint32_t delivery_queue(size_t delivery) const { return delivery_queue_[delivery]; }
  uint32_t commit_queue(size_t commit) const { return commit_queue_[commit]; }

  // What group `group` got of `key` (checkers.h): one arrival per member, ordered by member id.
  std::span<const Arrival> Arrivals(uint32_t group, uint32_t key) const;

 private:
  uint32_t InternKey(std::string_view key);
  // The slot that holds `key`, or the empty slot where it would go.
  size_t KeySlot(std::string_view key) const;
  uint32_t InternGroup(const std::string& name);
  uint32_t InternMember(const std::string& name);
  uint32_t InternQueue(const sim::MessageQueue& q);
  void BuildArrivals();

  const sim::History& history_;

  std::vector<std::string_view> keys_;  // views into the history's strings
  // A hash table over keys_ by open addressing: each slot holds a key id + 1, or 0 when empty.
  // Its size is a power of two at least twice the number of keys, so probe runs stay short.
  // Lookups only, never iterated: its order cannot leak into a checker's output.
  std::vector<uint32_t> key_slots_;
  std::vector<uint32_t> send_key_;
  std::vector<uint32_t> delivery_key_;
  std::vector<uint32_t> dlq_key_;
  std::vector<uint32_t> last_send_;
  std::vector<uint8_t> acked_;
  std::vector<uint8_t> damaged_;

  std::vector<const std::string*> group_names_;
  std::map<std::string_view, uint32_t> group_ids_;
  uint32_t last_group_ = kNone;  // the last interned, tried first
  std::vector<const sim::GroupInfo*> info_;
  std::vector<uint32_t> delivery_group_;
  std::vector<uint32_t> dlq_group_;
  std::vector<uint32_t> commit_group_;

  std::vector<const std::string*> member_names_;
  std::map<std::string_view, uint32_t> member_ids_;
  uint32_t last_member_ = kNone;
  std::vector<uint32_t> delivery_member_;

  std::vector<const sim::MessageQueue*> queues_;
  std::map<sim::MessageQueue, uint32_t> queue_ids_;
  uint32_t last_queue_ = kNone;
  std::vector<uint32_t> send_queue_;
  std::vector<uint32_t> delivery_queue_;
  std::vector<uint32_t> commit_queue_;

  // Arrivals of (group, key) are arrivals_[arrivals_begin_[group * K + key] ..
  // arrivals_begin_[group * K + key + 1]), K = key_count().
  std::vector<uint32_t> arrivals_begin_;
  std::vector<Arrival> arrivals_;
};

}  // namespace apogee::scenarios
