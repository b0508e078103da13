#include "scenarios/checkers.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <set>
#include <tuple>

namespace apogee::scenarios {

namespace {

// Adds violations of one checker, keeping the first kViolationsShown and a total.
class Reporter {
 public:
  Reporter(const char* checker, CheckResult* result) : checker_(checker), result_(result) {}
  ~Reporter() {
    if (count_ > kViolationsShown) {
      result_->violations.push_back(
          fmt::format("{}: {} violations in all ({} shown)", checker_, count_, kViolationsShown));
    }
  }
  void Add(std::string what) {
    if (count_++ < kViolationsShown) {
      result_->violations.push_back(fmt::format("{}: {}", checker_, what));
    }
  }

 private:
  const char* checker_;
  CheckResult* result_;
  size_t count_ = 0;
};

std::string Where(const sim::MessageQueue& q, int64_t offset) {
  return fmt::format("{}/{}#{}@{}", q.topic, q.broker_name, q.queue_id, offset);
}

}  // namespace

void CheckAcknowledgedDelivered(const sim::History& history, CheckResult* result) {
  Reporter report("undelivered", result);
  // Who had each key: group -> key -> consumers.
  std::map<std::string, std::map<std::string, std::set<std::string>>> had;
  for (const sim::Delivery& d : history.deliveries) had[d.group][d.key].insert(d.consumer);
  uint64_t acked = 0;
  uint64_t delivered = 0;
  for (const sim::SendOp& s : history.sends) {
    if (s.outcome != sim::OpOutcome::kOk) continue;
    acked++;
    for (const sim::GroupInfo& g : history.groups) {
      if (g.topic != s.topic) continue;
      const auto& by_key = had[g.name];
      auto it = by_key.find(s.key);
      if (!g.broadcasting) {
        if (it == by_key.end()) {
          report.Add(fmt::format("acknowledged message {} ({}, id {}) never delivered to group {}",
                                 s.key, Where(s.queue, s.offset), s.msg_id, g.name));
        } else {
          delivered++;
        }
        continue;
      }
      bool all = true;
      for (const std::string& c : g.consumers) {
        if (it == by_key.end() || it->second.count(c) == 0) {
          all = false;
          report.Add(fmt::format(
              "acknowledged message {} ({}, id {}) never delivered to broadcasting consumer {} of "
              "group {}",
              s.key, Where(s.queue, s.offset), s.msg_id, c, g.name));
        }
      }
      if (all) delivered++;
    }
  }
  result->counters.emplace_back("acked", acked);
  result->counters.emplace_back("acked_delivered_per_group", delivered);
}

void CheckNotLost(const sim::History& history, CheckResult* result) {
  Reporter report("lost", result);
  std::map<std::string, std::map<std::string, std::set<std::string>>> had;
  for (const sim::Delivery& d : history.deliveries) had[d.group][d.key].insert(d.consumer);
  uint64_t lost = 0;
  for (const sim::SendOp& s : history.sends) {
    if (s.outcome != sim::OpOutcome::kOk || history.audit.keys.count(s.key) != 0) continue;
    // Not in any store: it must at least have reached every member that needed it.
    std::vector<std::string> missed;
    for (const sim::GroupInfo& g : history.groups) {
      if (g.topic != s.topic) continue;
      auto it = had[g.name].find(s.key);
      if (!g.broadcasting) {
        if (it == had[g.name].end()) missed.push_back(g.name);
        continue;
      }
      for (const std::string& c : g.consumers) {
        if (it == had[g.name].end() || it->second.count(c) == 0) {
          missed.push_back(fmt::format("{}/{}", g.name, c));
        }
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
  CountDuplicates(history, &result);
  return result;
}

}  // namespace apogee::scenarios
