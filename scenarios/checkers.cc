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
  using Stream = std::tuple<std::string, std::string, sim::MessageQueue>;  // group, consumer, q
  std::map<Stream, int64_t> last;
  std::map<Stream, std::set<int64_t>> had;
  for (const sim::Delivery& d : history.deliveries) {
    Stream s{d.group, d.consumer, d.queue};
    auto it = last.find(s);
    if (it != last.end() && d.offset <= it->second && had[s].count(d.offset) == 0) {
      report.Add(
          fmt::format("{} consumer {} got {} after offset {}: it went back to a message "
                      "it had skipped",
                      d.group, d.consumer, Where(d.queue, d.offset), it->second));
    }
    had[s].insert(d.offset);
    if (it == last.end() || d.offset > it->second) last[s] = d.offset;
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
