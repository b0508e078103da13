// The checkers of key order, offsets, delays, dead letters, bodies, damage and the liveness
// bound, each on small histories that hold and that break it.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "scenarios/checkers.h"

namespace apogee::scenarios {
namespace {

using namespace std::chrono_literals;
using sim::AuditRead;
using sim::ConsumeOutcome;
using sim::Delivery;
using sim::DlqRecord;
using sim::GroupInfo;
using sim::History;
using sim::MessageQueue;
using sim::OffsetCommit;
using sim::OpOutcome;
using sim::SendOp;

const MessageQueue kQ0{"T", "broker-a", 0};
const MessageQueue kQ1{"T", "broker-a", 1};

Instant At(int64_t ms) { return Instant{} + std::chrono::milliseconds(ms); }

SendOp Sent(std::string key, MessageQueue q, int64_t offset, std::string order_key = "") {
  SendOp s;
  s.producer = "p1";
  s.key = std::move(key);
  s.topic = "T";
  s.outcome = OpOutcome::kOk;
  s.queue = q;
  s.offset = offset;
  s.order_key = std::move(order_key);
  return s;
}

Delivery Got(std::string group, std::string consumer, std::string key, MessageQueue q,
             int64_t offset, int64_t at_ms = 0, ConsumeOutcome outcome = ConsumeOutcome::kOk) {
  Delivery d;
  d.group = std::move(group);
  d.consumer = std::move(consumer);
  d.key = std::move(key);
  d.queue = q;
  d.offset = offset;
  d.at = At(at_ms);
  d.outcome = outcome;
  return d;
}

OffsetCommit Commit(std::string consumer, int64_t offset, int64_t at_ms, bool acked = true,
                    uint32_t incarnation = 1, MessageQueue q = kQ0) {
  return OffsetCommit{"cg", std::move(consumer), incarnation, q, offset, At(at_ms), acked};
}

History Orderly() {
  History h;
  h.groups = {GroupInfo{"og", "T", false, true, {"o1", "o2"}, -1}};
  return h;
}

History Clustering(int32_t max_reconsume = 2) {
  History h;
  h.groups = {GroupInfo{"cg", "T", false, false, {"c1", "c2"}, max_reconsume}};
  return h;
}

std::map<std::string, uint64_t> Counters(const CheckResult& r) {
  return std::map<std::string, uint64_t>(r.counters.begin(), r.counters.end());
}

// --- key order ---

TEST(KeyOrderCheckerTest, HoldsWithRedeliveriesAndOtherKeysInterleaved) {
  History h = Orderly();
  h.sends = {Sent("a0", kQ0, 0, "A"), Sent("b0", kQ0, 1, "B"), Sent("a1", kQ0, 2, "A"),
             Sent("a2", kQ0, 3, "A")};
  // a0 a1, then a restart from a0 again, then a2: a0 a1 a2 is a subsequence.
  h.deliveries = {Got("og", "o1", "a0", kQ0, 0), Got("og", "o1", "b0", kQ0, 1),
                  Got("og", "o1", "a1", kQ0, 2), Got("og", "o2", "a0", kQ0, 0),
                  Got("og", "o2", "a1", kQ0, 2), Got("og", "o2", "a2", kQ0, 3)};
  CheckResult r;
  CheckKeyOrder(h, &r);
  EXPECT_TRUE(r.ok()) << r.violations[0];
  EXPECT_EQ(Counters(r)["keyed_sends"], 4u);
}

TEST(KeyOrderCheckerTest, AKeyConsumedAgainstSendOrderBreaksIt) {
  History h = Orderly();
  // The broker stored a1 before a0 (offsets swapped) and the consumer followed the queue: the
  // queue order holds, the key's send order does not.
  h.sends = {Sent("a0", kQ0, 1, "A"), Sent("a1", kQ0, 0, "A")};
  h.deliveries = {Got("og", "o1", "a1", kQ0, 0), Got("og", "o1", "a0", kQ0, 1)};
  CheckResult r;
  CheckKeyOrder(h, &r);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].find("got a1"), std::string::npos) << r.violations[0];
  CheckResult queue_order;
  CheckQueueOrder(h, &queue_order);
  EXPECT_TRUE(queue_order.ok());
}

TEST(KeyOrderCheckerTest, QueuesOfOneKeyAndConcurrentGroupsAreNotJudgedTogether) {
  History h = Orderly();
  h.groups.push_back(GroupInfo{"cg", "T", false, false, {"c1"}, 16});
  // The route changed under the selector: a0 on queue 0, a1 on queue 1, consumed a1 first.
  h.sends = {Sent("a0", kQ0, 0, "A"), Sent("a1", kQ1, 0, "A"), Sent("a2", kQ1, 1, "A")};
  h.deliveries = {Got("og", "o2", "a1", kQ1, 0), Got("og", "o2", "a2", kQ1, 1),
                  Got("og", "o1", "a0", kQ0, 0), Got("cg", "c1", "a2", kQ1, 1),
                  Got("cg", "c1", "a1", kQ1, 0)};
  CheckResult r;
  CheckKeyOrder(h, &r);
  EXPECT_TRUE(r.ok()) << r.violations[0];
}

// --- offsets never backwards ---

TEST(OffsetMonotonicCheckerTest, HoldsWhenOnlyResetsMoveBack) {
  History h = Clustering();
  h.broker_starts = {sim::NodeStart{"broker-a", 1, At(0)}, sim::NodeStart{"broker-a", 2, At(50)}};
  h.commits = {Commit("c1", 10, 10), Commit("c1", 20, 20),
               Commit("c2", 15, 30),                         // another owner: a reset
               Commit("c2", 18, 40), Commit("c2", 12, 60)};  // the broker restarted at 50: a reset
  CheckResult r;
  CheckOffsetsMonotonic(h, &r);
  EXPECT_TRUE(r.ok()) << r.violations[0];
  EXPECT_EQ(Counters(r)["commits_backwards_reset"], 2u);
}

TEST(OffsetMonotonicCheckerTest, OneOwnerGoingBackWithoutAResetBreaksIt) {
  History h = Clustering();
  h.commits = {Commit("c1", 10, 10), Commit("c1", 30, 20, /*acked=*/false),
               Commit("c1", 25, 30)};  // below 30, but 30 was never acknowledged: fine
  CheckResult ok;
  CheckOffsetsMonotonic(h, &ok);
  EXPECT_TRUE(ok.ok()) << ok.violations[0];
  h.commits.push_back(Commit("c1", 24, 40));  // below the acknowledged 25
  CheckResult bad;
  CheckOffsetsMonotonic(h, &bad);
  ASSERT_EQ(bad.violations.size(), 1u);
  EXPECT_NE(bad.violations[0].find("committed 24"), std::string::npos) << bad.violations[0];
  // The same drop by a later incarnation of c1 is an owner change.
  h.commits.back().incarnation = 2;
  CheckResult restarted;
  CheckOffsetsMonotonic(h, &restarted);
  EXPECT_TRUE(restarted.ok()) << restarted.violations[0];
}

TEST(OffsetMonotonicCheckerTest, CommitsSentAtOneInstantAreUnordered) {
  History h = Clustering();
  // A persist round sent 114 and a pull sent 115 at the same instant; the pull's answer came
  // first. Neither is before the other, so a later 114 is not backwards.
  h.commits = {Commit("c1", 115, 10), Commit("c1", 114, 10), Commit("c1", 114, 20)};
  CheckResult r;
  CheckOffsetsMonotonic(h, &r);
  EXPECT_TRUE(r.ok()) << r.violations[0];
  h.commits.push_back(Commit("c1", 113, 30));  // below both
  CheckResult bad;
  CheckOffsetsMonotonic(h, &bad);
  EXPECT_EQ(bad.violations.size(), 1u);
}

TEST(OffsetMonotonicCheckerTest, AnotherOwnersCommitInBetweenIsAReset) {
  History h = Clustering();
  h.commits = {Commit("c1", 30, 10), Commit("c2", 20, 20, /*acked=*/false), Commit("c1", 20, 30)};
  CheckResult r;
  CheckOffsetsMonotonic(h, &r);
  EXPECT_TRUE(r.ok()) << r.violations[0];
}

// --- commits never pass an undelivered message ---

TEST(CommitCoverCheckerTest, HoldsWhenEverythingBelowWasHanded) {
  History h = Clustering();
  h.sends = {Sent("m0", kQ0, 0), Sent("m1", kQ0, 1), Sent("m2", kQ0, 2)};
  h.deliveries = {Got("cg", "c1", "m0", kQ0, 0, 5),
                  Got("cg", "c2", "m1", kQ0, 1, 6, ConsumeOutcome::kFailed)};
  h.commits = {Commit("c1", 1, 5), Commit("c2", 2, 6)};  // m2 not passed
  CheckResult r;
  CheckCommitsCovered(h, &r);
  EXPECT_TRUE(r.ok()) << r.violations[0];
}

TEST(CommitCoverCheckerTest, ACommitPassingAMessageNotYetHandedBreaksIt) {
  History h = Clustering();
  h.sends = {Sent("m0", kQ0, 0), Sent("m1", kQ0, 1), Sent("m2", kQ0, 2)};
  h.deliveries = {Got("cg", "c1", "m0", kQ0, 0, 5), Got("cg", "c1", "m2", kQ0, 2, 6),
                  Got("cg", "c1", "m1", kQ0, 1, 20)};
  h.commits = {Commit("c1", 3, 10)};  // m1 only came at 20
  CheckResult r;
  CheckCommitsCovered(h, &r);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].find("passing m1"), std::string::npos) << r.violations[0];
  EXPECT_NE(r.violations[0].find("first delivered to cg at 20 ms"), std::string::npos);
  h.deliveries.pop_back();
  CheckResult never;
  CheckCommitsCovered(h, &never);
  ASSERT_EQ(never.violations.size(), 1u);
  EXPECT_NE(never.violations[0].find("never delivered"), std::string::npos);
}

TEST(CommitCoverCheckerTest, DamagedMessagesAreExcused) {
  History h = Clustering();
  h.sends = {Sent("m0", kQ0, 0), Sent("m1", kQ0, 1)};
  h.deliveries = {Got("cg", "c1", "m1", kQ0, 1, 5)};
  h.commits = {Commit("c1", 2, 10)};
  h.audit.done = true;
  h.audit.refused = {{kQ0, 0}};
  h.bit_flips = 1;
  CheckResult r;
  CheckCommitsCovered(h, &r);
  EXPECT_TRUE(r.ok()) << r.violations[0];
}

// --- delays ---

History Delayed(int64_t delivered_ms) {
  History h = Clustering();
  h.delay_levels = {1s, 5s};
  h.clock_sample_period = 10ms;
  SendOp s = Sent("d0", kQ0, 0);
  s.delay_level = 2;
  s.invoked = At(1000);
  s.completed = At(1002);
  h.sends = {s};
  h.deliveries = {Got("cg", "c1", "d0", kQ0, 7, delivered_ms)};
  h.clocks = {sim::ClockSample{"broker-a", At(0), 0ms}};
  return h;
}

TEST(DelayCheckerTest, HoldsWhenDeliveredAfterTheLevelsDelay) {
  History h = Delayed(6000);
  CheckResult r;
  CheckDelays(h, &r);
  EXPECT_TRUE(r.ok()) << r.violations[0];
  EXPECT_EQ(Counters(r)["delayed_delivered"], 1u);
}

TEST(DelayCheckerTest, EarlyWithoutAClockGainBreaksIt) {
  History h = Delayed(5500);  // due at 6000
  CheckResult r;
  CheckDelays(h, &r);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].find("500 ms early"), std::string::npos) << r.violations[0];
}

TEST(DelayCheckerTest, AForwardJumpOfTheBrokersClockExcusesExactlyItsSize) {
  History h = Delayed(5500);
  h.clocks.push_back(sim::ClockSample{"broker-a", At(3000), 600ms});
  CheckResult r;
  CheckDelays(h, &r);
  EXPECT_TRUE(r.ok()) << r.violations[0];
  EXPECT_EQ(Counters(r)["delay_early_excused_by_clock"], 1u);
  // A jump of 400 ms does not cover 500 ms; nor does one on another broker, nor a backward one.
  h.clocks.back().offset = 400ms;
  CheckResult small;
  CheckDelays(h, &small);
  EXPECT_EQ(small.violations.size(), 1u);
  h.clocks.back() = sim::ClockSample{"broker-b", At(3000), 600ms};
  CheckResult other;
  CheckDelays(h, &other);
  EXPECT_EQ(other.violations.size(), 1u);
  h.clocks.back() = sim::ClockSample{"broker-a", At(3000), -600ms};
  CheckResult backwards;
  CheckDelays(h, &backwards);
  EXPECT_EQ(backwards.violations.size(), 1u);
}

// --- dead letters ---

TEST(DeadLetterCheckerTest, HoldsAfterMaxPlusOneFailures) {
  History h = Clustering(/*max_reconsume=*/2);
  h.sends = {Sent("m0", kQ0, 0)};
  for (int i = 0; i < 3; i++) {
    h.deliveries.push_back(Got("cg", "c1", "m0", kQ0, 0, 10 * i, ConsumeOutcome::kFailed));
  }
  h.dlq = {DlqRecord{"cg", "m0", "id", "broker-a", 0, 3, 0, At(100)}};
  CheckResult r;
  CheckDeadLetters(h, &r);
  EXPECT_TRUE(r.ok()) << r.violations[0];
}

TEST(DeadLetterCheckerTest, TooFewFailuresOrAnUnboundedGroupBreaksIt) {
  History h = Clustering(/*max_reconsume=*/2);
  h.sends = {Sent("m0", kQ0, 0)};
  h.deliveries = {Got("cg", "c1", "m0", kQ0, 0, 10, ConsumeOutcome::kFailed),
                  Got("cg", "c1", "m0", kQ0, 0, 20, ConsumeOutcome::kFailed),
                  Got("cg", "c1", "m0", kQ0, 0, 200, ConsumeOutcome::kFailed)};  // after the DLQ
  h.dlq = {DlqRecord{"cg", "m0", "id", "broker-a", 0, 3, 0, At(100)}};
  CheckResult r;
  CheckDeadLetters(h, &r);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].find("after 2 failed deliveries"), std::string::npos)
      << r.violations[0];
  h.groups[0].max_reconsume_times = -1;
  CheckResult unbounded;
  CheckDeadLetters(h, &unbounded);
  ASSERT_EQ(unbounded.violations.size(), 1u);
  EXPECT_NE(unbounded.violations[0].find("without bound"), std::string::npos);
}

TEST(DeadLetterCheckerTest, ADlqMessageCountsAsGotForDelivery) {
  History h = Clustering();
  h.sends = {Sent("m0", kQ0, 0), Sent("m1", kQ0, 1)};
  h.deliveries = {Got("cg", "c1", "m0", kQ0, 0, 10, ConsumeOutcome::kFailed),
                  Got("cg", "c1", "m1", kQ0, 1, 10, ConsumeOutcome::kFailed)};
  h.dlq = {DlqRecord{"cg", "m0", "id", "broker-a", 0, 3, 0, At(100)}};
  CheckResult r;
  CheckAcknowledgedDelivered(h, &r);
  // m1 only failed: the group has not got it yet.
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].find("m1"), std::string::npos) << r.violations[0];
}

// --- bodies ---

TEST(BodyCheckerTest, ADifferentBodyBreaksIt) {
  History h = Clustering();
  h.sends = {Sent("m0", kQ0, 0)};
  h.sends[0].body_crc = 0x1234;
  h.deliveries = {Got("cg", "c1", "m0", kQ0, 0)};
  h.deliveries[0].body_crc = 0x1234;
  CheckResult ok;
  CheckBodies(h, &ok);
  EXPECT_TRUE(ok.ok()) << ok.violations[0];
  h.deliveries[0].body_crc = 0x1235;
  h.dlq = {DlqRecord{"cg", "m0", "id", "broker-a", 0, 3, 0x9, At(100)}};
  CheckResult bad;
  CheckBodies(h, &bad);
  ASSERT_EQ(bad.violations.size(), 2u);
  EXPECT_NE(bad.violations[0].find("body CRC 0x00001235"), std::string::npos) << bad.violations[0];
}

TEST(BodyCheckerTest, RecordsTheAuditorReadAreHeldToTheBodiesSent) {
  // A store that serves a corrupted record serves it to whoever reads it: the auditor's reads
  // count, not only deliveries (a flip in a record every group had already consumed).
  History h = Clustering();
  h.sends = {Sent("m0", kQ0, 0), Sent("m1", kQ0, 1)};
  h.sends[0].body_crc = 0x1234;
  h.sends[1].body_crc = 0x5678;
  h.audit.done = true;
  h.audit.reads = {AuditRead{"m0", kQ0, 0, 0x1234}, AuditRead{"m1", kQ0, 1, 0x5678},
                   AuditRead{"never-sent", kQ0, 2, 0x1}};
  CheckResult ok;
  CheckBodies(h, &ok);
  EXPECT_TRUE(ok.ok()) << ok.violations[0];
  h.audit.reads[1].body_crc = 0x5679;
  CheckResult bad;
  CheckBodies(h, &bad);
  ASSERT_EQ(bad.violations.size(), 1u);
  EXPECT_NE(bad.violations[0].find("the auditor read m1"), std::string::npos) << bad.violations[0];
  EXPECT_NE(bad.violations[0].find("0x00005679"), std::string::npos) << bad.violations[0];
}

// --- damage ---

TEST(DamageTest, RefusedPositionsExcuseTheirMessagesUpToTheFlips) {
  History h = Clustering();
  h.sends = {Sent("m0", kQ0, 0), Sent("m1", kQ0, 1)};
  h.deliveries = {Got("cg", "c1", "m1", kQ0, 1)};
  h.audit.done = true;
  h.audit.keys = {"m1"};
  h.audit.refused = {{kQ0, 0}};
  h.bit_flips = 1;
  CheckResult r;
  CheckNotLost(h, &r);
  CheckAcknowledgedDelivered(h, &r);
  CheckRefusedWithinFlips(h, &r);
  EXPECT_TRUE(r.ok()) << r.violations[0];
  EXPECT_EQ(Counters(r)["acked_damaged_excused"], 1u);
  h.bit_flips = 0;  // refused with nothing flipped: the store skipped a sound record
  CheckResult bad;
  CheckRefusedWithinFlips(h, &bad);
  ASSERT_EQ(bad.violations.size(), 1u);
  EXPECT_NE(bad.violations[0].find("refused to serve 1"), std::string::npos) << bad.violations[0];
}

// --- liveness bound ---

TEST(CatchUpCheckerTest, ReportsTheLastArrivalAndBreaksBeyondTheBound) {
  History h = Clustering();
  h.sends = {Sent("m0", kQ0, 0), Sent("m1", kQ0, 1)};
  h.deliveries = {Got("cg", "c1", "m0", kQ0, 0, 500), Got("cg", "c1", "m1", kQ0, 1, 4000)};
  CheckResult r;
  CheckCatchUp(h, At(1000), 5s, &r);
  EXPECT_TRUE(r.ok()) << r.violations[0];
  EXPECT_EQ(Counters(r)["catch_up_last_ms"], 3000u);
  CheckResult late;
  CheckCatchUp(h, At(1000), 2s, &late);
  ASSERT_EQ(late.violations.size(), 1u);
  EXPECT_NE(late.violations[0].find("m1 reached cg 3000 ms after healing"), std::string::npos)
      << late.violations[0];
}

}  // namespace
}  // namespace apogee::scenarios
