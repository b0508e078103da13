// The "transactions all-or-nothing" checker on small histories: committed transactions got by
// every group hold; a committed one a group never got is late (liveness); a rolled-back or
// never-decided one delivered anywhere, even once and even with a failed consume, is a safety
// violation.

#include <gtest/gtest.h>

#include <string>

#include "scenarios/checkers.h"

namespace apogee::scenarios {
namespace {

using sim::Delivery;
using sim::GroupInfo;
using sim::History;
using sim::TxnDecision;
using sim::TxnRecord;

const sim::MessageQueue kQ0{"T", "broker-a", 0};

TxnRecord Txn(std::string key, TxnDecision decision, std::string end_sent = "") {
  return TxnRecord{.key = std::move(key),
                   .producer = std::string("producer-1"),
                   .topic = std::string("T"),
                   .invoked = {},
                   .half_acked = true,
                   .decision = decision,
                   .end_sent = std::move(end_sent)};
}

Delivery Got(std::string group, std::string consumer, std::string key,
             sim::ConsumeOutcome outcome = sim::ConsumeOutcome::kOk) {
  Delivery d;
  d.group = std::move(group);
  d.consumer = std::move(consumer);
  d.key = std::move(key);
  d.queue = kQ0;
  d.offset = 0;
  d.outcome = outcome;
  return d;
}

History TwoGroups() {
  History h;
  h.groups = {GroupInfo{"cg", "T", false, false, {"c1", "c2"}},
              GroupInfo{"bg", "T", true, false, {"b1", "b2"}}};
  return h;
}

TEST(TxnCheckerTest, HoldsWhenCommitsReachEveryGroupAndRollbacksNone) {
  History h = TwoGroups();
  h.transactions = {Txn("t-commit", TxnDecision::kCommit, "COMMIT_MESSAGE"),
                    Txn("t-late", TxnDecision::kCommit, "UNKNOW"),
                    Txn("t-rollback", TxnDecision::kRollback, "ROLLBACK_MESSAGE"),
                    Txn("t-crashed", TxnDecision::kNone)};
  for (const char* key : {"t-commit", "t-late"}) {
    h.deliveries.push_back(Got("cg", "c2", key));
    h.deliveries.push_back(Got("bg", "b1", key));
    h.deliveries.push_back(Got("bg", "b2", key));
  }
  CheckResult safety;
  CheckResult late;
  CheckTransactions(h, &safety, &late);
  EXPECT_TRUE(safety.ok()) << safety.violations[0];
  EXPECT_TRUE(late.ok()) << late.violations[0];
}

TEST(TxnCheckerTest, ACommitAGroupNeverGotIsLate) {
  History h = TwoGroups();
  h.transactions = {Txn("t1", TxnDecision::kCommit, "COMMIT_MESSAGE")};
  h.deliveries = {Got("cg", "c1", "t1"), Got("bg", "b1", "t1")};
  CheckResult safety;
  CheckResult late;
  CheckTransactions(h, &safety, &late);
  EXPECT_TRUE(safety.ok());
  ASSERT_EQ(late.violations.size(), 1u);
  EXPECT_NE(late.violations[0].find("never delivered to consumer b2"), std::string::npos)
      << late.violations[0];
}

TEST(TxnCheckerTest, AFailedConsumeIsNotADelivery) {
  History h = TwoGroups();
  h.groups.pop_back();
  h.transactions = {Txn("t1", TxnDecision::kCommit)};
  h.deliveries = {Got("cg", "c1", "t1", sim::ConsumeOutcome::kFailed)};
  CheckResult safety;
  CheckResult late;
  CheckTransactions(h, &safety, &late);
  ASSERT_EQ(late.violations.size(), 1u);
  EXPECT_NE(late.violations[0].find("never delivered to group cg"), std::string::npos);
}

TEST(TxnCheckerTest, ARolledBackOrNeverDecidedTransactionDeliveredOnceIsAViolation) {
  History h = TwoGroups();
  h.transactions = {Txn("t-rollback", TxnDecision::kRollback, "ROLLBACK_MESSAGE"),
                    Txn("t-crashed", TxnDecision::kNone)};
  h.deliveries = {Got("cg", "c1", "t-rollback", sim::ConsumeOutcome::kFailed),
                  Got("bg", "b2", "t-crashed")};
  CheckResult safety;
  CheckResult late;
  CheckTransactions(h, &safety, &late);
  EXPECT_TRUE(late.ok());
  ASSERT_EQ(safety.violations.size(), 2u);
  EXPECT_NE(safety.violations[0].find("rolled-back transaction t-rollback"), std::string::npos)
      << safety.violations[0];
  EXPECT_NE(safety.violations[1].find("never-committed transaction t-crashed"), std::string::npos)
      << safety.violations[1];
}

}  // namespace
}  // namespace apogee::scenarios
