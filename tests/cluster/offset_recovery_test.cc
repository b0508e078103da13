// Consumer offsets across a broker crash: a group consumes while a producer sends (SYNC_FLUSH);
// the broker and the group's consumer then crash together, the broker losing every unsynced
// write. After restarts the group resumes from the offsets the broker had made durable: it
// redelivers only what was consumed in the last few seconds before the crash (the client's 5 s
// commit round plus the broker's 5 s offset flush), and loses nothing that was acknowledged.

#include <gtest/gtest.h>

#include <map>

#include "scenarios/checkers.h"
#include "tests/cluster/cluster_fixture.h"

namespace apogee::cluster_test {
namespace {

class OffsetRecoveryTest : public ClusterTest {};

// The client pushes offsets every 5 s, the broker persists them every 5 s: what was consumed
// more than both (plus a pull round) before the crash is durable on the broker.
constexpr Duration kCommitLagMax = 5s + 5s + 1s;

TEST_F(OffsetRecoveryTest, GroupResumesNearItsCommittedOffsetsAfterABrokerCrash) {
  // Proves: after a crash (unsynced data dropped) of the only broker and of the consumer, the
  // restarted group redelivers only messages first consumed within kCommitLagMax before the
  // crash, consumes every acked message, and never goes back in a queue for anything else.
  sim::ClusterSpec spec;
  spec.brokers = 1;
  spec.producers = 1;
  spec.rate_per_producer = 20;
  spec.flush = store::FlushType::kSync;
  Build(spec);
  Start();
  const ConsumerSpec group{.group = "cg-offsets"};
  NodeId consumer = AddConsumer("c-offsets", group);
  world().Start(consumer);
  RunFor(30s);

  // Half-way: everything sent so far was consumed, and the offsets committed then are durable.
  const size_t consumed_before = history_.deliveries.size();
  ASSERT_GE(consumed_before, 20u * 25);
  const Instant crash_at = Now();
  world().Crash(consumer, sim::CrashMode::kDrop);
  world().Crash(cluster().brokers()[0], sim::CrashMode::kDrop);
  RunFor(5s);  // the producer's sends fail meanwhile (outcome unknown, or failed)
  world().Start(cluster().brokers()[0]);
  ASSERT_TRUE(RunUntil([&] { return broker(0) != nullptr; }, 10s));
  // The group comes back as a new consumer process (a restart of the same node).
  world().Start(consumer);
  RunFor(30s);
  cluster().StopProducers();
  RunFor(1s);
  ASSERT_TRUE(RunUntil(
      [&] {
        scenarios::CheckResult lost;
        scenarios::CheckAcknowledgedDelivered(history_, &lost);
        return lost.ok();
      },
      60s));

  // Every redelivery is of a message first consumed shortly before the crash.
  std::map<std::string, Instant> first;
  size_t duplicates = 0;
  for (const sim::Delivery& d : history_.deliveries) {
    auto [it, inserted] = first.emplace(d.key, d.at);
    if (inserted) continue;
    ++duplicates;
    EXPECT_LT(it->second, crash_at) << d.key;
    EXPECT_GE(it->second, crash_at - kCommitLagMax)
        << d.key << " first consumed " << Ms(crash_at - it->second)
        << " ms before the crash, redelivered after it";
  }
  // The restart did not start the group over: the consumed half is far larger than what came
  // back.
  EXPECT_LT(duplicates, consumed_before / 2);
  RecordProperty("duplicates", std::to_string(duplicates));

  // Sends acked before the crash survived it (SYNC_FLUSH), and so did the ones after.
  size_t acked_before = 0;
  for (const sim::SendOp& s : history_.sends) {
    if (s.outcome == sim::OpOutcome::kOk && s.completed < crash_at) ++acked_before;
  }
  EXPECT_GE(acked_before, consumed_before);
  scenarios::CheckResult all = scenarios::CheckAll(history_);
  EXPECT_TRUE(all.ok()) << fmt::format("{}", fmt::join(all.violations, "\n"));
}

}  // namespace
}  // namespace apogee::cluster_test
