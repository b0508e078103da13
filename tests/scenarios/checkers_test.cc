#include "scenarios/checkers.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

namespace apogee::scenarios {
namespace {

using sim::Delivery;
using sim::GroupInfo;
using sim::History;
using sim::MessageQueue;
using sim::OpOutcome;
using sim::SendOp;

const MessageQueue kQ0{"T", "broker-a", 0};
const MessageQueue kQ1{"T", "broker-a", 1};

SendOp Sent(std::string key, OpOutcome outcome, MessageQueue q = kQ0, int64_t offset = 0) {
  SendOp s;
  s.producer = "p1";
  s.key = std::move(key);
  s.topic = "T";
  s.outcome = outcome;
  s.queue = q;
  s.offset = offset;
  return s;
}

Delivery Got(std::string group, std::string consumer, std::string key, int64_t offset,
             MessageQueue q = kQ0) {
  Delivery d;
  d.group = std::move(group);
  d.consumer = std::move(consumer);
  d.key = std::move(key);
  d.offset = offset;
  d.queue = q;
  return d;
}

History TwoGroups() {
  History h;
  h.groups = {GroupInfo{"cg", "T", false, false, {"c1", "c2"}},
              GroupInfo{"bg", "T", true, false, {"b1", "b2"}}};
  return h;
}

TEST(LostCheckerTest, HoldsWhenEveryGroupGotEveryAckedMessage) {
  History h = TwoGroups();
  h.sends = {Sent("m0", OpOutcome::kOk, kQ0, 0), Sent("m1", OpOutcome::kOk, kQ0, 1)};
  h.deliveries = {Got("cg", "c1", "m0", 0), Got("cg", "c2", "m1", 1), Got("bg", "b1", "m0", 0),
                  Got("bg", "b1", "m1", 1), Got("bg", "b2", "m0", 0), Got("bg", "b2", "m1", 1)};
  CheckResult r;
  CheckAcknowledgedDelivered(h, &r);
  EXPECT_TRUE(r.ok()) << r.violations[0];
}

TEST(LostCheckerTest, NamesTheGroupThatMissedAMessage) {
  History h = TwoGroups();
  h.sends = {Sent("m0", OpOutcome::kOk)};
  h.deliveries = {Got("bg", "b1", "m0", 0), Got("bg", "b2", "m0", 0)};
  CheckResult r;
  CheckAcknowledgedDelivered(h, &r);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].find("never delivered to group cg"), std::string::npos)
      << r.violations[0];
}

TEST(LostCheckerTest, BroadcastingNeedsEveryMember) {
  History h = TwoGroups();
  h.sends = {Sent("m0", OpOutcome::kOk)};
  h.deliveries = {Got("cg", "c1", "m0", 0), Got("bg", "b1", "m0", 0)};
  CheckResult r;
  CheckAcknowledgedDelivered(h, &r);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].find("broadcasting consumer b2"), std::string::npos);
}

TEST(LostCheckerTest, UnknownAndFailedSendsMayBeMissing) {
  History h = TwoGroups();
  h.sends = {Sent("m0", OpOutcome::kInfo), Sent("m1", OpOutcome::kFail)};
  CheckResult r;
  CheckAcknowledgedDelivered(h, &r);
  EXPECT_TRUE(r.ok());
}

TEST(LostCheckerTest, ShowsFiveViolationsAndTheTotal) {
  History h = TwoGroups();
  h.groups.resize(1);
  for (int i = 0; i < 8; i++) h.sends.push_back(Sent(fmt::format("m{}", i), OpOutcome::kOk));
  CheckResult r;
  CheckAcknowledgedDelivered(h, &r);
  ASSERT_EQ(r.violations.size(), kViolationsShown + 1);
  EXPECT_NE(r.violations.back().find("8 violations in all"), std::string::npos);
}

TEST(NotLostCheckerTest, UndeliveredButStoredIsNotLost) {
  History h = TwoGroups();
  h.groups.resize(1);
  h.sends = {Sent("m0", OpOutcome::kOk), Sent("m1", OpOutcome::kOk), Sent("m2", OpOutcome::kOk)};
  h.deliveries = {Got("cg", "c1", "m2", 2)};  // delivered, then gone from the store: fine
  h.audit.done = true;
  h.audit.keys = {"m0"};  // m0 late but stored; m1 gone and never delivered: lost
  CheckResult r;
  CheckNotLost(h, &r);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].find("m1"), std::string::npos) << r.violations[0];
  EXPECT_NE(r.violations[0].find("in no broker's store and never reached cg"), std::string::npos);
}

TEST(PhantomCheckerTest, ADeliveryOfAnUnsentKeyIsAPhantom) {
  History h = TwoGroups();
  h.sends = {Sent("m0", OpOutcome::kInfo)};
  h.deliveries = {Got("cg", "c1", "m0", 0), Got("cg", "c1", "ghost", 1)};
  CheckResult r;
  CheckNoPhantoms(h, &r);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].find("'ghost'"), std::string::npos);
}

TEST(OrderCheckerTest, RedeliveriesAnywhereAreAllowed) {
  History h = TwoGroups();
  // 0, 1, 2, then from 1 again (a restart from an older offset): in order.
  h.deliveries = {Got("cg", "c1", "m0", 0), Got("cg", "c1", "m1", 1), Got("cg", "c1", "m2", 2),
                  Got("cg", "c1", "m1", 1), Got("cg", "c1", "m2", 2)};
  CheckResult ok;
  CheckQueueOrder(h, &ok);
  EXPECT_TRUE(ok.ok()) << ok.violations[0];
  // c2 had 3..4, then the queue came back to c1 from offset 0: every offset still has an
  // in-order delivery.
  h.deliveries = {Got("cg", "c2", "m3", 3), Got("cg", "c2", "m4", 4), Got("cg", "c1", "m0", 0),
                  Got("cg", "c1", "m1", 1), Got("cg", "c1", "m2", 2), Got("cg", "c1", "m3", 3),
                  Got("cg", "c1", "m4", 4)};
  CheckResult moved;
  CheckQueueOrder(h, &moved);
  EXPECT_TRUE(moved.ok()) << moved.violations[0];
}

TEST(OrderCheckerTest, AMessageConsumedOnlyAfterALaterOneIsOutOfOrder) {
  History h = TwoGroups();
  h.deliveries = {Got("cg", "c2", "m0", 0), Got("cg", "c2", "m2", 2), Got("cg", "c2", "m1", 1)};
  CheckResult bad;
  CheckQueueOrder(h, &bad);
  ASSERT_EQ(bad.violations.size(), 1u);
  EXPECT_NE(bad.violations[0].find("got T/broker-a#0@2 only before T/broker-a#0@1"),
            std::string::npos)
      << bad.violations[0];
}

TEST(OrderCheckerTest, QueuesAndBroadcastMembersAreIndependent) {
  History h = TwoGroups();
  h.deliveries = {Got("cg", "c1", "a", 5, kQ1), Got("cg", "c1", "b", 0, kQ0),
                  Got("bg", "b1", "c", 3, kQ0), Got("bg", "b2", "d", 1, kQ0),
                  Got("bg", "b1", "d", 4, kQ0)};
  CheckResult r;
  CheckQueueOrder(h, &r);
  EXPECT_TRUE(r.ok()) << r.violations[0];
}

TEST(DuplicateCounterTest, CountsPerGroupAndPerBroadcastingConsumer) {
  History h = TwoGroups();
  h.deliveries = {Got("cg", "c1", "m0", 0), Got("cg", "c2", "m0", 0),  // 1 duplicate in cg
                  Got("bg", "b1", "m0", 0), Got("bg", "b2", "m0", 0),  // none: two members
                  Got("bg", "b2", "m0", 0)};                           // 1 duplicate in bg
  CheckResult r;
  CountDuplicates(h, &r);
  EXPECT_TRUE(r.ok());
  std::map<std::string, uint64_t> c(r.counters.begin(), r.counters.end());
  EXPECT_EQ(c["deliveries"], 5u);
  EXPECT_EQ(c["duplicates"], 2u);
  EXPECT_EQ(c["duplicates_cg"], 1u);
  EXPECT_EQ(c["duplicates_bg"], 1u);
}

}  // namespace
}  // namespace apogee::scenarios
