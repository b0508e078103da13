#include "scenarios/checkers.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "scenarios/checkers_internal.h"

namespace apogee::scenarios {

using internal::Arrivals;
using internal::Reporter;
using internal::Where;

Arrivals internal::GotBy(const sim::History& history) {
  std::map<std::string, bool> broadcasting;
  for (const sim::GroupInfo& g : history.groups) broadcasting[g.name] = g.broadcasting;
  Arrivals got;
  for (const sim::Delivery& d : history.deliveries) {
    if (!broadcasting[d.group] && d.outcome != sim::ConsumeOutcome::kOk) continue;
    got[d.group][d.key].emplace(d.consumer, d.at);  // keeps the first
  }
  for (const sim::DlqRecord& r : history.dlq) got[r.group][r.key].emplace(std::string(), r.at);
  return got;
}

std::set<std::string> DamagedKeys(const sim::History& history) {
  std::set<std::string> damaged;
  if (!history.audit.done || history.audit.refused.empty()) return damaged;
  for (const sim::SendOp& s : history.sends) {
    if (s.outcome != sim::OpOutcome::kOk || s.delay_level > 0) continue;
    if (history.audit.refused.count({s.queue, s.offset}) != 0) damaged.insert(s.key);
  }
  return damaged;
}

namespace {

// The members of `g` that never got `key` (for clustering: {group} when no member did).
std::vector<std::string> Missed(const sim::GroupInfo& g, const Arrivals& got,
                                const std::string& key) {
  std::vector<std::string> missed;
  auto gi = got.find(g.name);
  const std::map<std::string, Instant>* who = nullptr;
  if (gi != got.end()) {
    auto ki = gi->second.find(key);
    if (ki != gi->second.end()) who = &ki->second;
  }
  if (!g.broadcasting) {
    if (who == nullptr) missed.push_back(g.name);
    return missed;
  }
  for (const std::string& c : g.consumers) {
    if (who == nullptr || who->count(c) == 0) missed.push_back(c);
  }
  return missed;
}

}  // namespace

void CheckAcknowledgedDelivered(const sim::History& history, CheckResult* result) {
  Reporter report("undelivered", result);
  const Arrivals got = internal::GotBy(history);
  const std::set<std::string> damaged = DamagedKeys(history);
  uint64_t acked = 0;
  uint64_t delivered = 0;
  uint64_t excused = 0;
  for (const sim::SendOp& s : history.sends) {
    if (s.outcome != sim::OpOutcome::kOk) continue;
    acked++;
    for (const sim::GroupInfo& g : history.groups) {
      if (g.topic != s.topic) continue;
      std::vector<std::string> missed = Missed(g, got, s.key);
      if (missed.empty()) {
        delivered++;
        continue;
      }
      if (damaged.count(s.key) != 0) {
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

void CheckNotLost(const sim::History& history, CheckResult* result) {
  Reporter report("lost", result);
  const Arrivals got = internal::GotBy(history);
  const std::set<std::string> damaged = DamagedKeys(history);
  uint64_t lost = 0;
  for (const sim::SendOp& s : history.sends) {
    if (s.outcome != sim::OpOutcome::kOk || history.audit.keys.count(s.key) != 0) continue;
    if (damaged.count(s.key) != 0) continue;
    // Not in any store: it must at least have reached every member that needed it.
    std::vector<std::string> missed;
    for (const sim::GroupInfo& g : history.groups) {
      if (g.topic != s.topic) continue;
      for (const std::string& m : Missed(g, got, s.key)) {
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

void CheckNoPhantoms(const sim::History& history, CheckResult* result) {
  Reporter report("phantom", result);
  std::set<std::string> sent;
  for (const sim::SendOp& s : history.sends) sent.insert(s.key);
  for (const sim::Delivery& d : history.deliveries) {
    if (sent.count(d.key) == 0) {
      report.Add(fmt::format("{} delivered message '{}' ({}) to {}, which was never sent", d.group,
                             d.key, Where(d.queue, d.offset), d.consumer));
    }
  }
}

void CheckQueueOrder(const sim::History& history, CheckResult* result) {
  Reporter report("order", result);
  std::map<std::string, bool> broadcasting;
  for (const sim::GroupInfo& g : history.groups) broadcasting[g.name] = g.broadcasting;
  using Stream = std::tuple<std::string, std::string, sim::MessageQueue>;  // group, member, q
  std::map<Stream, std::vector<int64_t>> delivered;
  for (const sim::Delivery& d : history.deliveries) {
    std::string member = broadcasting[d.group] ? d.consumer : std::string();
    delivered[Stream{d.group, member, d.queue}].push_back(d.offset);
  }
  for (const auto& [stream, offsets] : delivered) {
    std::set<int64_t> queue(offsets.begin(), offsets.end());
    // Greedy subsequence match: walk the deliveries, taking the queue's offsets in order.
    auto want = queue.begin();
    for (int64_t o : offsets) {
      if (want != queue.end() && o == *want) ++want;
    }
    if (want == queue.end()) continue;
    const auto& [group, member, q] = stream;
    // *want was never delivered after the offset before it in the queue had been.
    int64_t before = want == queue.begin() ? *want : *std::prev(want);
    report.Add(fmt::format("{}{} got {} only before {}: consumed out of queue order", group,
                           member.empty() ? "" : "/" + member, Where(q, *want), Where(q, before)));
  }
}

void CountDuplicates(const sim::History& history, CheckResult* result) {
  std::map<std::string, bool> broadcasting;
  for (const sim::GroupInfo& g : history.groups) broadcasting[g.name] = g.broadcasting;
  std::map<std::string, uint64_t> dups;
  std::set<std::tuple<std::string, std::string, std::string>> seen;  // group, consumer?, key
  uint64_t total = 0;
  for (const sim::Delivery& d : history.deliveries) {
    std::string who = broadcasting[d.group] ? d.consumer : std::string();
    if (!seen.insert({d.group, who, d.key}).second) {
      dups[d.group]++;
      total++;
    }
  }
  result->counters.emplace_back("deliveries", history.deliveries.size());
  result->counters.emplace_back("duplicates", total);
  for (const auto& [group, n] : dups) result->counters.emplace_back("duplicates_" + group, n);
}

CheckResult CheckAll(const sim::History& history) {
  CheckResult result;
  CheckAcknowledgedDelivered(history, &result);
  CheckNoPhantoms(history, &result);
  CheckQueueOrder(history, &result);
  CheckKeyOrder(history, &result);
  CheckOffsetsMonotonic(history, &result);
  CheckCommitsCovered(history, &result);
  CheckDelays(history, &result);
  CheckDeadLetters(history, &result);
  CheckBodies(history, &result);
  CountDuplicates(history, &result);
  return result;
}

}  // namespace apogee::scenarios
