// ProcessQueue: the commit offset never passes an unconsumed message; orderly take, commit and
// consume-again; dispatch only when idle.

#include "core/client/process_queue.h"

#include <gtest/gtest.h>

namespace apogee::client {
namespace {

std::vector<MessageExt> At(std::initializer_list<int64_t> offsets) {
  std::vector<MessageExt> out;
  for (int64_t o : offsets) {
    MessageExt m;
    m.queue_offset = o;
    out.push_back(m);
  }
  return out;
}

struct Rt : io::RuntimeHooks {
  Instant Now() override { return Instant{}; }
  size_t PickReady(size_t) override { return 0; }
  bool Idle(Deadline) override { return false; }
};

TEST(ProcessQueueTest, CommitOffsetIsTheSmallestUnconsumed) {
  // Proves: out-of-order completion commits only up to the first hole; empty -> max + 1.
  Rt hooks;
  io::Runtime rt(&hooks);
  ProcessQueue pq(rt);
  EXPECT_EQ(pq.RemoveMessages({}), -1);
  pq.PutMessages(At({10, 11, 12, 13}));
  EXPECT_EQ(pq.msg_count(), 4u);
  EXPECT_EQ(pq.RemoveMessages(At({12})), 10);
  EXPECT_EQ(pq.RemoveMessages(At({10})), 11);
  EXPECT_EQ(pq.RemoveMessages(At({13})), 11);
  EXPECT_EQ(pq.RemoveMessages(At({11})), 14);
  EXPECT_EQ(pq.msg_count(), 0u);
}

TEST(ProcessQueueTest, OrderlyTakesInOrderAndCommitsPastTheBatch) {
  // Proves: TakeMessages is in offset order, Commit answers one past the batch, and a
  // suspended batch comes back first.
  Rt hooks;
  io::Runtime rt(&hooks);
  ProcessQueue pq(rt);
  EXPECT_TRUE(pq.PutMessages(At({5, 3, 4})));
  EXPECT_FALSE(pq.PutMessages(At({6})));  // already consuming: no second request
  auto first = pq.TakeMessages(2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].queue_offset, 3);
  EXPECT_EQ(first[1].queue_offset, 4);
  first[0].reconsume_times = 1;
  pq.MakeMessagesToConsumeAgain(first);
  auto again = pq.TakeMessages(1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].queue_offset, 3);
  EXPECT_EQ(again[0].reconsume_times, 1);
  EXPECT_EQ(pq.Commit(), 4);
  EXPECT_EQ(pq.TakeMessages(10).size(), 3u);
  EXPECT_EQ(pq.Commit(), 7);
  EXPECT_TRUE(pq.consuming);
  EXPECT_TRUE(pq.TakeMessages(10).empty());
  EXPECT_FALSE(pq.consuming);
  EXPECT_EQ(pq.Commit(), -1);
}

}  // namespace
}  // namespace apogee::client
