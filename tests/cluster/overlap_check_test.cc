// The orderly checker of the rebalance tests on small hand-made call lists: it finds two
// consumers inside the same queue at once, and only that.

#include <gtest/gtest.h>

#include "tests/cluster/cluster_fixture.h"

namespace apogee::cluster_test {
namespace {

ListenerCall Call(std::string consumer, int32_t queue, int64_t start_ms, int64_t end_ms) {
  ListenerCall c;
  c.consumer = std::move(consumer);
  c.mq = MessageQueue{"T", "broker-a", queue};
  c.start = InstantFromNanos(start_ms * 1'000'000);
  c.end = InstantFromNanos(end_ms * 1'000'000);
  c.ended = true;
  c.finished = true;
  return c;
}

TEST(OverlapCheckTest, FindsTwoConsumersInOneQueueAtOnce) {
  // Proves: a call of c2 starting inside c1's call on the same queue is reported, even with
  // other calls started in between; back-to-back calls ([start, end) touching) are not.
  std::vector<ListenerCall> calls = {
      Call("c1", 0, 0, 100), Call("c1", 1, 10, 20), Call("c2", 0, 50, 60),
      Call("c2", 1, 20, 30),  // starts as c1's call on queue 1 ends: fine
  };
  std::vector<std::string> found = OverlappingCalls(calls);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found.front().find("queueId=0"), std::string::npos) << found.front();
  EXPECT_EQ(Handovers(calls), 2u);
}

TEST(OverlapCheckTest, AcceptsOneConsumerOverlappingItselfAndDisjointQueues) {
  // Proves: calls of one consumer may overlap (several consume fibers never share a queue in
  // orderly mode, but the checker is about different consumers), and different queues never
  // conflict.
  std::vector<ListenerCall> calls = {
      Call("c1", 0, 0, 100),
      Call("c1", 0, 50, 150),
      Call("c2", 1, 60, 70),
      Call("c2", 0, 150, 160),
  };
  EXPECT_TRUE(OverlappingCalls(calls).empty());
  EXPECT_EQ(Handovers(calls), 1u);
}

}  // namespace
}  // namespace apogee::cluster_test
