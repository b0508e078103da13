// QueueLockManager and the LOCK_BATCH_MQ / UNLOCK_BATCH_MQ handlers: exclusivity between clients,
// expiry after 60 s, renewal, unlocking only one's own locks, the JSON bodies, and a property
// that no two clients ever hold one queue at once.

#include "core/broker/queue_lock_manager.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>
#include <string>

#include "core/protocol/codes.h"
#include "core/protocol/headers.h"

namespace apogee::broker {
namespace {

using namespace std::chrono_literals;
using protocol::MessageQueue;
using MqSet = std::set<MessageQueue>;

MessageQueue Mq(int32_t id, std::string topic = "T") { return MessageQueue{topic, "broker-a", id}; }
Instant At(Duration d) { return Instant(d); }

TEST(QueueLockManagerTest, OneClientAtATime) {
  // Proves a queue locked by A is refused to B, while B still gets the queues nobody holds, and
  // that groups are independent.
  QueueLockManager locks;
  EXPECT_EQ(locks.TryLockBatch("G", "A", {Mq(0), Mq(1)}, At(0s)), (MqSet{Mq(0), Mq(1)}));
  EXPECT_EQ(locks.TryLockBatch("G", "B", {Mq(1), Mq(2)}, At(1s)), (MqSet{Mq(2)}));
  EXPECT_TRUE(locks.IsLockedBy("G", Mq(1), "A", At(1s)));
  EXPECT_FALSE(locks.IsLockedBy("G", Mq(1), "B", At(1s)));
  EXPECT_EQ(locks.TryLockBatch("H", "B", {Mq(1)}, At(1s)), (MqSet{Mq(1)})) << "another group";
  EXPECT_EQ(locks.TryLockBatch("G", "B", {Mq(1, "U")}, At(1s)), (MqSet{Mq(1, "U")}))
      << "another topic";
  EXPECT_EQ(locks.size(), 5u);
  EXPECT_TRUE(locks.TryLockBatch("G", "B", {}, At(1s)).empty());
}

TEST(QueueLockManagerTest, ExpiresSixtySecondsAfterTheLastLock) {
  // Proves a lock still holds exactly 60 s after it was taken, lapses after that so another
  // client takes it over, and the former holder is then refused.
  QueueLockManager locks(60s);
  ASSERT_EQ(locks.TryLockBatch("G", "A", {Mq(0)}, At(10s)).size(), 1u);
  EXPECT_TRUE(locks.TryLockBatch("G", "B", {Mq(0)}, At(70s)).empty()) << "60 s: still held";
  EXPECT_TRUE(locks.IsLockedBy("G", Mq(0), "A", At(70s)));
  EXPECT_FALSE(locks.IsLockedBy("G", Mq(0), "A", At(70s) + 1ms));
  EXPECT_EQ(locks.TryLockBatch("G", "B", {Mq(0)}, At(70s) + 1ms), (MqSet{Mq(0)}));
  EXPECT_TRUE(locks.TryLockBatch("G", "A", {Mq(0)}, At(71s)).empty());
  EXPECT_TRUE(locks.IsLockedBy("G", Mq(0), "B", At(71s)));
}

TEST(QueueLockManagerTest, RenewalKeepsTheLock) {
  // Proves re-locking by the holder every 20 s keeps others out well past 60 s from the first
  // lock, and that an owner whose lock lapsed (nobody took it) gets it back.
  QueueLockManager locks;
  for (int i = 0; i <= 10; i++) {
    Instant now = At(std::chrono::seconds(20 * i));
    EXPECT_EQ(locks.TryLockBatch("G", "A", {Mq(0)}, now).size(), 1u) << i;
    EXPECT_TRUE(locks.TryLockBatch("G", "B", {Mq(0)}, now + 19s).empty()) << i;
  }
  EXPECT_EQ(locks.TryLockBatch("G", "A", {Mq(0)}, At(1000s)).size(), 1u) << "lapsed, own lock";
  EXPECT_TRUE(locks.TryLockBatch("G", "B", {Mq(0)}, At(1001s)).empty());
}

TEST(QueueLockManagerTest, UnlockReleasesOnlyTheCallersLocks) {
  // Proves UNLOCK by a client that does not hold a queue changes nothing, and by the holder frees
  // it at once for others; pruning drops only lapsed locks.
  QueueLockManager locks;
  ASSERT_EQ(locks.TryLockBatch("G", "A", {Mq(0), Mq(1)}, At(0s)).size(), 2u);
  EXPECT_EQ(locks.UnlockBatch("G", "B", {Mq(0), Mq(1)}), 0u);
  EXPECT_EQ(locks.UnlockBatch("H", "A", {Mq(0)}), 0u);
  EXPECT_TRUE(locks.IsLockedBy("G", Mq(0), "A", At(1s)));
  EXPECT_EQ(locks.UnlockBatch("G", "A", {Mq(0), Mq(5)}), 1u);
  EXPECT_EQ(locks.TryLockBatch("G", "B", {Mq(0), Mq(1)}, At(2s)), (MqSet{Mq(0)}));
  EXPECT_EQ(locks.PruneExpired(At(60s)), 0u);
  EXPECT_EQ(locks.PruneExpired(At(60s) + 1ms), 1u) << "A's lock on queue 1 lapsed";
  EXPECT_EQ(locks.size(), 1u);
}

RemotingCommand Request(int32_t code, std::string body) {
  return protocol::MakeRequest(code, {}, std::vector<uint8_t>(body.begin(), body.end()));
}

TEST(QueueLockHandlersTest, LockAndUnlockOverJsonBodies) {
  // Proves LOCK_BATCH_MQ answers SUCCESS with lockOKMQSet holding the granted queues only,
  // UNLOCK_BATCH_MQ releases them, and a body that does not parse is a SYSTEM_ERROR.
  QueueLockManager locks;
  std::string a = R"({"consumerGroup":"G","clientId":"A","mqSet":[)"
                  R"({"topic":"T","brokerName":"broker-a","queueId":0},)"
                  R"({"topic":"T","brokerName":"broker-a","queueId":1}]})";
  RemotingCommand ok = HandleLockBatch(locks, Request(protocol::request::kLockBatchMq, a), At(0s));
  ASSERT_EQ(ok.code, protocol::response::kSuccess);
  EXPECT_TRUE(ok.is_response());
  auto granted = protocol::LockBatchResponseBody::FromJson(
      std::string_view(reinterpret_cast<const char*>(ok.body.data()), ok.body.size()));
  ASSERT_TRUE(granted.ok()) << granted.status().ToString();
  EXPECT_EQ(granted->lock_ok_mq_set, (MqSet{Mq(0), Mq(1)}));

  std::string b = R"({"consumerGroup":"G","clientId":"B","mqSet":[)"
                  R"({"topic":"T","brokerName":"broker-a","queueId":1},)"
                  R"({"topic":"T","brokerName":"broker-a","queueId":2}]})";
  RemotingCommand partial =
      HandleLockBatch(locks, Request(protocol::request::kLockBatchMq, b), At(1s));
  ASSERT_EQ(partial.code, protocol::response::kSuccess);
  auto only2 = protocol::LockBatchResponseBody::FromJson(
      std::string_view(reinterpret_cast<const char*>(partial.body.data()), partial.body.size()));
  ASSERT_TRUE(only2.ok());
  EXPECT_EQ(only2->lock_ok_mq_set, (MqSet{Mq(2)}));

  RemotingCommand unlocked =
      HandleUnlockBatch(locks, Request(protocol::request::kUnlockBatchMq, a));
  EXPECT_EQ(unlocked.code, protocol::response::kSuccess);
  EXPECT_TRUE(unlocked.body.empty());
  EXPECT_FALSE(locks.IsLockedBy("G", Mq(1), "A", At(2s)));
  EXPECT_EQ(locks.TryLockBatch("G", "B", {Mq(1)}, At(2s)).size(), 1u);

  for (const char* bad : {"", "{", "[]", R"({"consumerGroup":"G","mqSet":[]})"}) {
    EXPECT_EQ(HandleLockBatch(locks, Request(protocol::request::kLockBatchMq, bad), At(3s)).code,
              protocol::response::kSystemError)
        << bad;
  }
  EXPECT_EQ(HandleUnlockBatch(locks, Request(protocol::request::kUnlockBatchMq, "{x")).code,
            protocol::response::kSystemError);
}

// The property: under any sequence of locks, unlocks and time steps from three clients, a
// client's unexpired grant is never shared: whenever a client is granted a queue, no other client
// was granted it within the last lock_expiry without releasing it since.
RC_GTEST_PROP(QueueLockManagerProp, NoTwoClientsHoldAQueueAtOnce, ()) {
  QueueLockManager locks(60s);
  const std::string clients[] = {"A", "B", "C"};
  // The model: per queue, the last grant (client, time) not released by its holder.
  std::map<int32_t, std::pair<std::string, Instant>> held;
  Instant now = At(0s);
  int steps = *rc::gen::inRange(1, 200);
  for (int i = 0; i < steps; i++) {
    now += std::chrono::seconds(*rc::gen::inRange(0, 40));
    const std::string& client = clients[*rc::gen::inRange(0, 3)];
    MqSet mqs;
    int bits = *rc::gen::inRange(0, 16);  // which of queues 0-3
    for (int32_t q = 0; q < 4; q++) {
      if (bits & (1 << q)) mqs.insert(Mq(q));
    }
    if (*rc::gen::inRange(0, 4) == 0) {
      locks.UnlockBatch("G", client, mqs);
      for (const MessageQueue& mq : mqs) {
        auto it = held.find(mq.queue_id);
        if (it != held.end() && it->second.first == client) held.erase(it);
      }
      continue;
    }
    MqSet granted = locks.TryLockBatch("G", client, mqs, now);
    for (const MessageQueue& mq : mqs) {
      auto it = held.find(mq.queue_id);
      bool other_live =
          it != held.end() && it->second.first != client && now - it->second.second <= 60s;
      // Granted exactly when no other client holds a live lock.
      RC_ASSERT(granted.count(mq) == (other_live ? 0u : 1u));
      if (granted.count(mq)) held[mq.queue_id] = {client, now};
    }
  }
}

}  // namespace
}  // namespace apogee::broker
