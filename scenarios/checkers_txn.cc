// Transactions all-or-nothing (checkers.h): judged against the harness's own record of each
// local transaction, the truth the producers' check listeners answer from.

#include <fmt/format.h>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "scenarios/checkers.h"
#include "scenarios/checkers_index.h"
#include "scenarios/checkers_internal.h"

namespace apogee::scenarios {

namespace {

using internal::Reporter;

// The members of `g` that never got the key `key` (the group's name for a clustering group).
std::vector<std::string> MissedBy(const HistoryIndex& index, const sim::GroupInfo& g,
                                  uint32_t key) {
  std::span<const HistoryIndex::Arrival> got;
  const uint32_t group = index.GroupId(g.name);
  if (group != HistoryIndex::kNone && key != HistoryIndex::kNone) got = index.Arrivals(group, key);
  std::vector<std::string> missed;
  if (!g.broadcasting) {
    if (got.empty()) missed.push_back(g.name);
    return missed;
  }
  for (const std::string& c : g.consumers) {
    const uint32_t member = index.MemberId(c);
    bool has = std::any_of(got.begin(), got.end(),
                           [&](const HistoryIndex::Arrival& a) { return a.member == member; });
    if (!has) missed.push_back(c);
  }
  return missed;
}

}  // namespace

void CheckTransactions(const sim::History& history, CheckResult* safety, CheckResult* late) {
  CheckTransactions(HistoryIndex(history), safety, late);
}

void CheckTransactions(const HistoryIndex& index, CheckResult* safety, CheckResult* late) {
  const sim::History& history = index.history();
  Reporter leaked("transaction leaked", safety);
  Reporter undelivered("transaction undelivered", late);
  // Keys that reached any member of any group (any outcome).
  std::vector<uint8_t> delivered(index.key_count(), 0);
  for (size_t i = 0; i < history.deliveries.size(); i++) delivered[index.delivery_key(i)] = 1;
  uint64_t committed = 0;
  uint64_t rolled_back = 0;
  uint64_t never_decided = 0;
  for (const sim::TxnRecord& t : history.transactions) {
    if (t.decision == sim::TxnDecision::kCommit) {
      committed++;
      for (const sim::GroupInfo& g : history.groups) {
        if (g.topic != t.topic) continue;
        for (const std::string& m : MissedBy(index, g, index.KeyId(t.key))) {
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
    const uint32_t key = index.KeyId(t.key);
    if (key != HistoryIndex::kNone && delivered[key] != 0) {
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
