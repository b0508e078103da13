// Transactional messages end to end: a TransactionProducer sends through two brokers to a push
// consumer group; committed transactions are delivered, rolled-back ones never, and those whose
// local outcome was unknown are settled by the brokers' checks (RocketMQ's defaults: a pass every
// 60 s for half messages older than 6 s) as the producer's check listener says.

#include <gtest/gtest.h>

#include <map>

#include "core/client/transaction_producer.h"
#include "tests/cluster/cluster_fixture.h"

namespace apogee::cluster_test {
namespace {

using client::LocalTransactionState;

class TxnTest : public ClusterTest {};

TEST_F(TxnTest, CommittedAndCheckedCommitsAreDeliveredRollbacksNever) {
  // Proves: across two brokers, commit -> delivered; rollback -> never; unknown then a check
  // answered commit -> delivered; unknown then a check answered rollback -> never.
  sim::ClusterSpec spec;
  spec.producers = 0;
  Build(spec);
  Start();
  NodeId consumer = AddConsumer("c-txn", ConsumerSpec{.group = "cg-txn"});
  world().Start(consumer);

  // key -> what the executor says, and what the check listener says.
  struct Plan {
    LocalTransactionState local;
    LocalTransactionState checked;
  };
  std::map<std::string, Plan> plans;
  for (int i = 0; i < 6; i++) {
    plans[fmt::format("commit-{}", i)] = {LocalTransactionState::kCommit,
                                          LocalTransactionState::kRollback};
    plans[fmt::format("rollback-{}", i)] = {LocalTransactionState::kRollback,
                                            LocalTransactionState::kCommit};
    plans[fmt::format("late-commit-{}", i)] = {LocalTransactionState::kUnknown,
                                               LocalTransactionState::kCommit};
    plans[fmt::format("late-rollback-{}", i)] = {LocalTransactionState::kUnknown,
                                                 LocalTransactionState::kRollback};
  }
  size_t sent = 0;
  size_t checks = 0;
  NodeId producer =
      AddClientNode("p-txn", [&](io::Env& env, std::shared_ptr<client::ClientInstance> instance) {
        client::TransactionProducer p(instance, client::ProducerConfig{.group = "pg-txn"},
                                      [&](const protocol::MessageExt& m) {
                                        checks++;
                                        return plans.at(m.Keys()).checked;
                                      });
        if (!p.Start().ok()) return;
        for (const auto& [key, plan] : plans) {
          protocol::Message m;
          m.topic = cluster().spec().topic;
          m.SetKeys(key);
          m.body = {'t'};
          auto r = p.SendMessageInTransaction(
              m, [&](const protocol::Message&, const std::string&) { return plan.local; });
          if (r.ok()) sent++;
        }
        env.scheduler.Sleep(std::chrono::hours(1));  // keeps answering checks
      });
  world().Start(producer);
  RunFor(150s);
  ASSERT_EQ(sent, plans.size());
  EXPECT_GE(checks, 12u) << "every unknown outcome is checked";
  for (const auto& [key, plan] : plans) {
    SCOPED_TRACE(key);
    bool committed = plan.local == LocalTransactionState::kCommit ||
                     (plan.local == LocalTransactionState::kUnknown &&
                      plan.checked == LocalTransactionState::kCommit);
    size_t got = DeliveriesOf("cg-txn", key).size();
    if (committed) {
      EXPECT_GE(got, 1u);
    } else {
      EXPECT_EQ(got, 0u);
    }
  }
}

}  // namespace
}  // namespace apogee::cluster_test
