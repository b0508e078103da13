// Allocation strategies on small, hand-checked cases.

#include "core/client/allocate.h"

#include <gtest/gtest.h>

namespace apogee::client {
namespace {

std::vector<MessageQueue> Queues(int n) {
  std::vector<MessageQueue> qs;
  for (int i = 0; i < n; ++i) qs.push_back({"T", "b", i});
  return qs;
}

std::vector<int32_t> Ids(const std::vector<MessageQueue>& qs) {
  std::vector<int32_t> ids;
  for (const auto& q : qs) ids.push_back(q.queue_id);
  return ids;
}

const std::vector<std::string> kThree = {"c1", "c2", "c3"};

TEST(AllocateTest, AveragelyGivesContiguousRangesExtrasFirst) {
  // Proves: 8 queues over 3 clients -> [0,1,2] [3,4,5] [6,7].
  AllocateAveragely s;
  EXPECT_EQ(Ids(s.Allocate("c1", Queues(8), kThree)), (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(Ids(s.Allocate("c2", Queues(8), kThree)), (std::vector<int32_t>{3, 4, 5}));
  EXPECT_EQ(Ids(s.Allocate("c3", Queues(8), kThree)), (std::vector<int32_t>{6, 7}));
}

TEST(AllocateTest, MoreClientsThanQueuesLeavesSomeIdle) {
  // Proves: 2 queues over 3 clients -> one each for the first two, none for the third.
  AllocateAveragely s;
  EXPECT_EQ(Ids(s.Allocate("c1", Queues(2), kThree)), (std::vector<int32_t>{0}));
  EXPECT_EQ(Ids(s.Allocate("c2", Queues(2), kThree)), (std::vector<int32_t>{1}));
  EXPECT_TRUE(s.Allocate("c3", Queues(2), kThree).empty());
}

TEST(AllocateTest, ByCircleDealsQueuesInTurn) {
  // Proves: 8 queues over 3 clients -> [0,3,6] [1,4,7] [2,5].
  AllocateAveragelyByCircle s;
  EXPECT_EQ(Ids(s.Allocate("c1", Queues(8), kThree)), (std::vector<int32_t>{0, 3, 6}));
  EXPECT_EQ(Ids(s.Allocate("c2", Queues(8), kThree)), (std::vector<int32_t>{1, 4, 7}));
  EXPECT_EQ(Ids(s.Allocate("c3", Queues(8), kThree)), (std::vector<int32_t>{2, 5}));
}

TEST(AllocateTest, UnknownClientGetsNothing) {
  // Proves: a client the broker does not list yet takes no queue, in every strategy.
  for (const char* name : {"AVG", "AVG_BY_CIRCLE", "CONSISTENT_HASH"}) {
    auto s = MakeAllocateStrategy(name);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->name(), name);
    EXPECT_TRUE(s->Allocate("c9", Queues(8), kThree).empty()) << name;
  }
  EXPECT_EQ(MakeAllocateStrategy("nope"), nullptr);
}

TEST(AllocateTest, ConsistentHashMovesFewQueuesWhenAClientLeaves) {
  // Proves: queues of the clients that stay mostly stay with them when c3 leaves.
  AllocateConsistentHash s(16);
  auto qs = Queues(64);
  std::vector<std::string> two = {"c1", "c2"};
  size_t kept = 0;
  size_t had = 0;
  for (const std::string& c : two) {
    auto before = s.Allocate(c, qs, kThree);
    auto after = s.Allocate(c, qs, two);
    had += before.size();
    for (const auto& q : before) kept += std::count(after.begin(), after.end(), q);
  }
  EXPECT_EQ(kept, had);
}

TEST(AllocateTest, FnvIsTheStandardHash) {
  // Proves: the ring hash is FNV-1a 64 (reference values), not a library hash.
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
}

}  // namespace
}  // namespace apogee::client
