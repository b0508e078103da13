// Restarts of a real broker: a clean stop (SIGTERM) keeps messages and consumer offsets; a
// crash (SIGKILL) under SYNC_FLUSH loses no acknowledged message.

#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "client_workload.h"
#include "daemon_harness.h"

namespace apogee::integration {
namespace {

TEST(RestartTest, CleanStopKeepsMessagesAndConsumerOffsets) {
  // Proves a broker stopped with SIGTERM exits 0 and comes back with every acknowledged message
  // consumable and its consumer offsets persisted: a consumer of the same group resumes where
  // it stopped (the new messages arrive, the old ones at most a few times again).
  Cluster cluster;
  DumpLogsOnFailure dump(cluster);
  ASSERT_TRUE(cluster.Start());
  const std::string ns = cluster.namesrv_addr();
  Produced first;
  Consumed before;
  RunClient(cluster.dir(), [&](io::Env& env) {
    first = Produce(env, Sends(ns, "RestartT", "a", 2000));
    before =
        Consume(env, Receives(ns, "RestartT", "it-resume", "it-consumer",
                              [&](const Consumed& c) { return AllDelivered(c, first.acked); }));
  });
  ASSERT_EQ(first.acked.size(), 2000u) << first.first_error;
  ASSERT_TRUE(before.done);

  ASSERT_EQ(cluster.broker()->Terminate(), 0) << "SIGTERM must stop the broker cleanly";
  ASSERT_TRUE(cluster.RestartBroker());
  ASSERT_TRUE(WaitForRoute(cluster.dir(), ns, "RestartT", 10s));

  Consumed fresh;
  Produced second;
  Consumed resumed;
  RunClient(cluster.dir(), [&](io::Env& env) {
    fresh = Consume(env, Receives(ns, "RestartT", "it-fresh", "it-consumer-fresh",
                                  [&](const Consumed& c) { return AllDelivered(c, first.acked); }));
    second = Produce(env, Sends(ns, "RestartT", "b", 200));
    resumed =
        Consume(env, Receives(ns, "RestartT", "it-resume", "it-consumer-resumed",
                              [&](const Consumed& c) { return AllDelivered(c, second.acked); }));
  });
  EXPECT_TRUE(fresh.done);
  EXPECT_TRUE(Missing(fresh, first.acked).empty())
      << Missing(fresh, first.acked).size() << " acknowledged messages lost by the restart";
  ASSERT_EQ(second.acked.size(), 200u) << second.first_error;
  EXPECT_TRUE(resumed.done);
  size_t old_again = 0;
  for (const auto& [key, times] : resumed.deliveries) old_again += first.acked.count(key);
  RecordProperty("old_messages_redelivered", static_cast<int>(old_again));
  // A clean stop commits every offset, so nothing should come again; a few would be tolerable
  // (RocketMQ's at-least-once), everything would mean the offsets were lost.
  EXPECT_LE(old_again, 32u) << "the group's offsets were not persisted across the restart";
  EXPECT_EQ(cluster.broker()->Terminate(), 0);
}

TEST(RestartTest, KillUnderSyncFlushLosesNoAcknowledgedMessage) {
  // Proves the core durability promise over real processes: a SYNC_FLUSH broker killed with
  // SIGKILL while 16 senders are mid-send recovers, after a restart, every message it
  // acknowledged. Sends in flight at the kill may or may not survive; duplicates are counted.
  Cluster cluster;
  DumpLogsOnFailure dump(cluster);
  ASSERT_TRUE(cluster.Start());
  const std::string ns = cluster.namesrv_addr();
  Produced sent;
  bool killed = false;
  size_t acked_at_kill = 0;
  RunClient(cluster.dir(), [&](io::Env& env) {
    Instant stop_at = Instant::max();
    ProduceOptions o = Sends(ns, "CrashT", "k", 1'000'000);
    o.send_timeout = 1s;
    o.stop = [&] { return env.clock.Now() >= stop_at; };
    o.on_ack = [&](size_t acked) {
      if (killed || acked < 1500) return;
      // Mid-stream: the other senders have their sends in flight now.
      killed = true;
      acked_at_kill = acked;
      cluster.broker()->Kill();
      stop_at = env.clock.Now() + 300ms;
    };
    sent = Produce(env, o);
  });
  ASSERT_TRUE(killed) << sent.first_error;
  EXPECT_GT(sent.failed, 0u) << "no send failed: the kill did not land mid-stream";
  EXPECT_GE(sent.acked.size(), acked_at_kill);

  ASSERT_TRUE(cluster.RestartBroker());
  ASSERT_TRUE(WaitForRoute(cluster.dir(), ns, "CrashT", 10s));
  Consumed got;
  RunClient(cluster.dir(), [&](io::Env& env) {
    got = Consume(env, Receives(ns, "CrashT", "it-after-crash", "it-consumer",
                                [&](const Consumed& c) { return AllDelivered(c, sent.acked); }));
  });
  std::vector<std::string> missing = Missing(got, sent.acked);
  EXPECT_TRUE(missing.empty()) << missing.size() << " of " << sent.acked.size()
                               << " acknowledged messages lost, first " << missing.front();
  for (const auto& [key, times] : got.deliveries) {
    EXPECT_EQ(sent.attempted.count(key), 1u) << "delivered but never sent: " << key;
  }
  RecordProperty("acknowledged", static_cast<int>(sent.acked.size()));
  RecordProperty("unacknowledged_delivered",
                 static_cast<int>(got.deliveries.size() - (sent.acked.size() - missing.size())));
  RecordProperty("duplicates", static_cast<int>(got.duplicates));
  EXPECT_EQ(cluster.broker()->Terminate(), 0);
}

}  // namespace
}  // namespace apogee::integration
