#include "scenarios/checkers.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>
#include <span>
#include <tuple>
#include <vector>

#include "scenarios/checkers_internal.h"

namespace apogee::scenarios {

using internal::Reporter;
using internal::Where;

std::set<std::string> DamagedKeys(const sim::History& history) {
  std::set<std::string> damaged;
  const HistoryIndex index(history);
  for (uint32_t k = 0; k < index.key_count(); k++) {
    if (index.damaged(k)) damaged.emplace(index.Key(k));
  }
  return damaged;
}

namespace {

// The members of `g` that never got the message `key` (for clustering: {group} when no member
// did).
std::vector<std::string> Missed(const HistoryIndex& index, const sim::GroupInfo& g, uint32_t key) {
  std::vector<std::string> missed;
  const uint32_t group = index.GroupId(g.name);
  std::span<const HistoryIndex::Arrival> who;
  if (group != HistoryIndex::kNone) who = index.Arrivals(group, key);
  if (!g.broadcasting) {
    if (who.empty()) missed.push_back(g.name);
    return missed;
  }
  for (const std::string& c : g.consumers) {
    const uint32_t member = index.MemberId(c);
    if (std::none_of(who.begin(), who.end(),
                     [member](const HistoryIndex::Arrival& a) { return a.member == member; })) {
      missed.push_back(c);
    }
  }
  return missed;
}

// Whether the group subscribes to the send's topic.
bool OfTopic(const sim::GroupInfo& g, const sim::SendOp& s) { return g.topic == s.topic; }

}  // namespace

void CheckAcknowledgedDelivered(const HistoryIndex& index, CheckResult* result) {
  Reporter report("undelivered", result);
  const sim::History& history = index.history();
  uint64_t acked = 0;
  uint64_t delivered = 0;
  uint64_t excused = 0;
  for (size_t i = 0; i < history.sends.size(); i++) {
    const sim::SendOp& s = history.sends[i];
    if (s.outcome != sim::OpOutcome::kOk) continue;
    acked++;
    const uint32_t key = index.send_key(i);
    for (const sim::GroupInfo& g : history.groups) {
      if (!OfTopic(g, s)) continue;
      std::vector<std::string> missed = Missed(index, g, key);
      if (missed.empty()) {
        delivered++;
        continue;
      }
      if (index.damaged(key)) {
        excused++;
        continue;
      }
      for (const std::string& m : missed) {
        if (g.broadcasting) {
          report.Add(fmt::format(
              "acknowledged message {} ({}, id {}) never delivered to broadcasting consumer {} of "
              "group {}",
              s.key, Where(s.queue, s.offset), s.msg_id, m, g.name));
        } else {
          report.Add(fmt::format("acknowledged message {} ({}, id {}) never delivered to group {}",
                                 s.key, Where(s.queue, s.offset), s.msg_id, g.name));
        }
      }
    }
  }
  result->counters.emplace_back("acked", acked);
  result->counters.emplace_back("acked_delivered_per_group", delivered);
  result->counters.emplace_back("acked_damaged_excused", excused);
}

void CheckNotLost(const HistoryIndex& index, CheckResult* result) {
  Reporter report("lost", result);
  const sim::History& history = index.history();
  std::vector<uint8_t> stored(index.key_count(), 0);
  for (const std::string& key : history.audit.keys) {
    const uint32_t k = index.KeyId(key);
    if (k != HistoryIndex::kNone) stored[k] = 1;
  }
  uint64_t lost = 0;
  for (size_t i = 0; i < history.sends.size(); i++) {
    const sim::SendOp& s = history.sends[i];
    const uint32_t key = index.send_key(i);
    if (s.outcome != sim::OpOutcome::kOk || stored[key] != 0) continue;
    if (index.damaged(key)) continue;
    // Not in any store: it must at least have reached every member that needed it.
    std::vector<std::string> missed;
    for (const sim::GroupInfo& g : history.groups) {
      if (!OfTopic(g, s)) continue;
      for (const std::string& m : Missed(index, g, key)) {
        missed.push_back(g.broadcasting ? fmt::format("{}/{}", g.name, m) : m);
      }
    }
    if (missed.empty()) continue;
    lost++;
    report.Add(fmt::format(
        "acknowledged message {} ({}, id {}) is in no broker's store and never reached {}", s.key,
        Where(s.queue, s.offset), s.msg_id, fmt::join(missed, ", ")));
  }
  result->counters.emplace_back("acked_lost", lost);
  result->counters.emplace_back("records_audited", history.audit.records);
}

void CheckRefusedWithinFlips(const sim::History& history, CheckResult* result) {
  Reporter report("refused", result);
  const size_t refused = history.audit.refused.size();
  result->counters.emplace_back("records_refused", refused);
  if (refused <= history.bit_flips) return;
  std::vector<std::string> where;
  for (const auto& [q, offset] : history.audit.refused) {
    if (where.size() == kViolationsShown) break;
    where.push_back(Where(q, offset));
  }
  report.Add(fmt::format(
      "the brokers refused to serve {} stored positions ({}{}) but only {} bits were flipped",
      refused, fmt::join(where, ", "), refused > where.size() ? ", ..." : "", history.bit_flips));
}

void CheckNoPhantoms(const HistoryIndex& index, CheckResult* result) {
  Reporter report("phantom", result);
  const sim::History& history = index.history();
  for (size_t i = 0; i < history.deliveries.size(); i++) {
    if (index.sent(index.delivery_key(i))) continue;
    const sim::Delivery& d = history.deliveries[i];
    report.Add(fmt::format("{} delivered message '{}' ({}) to {}, which was never sent", d.group,
                           d.key, Where(d.queue, d.offset), d.consumer));
  }
}

void CheckQueueOrder(const HistoryIndex& index, CheckResult* result) {
  Reporter report("order", result);
  const sim::History& history = index.history();
  // (group, member, queue) ids -> offsets delivered, in delivery order; the member is "" for a
  // clustering group.
  using Stream = std::tuple<uint32_t, uint32_t, uint32_t>;
  std::map<Stream, std::vector<int64_t>> delivered;
  for (size_t i = 0; i < history.deliveries.size(); i++) {
    const uint32_t group = index.delivery_group(i);
    const uint32_t member =
        index.broadcasting(group) ? index.delivery_member(i) : HistoryIndex::kNoMember;
    delivered[Stream{group, member, index.delivery_queue(i)}].push_back(
        history.deliveries[i].offset);
  }
  // Reported in the order of the streams' names.
  std::vector<const std::pair<const Stream, std::vector<int64_t>>*> streams;
  for (const auto& entry : delivered) streams.push_back(&entry);
  std::sort(streams.begin(), streams.end(), [&index](const auto* a, const auto* b) {
    const auto& [ga, ma, qa] = a->first;
    const auto& [gb, mb, qb] = b->first;
    return std::tie(index.GroupName(ga), index.MemberName(ma), index.Queue(qa)) <
           std::tie(index.GroupName(gb), index.MemberName(mb), index.Queue(qb));
  });
  std::vector<int64_t> queue;
  for (const auto* entry : streams) {
    const std::vector<int64_t>& offsets = entry->second;
    queue.assign(offsets.begin(), offsets.end());
    std::sort(queue.begin(), queue.end());
    queue.erase(std::unique(queue.begin(), queue.end()), queue.end());
    // Greedy subsequence match: walk the deliveries, taking the queue's offsets in order.
    auto want = queue.begin();
    for (int64_t o : offsets) {
      if (want != queue.end() && o == *want) ++want;
    }
    if (want == queue.end()) continue;
    const auto& [group, member, q] = entry->first;
    const std::string& member_name = index.MemberName(member);
    const sim::MessageQueue& mq = index.Queue(q);
    // *want was never delivered after the offset before it in the queue had been.
    int64_t before = want == queue.begin() ? *want : *std::prev(want);
    report.Add(fmt::format("{}{} got {} only before {}: consumed out of queue order",
                           index.GroupName(group), member_name.empty() ? "" : "/" + member_name,
                           Where(mq, *want), Where(mq, before)));
  }
}

void CountDuplicates(const HistoryIndex& index, CheckResult* result) {
  const sim::History& history = index.history();
  // (group, member or "" for clustering, key) of every delivery: sorted, a repeat is a duplicate.
  using Seen = std::tuple<uint32_t, uint32_t, uint32_t>;
  std::vector<Seen> seen;
  seen.reserve(history.deliveries.size());
  for (size_t i = 0; i < history.deliveries.size(); i++) {
    const uint32_t group = index.delivery_group(i);
    const uint32_t who =
        index.broadcasting(group) ? index.delivery_member(i) : HistoryIndex::kNoMember;
    seen.emplace_back(group, who, index.delivery_key(i));
  }
  std::sort(seen.begin(), seen.end());
  std::vector<uint64_t> per_group(index.group_count(), 0);
  uint64_t total = 0;
  for (size_t i = 1; i < seen.size(); i++) {
    if (seen[i] != seen[i - 1]) continue;
    per_group[std::get<0>(seen[i])]++;
    total++;
  }
  std::map<std::string, uint64_t> dups;  // by name, as reported
  for (uint32_t g = 0; g < index.group_count(); g++) {
    if (per_group[g] != 0) dups[index.GroupName(g)] = per_group[g];
  }
  result->counters.emplace_back("deliveries", history.deliveries.size());
  result->counters.emplace_back("duplicates", total);
  for (const auto& [group, n] : dups) result->counters.emplace_back("duplicates_" + group, n);
}

CheckResult CheckAll(const HistoryIndex& index) {
  CheckResult result;
  CheckAcknowledgedDelivered(index, &result);
  CheckNoPhantoms(index, &result);
  CheckQueueOrder(index, &result);
  CheckKeyOrder(index, &result);
  CheckOffsetsMonotonic(index, &result);
  CheckCommitsCovered(index, &result);
  CheckDelays(index, &result);
  CheckDeadLetters(index, &result);
  CheckBodies(index, &result);
  CountDuplicates(index, &result);
  return result;
}

CheckResult CheckAll(const sim::History& history) { return CheckAll(HistoryIndex(history)); }

// The forms on a history: each builds an index of its own.
void CheckAcknowledgedDelivered(const sim::History& history, CheckResult* result) {
  CheckAcknowledgedDelivered(HistoryIndex(history), result);
}
void CheckNotLost(const sim::History& history, CheckResult* result) {
  CheckNotLost(HistoryIndex(history), result);
}
void CheckNoPhantoms(const sim::History& history, CheckResult* result) {
  CheckNoPhantoms(HistoryIndex(history), result);
}
void CheckQueueOrder(const sim::History& history, CheckResult* result) {
  CheckQueueOrder(HistoryIndex(history), result);
}
void CountDuplicates(const sim::History& history, CheckResult* result) {
  CountDuplicates(HistoryIndex(history), result);
}
void CheckKeyOrder(const sim::History& history, CheckResult* result) {
  CheckKeyOrder(HistoryIndex(history), result);
}
void CheckOffsetsMonotonic(const sim::History& history, CheckResult* result) {
  CheckOffsetsMonotonic(HistoryIndex(history), result);
}
void CheckCommitsCovered(const sim::History& history, CheckResult* result) {
  CheckCommitsCovered(HistoryIndex(history), result);
}
void CheckDelays(const sim::History& history, CheckResult* result) {
  CheckDelays(HistoryIndex(history), result);
}
void CheckDeadLetters(const sim::History& history, CheckResult* result) {
  CheckDeadLetters(HistoryIndex(history), result);
}
void CheckBodies(const sim::History& history, CheckResult* result) {
  CheckBodies(HistoryIndex(history), result);
}
void CheckCatchUp(const sim::History& history, Instant healed, Duration bound,
                  CheckResult* result) {
  CheckCatchUp(HistoryIndex(history), healed, bound, result);
}

}  // namespace apogee::scenarios
