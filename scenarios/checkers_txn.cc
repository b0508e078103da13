// Transactions all-or-nothing (checkers.h): judged against the harness's own record of each
// local transaction, the truth the producers' check listeners answer from.

#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

#include "scenarios/checkers.h"
#include "scenarios/checkers_internal.h"

namespace apogee::scenarios {

namespace {

using internal::Arrivals;
using internal::Reporter;

// The members of `g` that never got `key` (the group's name for a clustering group).
std::vector<std::string> MissedBy(const sim::GroupInfo& g, const Arrivals& got,
                                  const std::string& key) {
  std::vector<std::string> missed;
  const std::map<std::string, Instant>* who = nullptr;
  if (auto gi = got.find(g.name); gi != got.end()) {
    if (auto ki = gi->second.find(key); ki != gi->second.end()) who = &ki->second;
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

// Whether any member of any group had `key` delivered (any outcome).
bool DeliveredAnywhere(const sim::History& history, const std::string& key) {
  for (const sim::Delivery& d : history.deliveries) {
    if (d.key == key) return true;
  }
  return false;
}

}  // namespace

void CheckTransactions(const sim::History& history, CheckResult* safety, CheckResult* late) {
  Reporter leaked("transaction leaked", safety);
  Reporter undelivered("transaction undelivered", late);
  const Arrivals got = internal::GotBy(history);
  uint64_t committed = 0;
  uint64_t rolled_back = 0;
  uint64_t never_decided = 0;
  for (const sim::TxnRecord& t : history.transactions) {
    if (t.decision == sim::TxnDecision::kCommit) {
      committed++;
      for (const sim::GroupInfo& g : history.groups) {
        if (g.topic != t.topic) continue;
        for (const std::string& m : MissedBy(g, got, t.key)) {
          undelivered.Add(
              fmt::format("committed transaction {} of {} (END sent: {}) never "
                          "delivered to {}{}",
                          t.key, t.producer, t.end_sent.empty() ? "none" : t.end_sent,
                          g.broadcasting ? "consumer " : "group ", m));
        }
      }
      continue;
    }
    if (t.decision == sim::TxnDecision::kRollback) {
      rolled_back++;
    } else {
      never_decided++;
    }
    if (DeliveredAnywhere(history, t.key)) {
      leaked.Add(
          fmt::format("{} transaction {} of {} (END sent: {}) was delivered",
                      t.decision == sim::TxnDecision::kRollback ? "rolled-back" : "never-committed",
                      t.key, t.producer, t.end_sent.empty() ? "none" : t.end_sent));
    }
  }
  safety->counters.emplace_back("txn_committed", committed);
  safety->counters.emplace_back("txn_rolled_back", rolled_back);
  safety->counters.emplace_back("txn_never_decided", never_decided);
}

}  // namespace apogee::scenarios
