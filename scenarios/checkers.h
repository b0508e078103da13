#pragma once

// Checkers: pure functions of a run's history (sim/cluster/history.h). Each checks one promise
// and adds what broke to a CheckResult, at most kViolationsShown lines per checker plus one line
// with the total, so a badly broken run stays readable. Each is unit-tested on small histories
// that hold and that break it (tests/scenarios/checkers_test.cc).
//
// Each checker comes in two forms: on a HistoryIndex (scenarios/checkers_index.h), which a runner
// builds once and shares across the checkers it runs, and on the history itself, which builds an
// index of its own. Both give the same verdicts, messages and counters.

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "scenarios/checkers_index.h"
#include "sim/cluster/history.h"

namespace apogee::scenarios {

inline constexpr size_t kViolationsShown = 5;

struct CheckResult {
  std::vector<std::string> violations;
  std::vector<std::pair<std::string, uint64_t>> counters;
  bool ok() const { return violations.empty(); }
};

// What "a group got a message" means below. A clustering group got it when some member's
// listener consumed it (outcome ok) or it reached the group's dead-letter queue (history.dlq); a
// delivery whose listener failed does not count, since the client sends it back for a retry. A
// broadcasting group got it when every member had it delivered (its failures are dropped, as
// RocketMQ does).
//
// Damaged messages: after the audit, an acknowledged (undelayed) message whose position in its
// queue the broker refused to serve (history.audit.refused: its record or consume-queue entry
// failed validation) may be missing; CheckRefusedWithinFlips bounds how many such positions
// there may be.
std::set<std::string> DamagedKeys(const sim::History& history);

// Acknowledged messages are delivered: every send that completed ok was got by every group
// subscribed to its topic. After a fault-free run, or after the liveness phase of a faulty one.
// Damaged messages are excused once the audit is done. Counts "acked",
// "acked_delivered_per_group" and "acked_damaged_excused".
void CheckAcknowledgedDelivered(const sim::History& history, CheckResult* result);
void CheckAcknowledgedDelivered(const HistoryIndex& index, CheckResult* result);

// Acknowledged messages are never lost, judged on the final state: every acknowledged message
// that some group never got must still be in a broker's store (history.audit). One that is in
// no store is lost: a violation, whatever the liveness phase did. Damaged messages are excused.
// REQUIRES: history.audit.done.
void CheckNotLost(const sim::History& history, CheckResult* result);
void CheckNotLost(const HistoryIndex& index, CheckResult* result);

// Refused records come only from flipped bits: the positions the audit found refused are at
// most history.bit_flips (each flip damages at most one record or one consume-queue entry).
// Counts "records_refused". REQUIRES: history.audit.done.
void CheckRefusedWithinFlips(const sim::History& history, CheckResult* result);

// Nothing is delivered that was never sent: every delivery's key belongs to a send that was
// invoked (whatever its outcome: a failed or unknown send may still have been stored).
void CheckNoPhantoms(const sim::History& history, CheckResult* result);
void CheckNoPhantoms(const HistoryIndex& index, CheckResult* result);

// Queue order: for each group and queue (each member, for broadcasting), the queue's offsets
// in increasing order must be a subsequence of the offsets delivered, in delivery order.
// Redeliveries may add to the sequence anywhere (a restart from an older committed offset, a
// queue moving between members), but no message may be delivered for the first and last time
// before one that precedes it in the queue: that would be a message consumed out of order.
void CheckQueueOrder(const sim::History& history, CheckResult* result);
void CheckQueueOrder(const HistoryIndex& index, CheckResult* result);

// Counts duplicates against the at-least-once policy (never a violation): per group, deliveries
// of a message the group (clustering) or that consumer (broadcasting) already had.
// Counts "deliveries", "duplicates" and "duplicates_<group>".
void CountDuplicates(const sim::History& history, CheckResult* result);
void CountDuplicates(const HistoryIndex& index, CheckResult* result);

// Per-key order for orderly groups: for each order key and queue, the key's acknowledged
// messages in send order (each producer sends a key's messages one after another) must be a
// subsequence of the group's deliveries of them from that queue, in delivery order (per member,
// for broadcasting). Only messages delivered at least once are judged (a missing one is the
// other checkers' business). A key whose messages went to several queues (the route changed
// under the selector) is ordered per queue only, as in RocketMQ. Counts "keyed_sends".
void CheckKeyOrder(const sim::History& history, CheckResult* result);
void CheckKeyOrder(const HistoryIndex& index, CheckResult* result);

// Consumer offsets never move backwards except at a reset. Per clustering group and queue, in
// the order the commits were sent: a commit below the latest acknowledged commit before it is a
// violation unless, between the two,
//   - the queue changed owner: the commit comes from another consumer incarnation (a restart
//     counts), or another incarnation sent a commit in between (its commit may have landed
//     after, and the owner that follows starts from what the broker then held); or
//   - the queue's broker restarted (its offsets fall back to the last table it persisted).
// Broadcasting groups keep their offsets in local files, which are not observed. Counts
// "commits" and "commits_backwards_reset".
void CheckOffsetsMonotonic(const sim::History& history, CheckResult* result);
void CheckOffsetsMonotonic(const HistoryIndex& index, CheckResult* result);

// A commit never passes a message the group has not been handed: when a clustering group commits
// offset o for a queue at time t, every acknowledged undelayed message stored in that queue
// below o was delivered to some member of the group (any outcome) at or before t. Damaged
// messages are excused.
void CheckCommitsCovered(const sim::History& history, CheckResult* result);
void CheckCommitsCovered(const HistoryIndex& index, CheckResult* result);

// Delayed messages are never early, in true (simulated) time: every delivery of an
// acknowledged message sent with DELAY level L comes at or after its send was invoked plus the
// level's delay, less
//   - the time its broker's wall clock gained on true time between the send and the delivery
//     (the broker schedules by its wall clock, as RocketMQ does: a forward jump or a fast drift
//     brings due times forward; measured from history.clocks: the largest offset seen from the
//     invocation to the delivery minus the smallest seen while the send was in flight, each
//     window widened by the sample period), and
//   - 1 ms (store timestamps are whole milliseconds).
// Counts "delayed_delivered" and "delay_early_excused_by_clock".
void CheckDelays(const sim::History& history, CheckResult* result);
void CheckDelays(const HistoryIndex& index, CheckResult* result);

// A message reaches a group's DLQ only after max_reconsume_times + 1 failed deliveries of it in
// that group (the first delivery and each retry), counted up to when the DLQ reader saw it;
// never for a group without a bound (orderly by default), and never one that was not sent.
// Counts "dlq_records".
void CheckDeadLetters(const sim::History& history, CheckResult* result);
void CheckDeadLetters(const HistoryIndex& index, CheckResult* result);

// Bodies delivered equal bodies sent: every delivery and DLQ record of a sent key carries the
// CRC32 of the body that was sent (a corrupted record is never served).
void CheckBodies(const sim::History& history, CheckResult* result);
void CheckBodies(const HistoryIndex& index, CheckResult* result);

// Liveness bound: every acknowledged message got by a group after healing got there within
// `bound` of `healed` (the undelivered ones are CheckAcknowledgedDelivered's). Counts
// "liveness_bound_ms" and "catch_up_last_ms" (how long after healing the last arrival came, 0
// when everything had arrived before).
void CheckCatchUp(const sim::History& history, Instant healed, Duration bound, CheckResult* result);
void CheckCatchUp(const HistoryIndex& index, Instant healed, Duration bound, CheckResult* result);

// Transactions are all-or-nothing, judged against the harness's record of each local transaction
// (history.transactions): a transaction decided committed is got by every group subscribed to
// its topic, in the sense above (else `late`: a liveness failure, after the liveness phase); one
// rolled back, or whose local transaction never decided (its half send failed or its producer
// died first), is never delivered to anyone, with any outcome (else `safety`). Counts
// "txn_committed", "txn_rolled_back" and "txn_never_decided".
void CheckTransactions(const sim::History& history, CheckResult* safety, CheckResult* late);
void CheckTransactions(const HistoryIndex& index, CheckResult* safety, CheckResult* late);

// All of the pure safety checks and the delivery check (not the audit-based or timed ones).
CheckResult CheckAll(const sim::History& history);
CheckResult CheckAll(const HistoryIndex& index);

}  // namespace apogee::scenarios
