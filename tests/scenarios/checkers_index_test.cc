// The checkers' history index: interning in order of first appearance, the per-key facts it
// derives, what a group got (arrivals), and that the checkers give the same answers on an index
// as on the history, in name order whatever order the ids were given in.

#include "scenarios/checkers_index.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "scenarios/checkers.h"

namespace apogee::scenarios {
namespace {

using namespace std::chrono_literals;
using sim::ConsumeOutcome;
using sim::Delivery;
using sim::DlqRecord;
using sim::GroupInfo;
using sim::History;
using sim::MessageQueue;
using sim::OpOutcome;
using sim::SendOp;

const MessageQueue kQ0{"T", "broker-a", 0};
const MessageQueue kQ1{"T", "broker-b", 0};
constexpr uint32_t kNone = HistoryIndex::kNone;

Instant At(int64_t ms) { return Instant{} + std::chrono::milliseconds(ms); }

SendOp Sent(std::string key, OpOutcome outcome = OpOutcome::kOk, MessageQueue q = kQ0,
            int64_t offset = 0) {
  SendOp s;
  s.key = std::move(key);
  s.topic = "T";
  s.outcome = outcome;
  s.queue = q;
  s.offset = offset;
  return s;
}

Delivery Got(std::string group, std::string consumer, std::string key, int64_t at_ms,
             ConsumeOutcome outcome = ConsumeOutcome::kOk, MessageQueue q = kQ0) {
  Delivery d;
  d.group = std::move(group);
  d.consumer = std::move(consumer);
  d.key = std::move(key);
  d.queue = q;
  d.at = At(at_ms);
  d.outcome = outcome;
  return d;
}

History TwoGroups() {
  History h;
  h.groups = {GroupInfo{"cg", "T", false, false, {"c1", "c2"}},
              GroupInfo{"bg", "T", true, false, {"b1", "b2"}}};
  return h;
}

TEST(HistoryIndexTest, InternsKeysInOrderOfFirstAppearance) {
  History h = TwoGroups();
  h.sends = {Sent("m1"), Sent("m0", OpOutcome::kInfo), Sent("m1", OpOutcome::kFail)};
  h.deliveries = {Got("cg", "c1", "ghost", 0), Got("cg", "c1", "m0", 0)};
  h.dlq = {DlqRecord{"cg", "late", "id", "broker-a", 0, 0, 0, At(0)}};
  const HistoryIndex index(h);
  ASSERT_EQ(index.key_count(), 4u);
  EXPECT_EQ(index.Key(0), "m1");
  EXPECT_EQ(index.Key(1), "m0");
  EXPECT_EQ(index.Key(2), "ghost");
  EXPECT_EQ(index.Key(3), "late");
  EXPECT_EQ(index.KeyId("m0"), 1u);
  EXPECT_EQ(index.KeyId("never"), kNone);
  EXPECT_EQ(index.send_key(2), 0u);
  EXPECT_EQ(index.delivery_key(0), 2u);
  EXPECT_EQ(index.dlq_key(0), 3u);
}

TEST(HistoryIndexTest, ManyKeysAndQueuesEachGetOneId) {
  History h = TwoGroups();
  for (int i = 0; i < 3000; i++) {
    h.sends.push_back(Sent(fmt::format("m{}", i), OpOutcome::kOk,
                           MessageQueue{"T", fmt::format("broker-{}", i % 100), i % 7}));
  }
  for (int i = 2999; i >= 0; i -= 3)
    h.deliveries.push_back(Got("cg", "c1", fmt::format("m{}", i), 0));
  const HistoryIndex index(h);
  ASSERT_EQ(index.key_count(), 3000u);
  for (int i = 0; i < 3000; i++) {
    const uint32_t k = index.KeyId(fmt::format("m{}", i));
    ASSERT_EQ(k, static_cast<uint32_t>(i));
    EXPECT_EQ(index.last_send(k), static_cast<uint32_t>(i));
  }
  EXPECT_EQ(index.KeyId("m3000"), kNone);
  EXPECT_EQ(index.delivery_key(0), 2999u);
  // 700 queues of the sends (100 brokers by 7 ids) and the deliveries' kQ0, past the scan:
  // each interned once, by value.
  ASSERT_EQ(index.queue_count(), 701u);
  for (int i = 0; i < 3000; i++) {
    EXPECT_EQ(index.Queue(index.send_queue(static_cast<size_t>(i))),
              h.sends[static_cast<size_t>(i)].queue);
  }
  EXPECT_EQ(index.send_queue(700), index.send_queue(0));
  EXPECT_EQ(index.QueueId(MessageQueue{"T", "broker-0", 0}), index.send_queue(0));
  EXPECT_EQ(index.QueueId(MessageQueue{"T", "broker-0", 7}), kNone);
}

TEST(HistoryIndexTest, KnowsEachKeysLastSendAndWhetherItWasAcknowledged) {
  History h = TwoGroups();
  h.sends = {Sent("m1"), Sent("m0", OpOutcome::kInfo), Sent("m1", OpOutcome::kFail)};
  h.deliveries = {Got("cg", "c1", "ghost", 0)};
  const HistoryIndex index(h);
  const uint32_t m0 = index.KeyId("m0");
  const uint32_t m1 = index.KeyId("m1");
  const uint32_t ghost = index.KeyId("ghost");
  EXPECT_EQ(index.last_send(m1), 2u);  // the failed resend, the later one
  EXPECT_TRUE(index.acked(m1));        // an earlier send of it was acknowledged
  EXPECT_EQ(index.last_send(m0), 1u);
  EXPECT_FALSE(index.acked(m0));
  EXPECT_FALSE(index.sent(ghost));
  EXPECT_EQ(index.last_send(ghost), kNone);
  // Only acknowledged sends have a queue.
  EXPECT_EQ(index.send_queue(0), index.QueueId(kQ0));
  EXPECT_EQ(index.send_queue(1), kNone);
}

TEST(HistoryIndexTest, DamageNeedsADoneAuditAndAnAcknowledgedUndelayedSend) {
  History h = TwoGroups();
  h.sends = {Sent("m0", OpOutcome::kOk, kQ0, 0), Sent("m1", OpOutcome::kOk, kQ0, 1),
             Sent("m2", OpOutcome::kInfo, kQ0, 2), Sent("m3", OpOutcome::kOk, kQ0, 3)};
  h.sends[3].delay_level = 1;  // its offset is in the schedule queue, not kQ0
  h.audit.refused = {{kQ0, 0}, {kQ0, 2}, {kQ0, 3}};
  EXPECT_FALSE(HistoryIndex(h).damaged(0));  // the audit is not done
  h.audit.done = true;
  const HistoryIndex index(h);
  EXPECT_TRUE(index.damaged(index.KeyId("m0")));
  EXPECT_FALSE(index.damaged(index.KeyId("m1")));
  EXPECT_FALSE(index.damaged(index.KeyId("m2")));
  EXPECT_FALSE(index.damaged(index.KeyId("m3")));
  EXPECT_EQ(DamagedKeys(h), std::set<std::string>{"m0"});
}

TEST(HistoryIndexTest, GroupsAreKnownByTheirLastDescription) {
  History h = TwoGroups();
  h.groups.push_back(GroupInfo{"cg", "T", true, false, {"c3"}});  // cg again, broadcasting
  h.deliveries = {Got("unknown", "u1", "m0", 0)};
  const HistoryIndex index(h);
  const uint32_t cg = index.GroupId("cg");
  ASSERT_NE(cg, kNone);
  EXPECT_EQ(index.Info(cg), &h.groups[2]);
  EXPECT_TRUE(index.broadcasting(cg));
  const uint32_t unknown = index.delivery_group(0);
  EXPECT_EQ(index.GroupName(unknown), "unknown");
  EXPECT_EQ(index.Info(unknown), nullptr);
  EXPECT_FALSE(index.broadcasting(unknown));
  EXPECT_EQ(index.MemberName(HistoryIndex::kNoMember), "");
  EXPECT_EQ(index.MemberName(index.delivery_member(0)), "u1");
  EXPECT_NE(index.MemberId("c3"), kNone);
}

TEST(HistoryIndexTest, ArrivalsFollowWhatAGroupGot) {
  History h = TwoGroups();
  h.sends = {Sent("m0")};
  h.deliveries = {
      Got("cg", "c2", "m0", 50, ConsumeOutcome::kFailed),    // clustering: a failure is no arrival
      Got("cg", "c2", "m0", 70), Got("cg", "c2", "m0", 60),  // later in history: not the first
      Got("bg", "b2", "m0", 30, ConsumeOutcome::kFailed),    // broadcasting: failures count
      Got("bg", "b1", "m0", 40)};
  h.dlq = {DlqRecord{"cg", "m0", "id", "broker-a", 0, 0, 0, At(90)}};
  const HistoryIndex index(h);
  const uint32_t m0 = index.KeyId("m0");
  auto cg = index.Arrivals(index.GroupId("cg"), m0);
  ASSERT_EQ(cg.size(), 2u);  // the DLQ ("", id 0) first, then c2
  EXPECT_EQ(cg[0].member, HistoryIndex::kNoMember);
  EXPECT_EQ(cg[0].at, At(90));
  EXPECT_EQ(cg[1].member, index.MemberId("c2"));
  EXPECT_EQ(cg[1].at, At(70));
  auto bg = index.Arrivals(index.GroupId("bg"), m0);
  ASSERT_EQ(bg.size(), 2u);
  EXPECT_LT(bg[0].member, bg[1].member);
  EXPECT_EQ(bg[0].member, index.MemberId("b1"));
  EXPECT_EQ(bg[1].at, At(30));
}

// The checkers report in name order although ids follow first appearance: late keys by key,
// groups by name, queues by topic, broker and id.
TEST(HistoryIndexTest, CheckersReportInNameOrder) {
  History h;
  h.groups = {GroupInfo{"zg", "T", false, false, {"c1"}},
              GroupInfo{"ag", "T", false, false, {"c1"}}};
  h.sends = {Sent("m9"), Sent("m10")};
  h.deliveries = {Got("zg", "c1", "m9", 9000), Got("zg", "c1", "m10", 9000),
                  Got("ag", "c1", "m9", 9000), Got("ag", "c1", "m10", 9000)};
  CheckResult late;
  CheckCatchUp(h, At(0), 1s, &late);
  ASSERT_EQ(late.violations.size(), 4u);
  EXPECT_EQ(late.violations[0].find("liveness-bound: m10 reached ag"), 0u) << late.violations[0];
  EXPECT_EQ(late.violations[1].find("liveness-bound: m9 reached ag"), 0u) << late.violations[1];
  EXPECT_EQ(late.violations[2].find("liveness-bound: m10 reached zg"), 0u) << late.violations[2];

  // Out of order in two queues, the one on broker-b seen first.
  History o = TwoGroups();
  o.deliveries = {Got("cg", "c1", "a", 0, ConsumeOutcome::kOk, kQ1),
                  Got("cg", "c1", "b", 0, ConsumeOutcome::kOk, kQ0)};
  o.deliveries[0].offset = 2;
  o.deliveries.push_back(o.deliveries[0]);
  o.deliveries.back().offset = 1;
  o.deliveries[1].offset = 2;
  o.deliveries.push_back(o.deliveries[1]);
  o.deliveries.back().offset = 1;
  CheckResult order;
  CheckQueueOrder(o, &order);
  ASSERT_EQ(order.violations.size(), 2u);
  EXPECT_NE(order.violations[0].find("T/broker-a#0@1"), std::string::npos) << order.violations[0];
  EXPECT_NE(order.violations[1].find("T/broker-b#0@1"), std::string::npos) << order.violations[1];
}

TEST(HistoryIndexTest, OneIndexGivesWhatEachCheckerGivesOnTheHistory) {
  History h = TwoGroups();
  h.sends = {Sent("m0", OpOutcome::kOk, kQ0, 0), Sent("m1", OpOutcome::kOk, kQ0, 1),
             Sent("m2", OpOutcome::kOk, kQ0, 2)};
  h.sends[1].body_crc = 7;
  h.deliveries = {Got("cg", "c1", "m1", 10), Got("cg", "c1", "m1", 20), Got("bg", "b1", "m0", 10),
                  Got("cg", "c1", "ghost", 30)};
  h.commits = {sim::OffsetCommit{"cg", "c1", 1, kQ0, 3, At(15), true},
               sim::OffsetCommit{"cg", "c1", 1, kQ0, 1, At(25), true}};
  const HistoryIndex index(h);
  const CheckResult on_index = CheckAll(index);
  const CheckResult on_history = CheckAll(h);
  EXPECT_FALSE(on_index.ok());
  EXPECT_EQ(on_index.violations, on_history.violations);
  EXPECT_EQ(on_index.counters, on_history.counters);
  // Every checker CheckAll runs found something here but the key-order, delay and DLQ ones.
  for (const char* checker :
       {"undelivered", "phantom", "offset-backwards", "offset-passes", "body"}) {
    bool found = false;
    for (const std::string& v : on_index.violations) found = found || v.find(checker) == 0;
    EXPECT_TRUE(found) << checker;
  }
}

}  // namespace
}  // namespace apogee::scenarios
