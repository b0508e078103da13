#pragma once

// Checkers: pure functions of a run's history (sim/cluster/history.h). Each checks one promise
// and adds what broke to a CheckResult, at most kViolationsShown lines per checker plus one line
// with the total, so a badly broken run stays readable. Each is unit-tested on small histories
// that hold and that break it (tests/scenarios/checkers_test.cc).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sim/cluster/history.h"

namespace apogee::scenarios {

inline constexpr size_t kViolationsShown = 5;

struct CheckResult {
  std::vector<std::string> violations;
  std::vector<std::pair<std::string, uint64_t>> counters;
  bool ok() const { return violations.empty(); }
};

// Acknowledged messages are delivered: every send that completed ok was delivered to every
// group subscribed to its topic (clustering: to some member; broadcasting: to every member).
// After a fault-free run, or after the liveness phase of a faulty one. Counts "acked" and
// "acked_delivered_per_group".
void CheckAcknowledgedDelivered(const sim::History& history, CheckResult* result);

// Acknowledged messages are never lost, judged on the final state: every acknowledged message
// that some group never got must still be in a broker's store (history.audit). One that is in
// no store is lost: a violation, whatever the liveness phase did. REQUIRES: history.audit.done.
void CheckNotLost(const sim::History& history, CheckResult* result);

// Nothing is delivered that was never sent: every delivery's key belongs to a send that was
// invoked (whatever its outcome: a failed or unknown send may still have been stored).
void CheckNoPhantoms(const sim::History& history, CheckResult* result);

// Queue order: for each group and queue (each member, for broadcasting), the queue's offsets
// in increasing order must be a subsequence of the offsets delivered, in delivery order.
// Redeliveries may add to the sequence anywhere (a restart from an older committed offset, a
// queue moving between members), but no message may be delivered for the first and last time
// before one that precedes it in the queue: that would be a message consumed out of order.
void CheckQueueOrder(const sim::History& history, CheckResult* result);

// Counts duplicates against the at-least-once policy (never a violation): per group, deliveries
// of a message the group (clustering) or that consumer (broadcasting) already had.
// Counts "deliveries", "duplicates" and "duplicates_<group>".
void CountDuplicates(const sim::History& history, CheckResult* result);

// All of the above.
CheckResult CheckAll(const sim::History& history);

}  // namespace apogee::scenarios
