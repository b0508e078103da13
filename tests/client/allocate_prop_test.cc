// Allocation properties over random queue sets and client sets: every queue goes to exactly one
// client, averagely is balanced within one, and results depend only on the sorted inputs.

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/client/allocate.h"

namespace apogee::client {
namespace {

struct Inputs {
  std::vector<MessageQueue> queues;
  std::vector<std::string> clients;
};

Inputs GenInputs() {
  const auto brokers = *rc::gen::inRange(1, 4);
  Inputs in;
  for (int b = 0; b < brokers; ++b) {
    const auto n = *rc::gen::inRange(0, 17);
    for (int q = 0; q < n; ++q) in.queues.push_back({"T", "broker-" + std::to_string(b), q});
  }
  const auto clients = *rc::gen::inRange(1, 12);
  std::set<std::string> ids;
  while (static_cast<int>(ids.size()) < clients) {
    ids.insert("10.0.0." + std::to_string(*rc::gen::inRange(1, 255)) + "@" +
               std::to_string(*rc::gen::inRange(0, 1000)));
  }
  in.clients.assign(ids.begin(), ids.end());
  std::sort(in.queues.begin(), in.queues.end());
  return in;
}

// Each queue's owners under `s`.
std::map<MessageQueue, int> Owners(const AllocateStrategy& s, const Inputs& in,
                                   std::vector<size_t>* counts) {
  std::map<MessageQueue, int> owners;
  for (const std::string& c : in.clients) {
    auto mine = s.Allocate(c, in.queues, in.clients);
    counts->push_back(mine.size());
    for (const auto& q : mine) owners[q]++;
  }
  return owners;
}

void CheckExactlyOnce(const AllocateStrategy& s) {
  Inputs in = GenInputs();
  std::vector<size_t> counts;
  auto owners = Owners(s, in, &counts);
  RC_ASSERT(owners.size() == in.queues.size());
  for (const auto& [q, n] : owners) RC_ASSERT(n == 1);
}

RC_GTEST_PROP(AllocatePropTest, AveragelyAssignsEveryQueueOnce, ()) {
  CheckExactlyOnce(AllocateAveragely());
}

RC_GTEST_PROP(AllocatePropTest, ByCircleAssignsEveryQueueOnce, ()) {
  CheckExactlyOnce(AllocateAveragelyByCircle());
}

RC_GTEST_PROP(AllocatePropTest, ConsistentHashAssignsEveryQueueOnce, ()) {
  CheckExactlyOnce(AllocateConsistentHash(*rc::gen::inRange(1, 20)));
}

RC_GTEST_PROP(AllocatePropTest, AveragelyAndByCircleAreBalancedWithinOne, ()) {
  Inputs in = GenInputs();
  for (int k = 0; k < 2; ++k) {
    std::vector<size_t> counts;
    if (k == 0) {
      Owners(AllocateAveragely(), in, &counts);
    } else {
      Owners(AllocateAveragelyByCircle(), in, &counts);
    }
    auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
    RC_ASSERT(*hi - *lo <= 1);
  }
}

RC_GTEST_PROP(AllocatePropTest, AveragelyRangesAreContiguous, ()) {
  Inputs in = GenInputs();
  for (const std::string& c : in.clients) {
    auto mine = AllocateAveragely().Allocate(c, in.queues, in.clients);
    if (mine.empty()) continue;
    auto first = std::find(in.queues.begin(), in.queues.end(), mine.front());
    RC_ASSERT(std::equal(mine.begin(), mine.end(), first));
  }
}

RC_GTEST_PROP(AllocatePropTest, SameInputsSameResult, ()) {
  Inputs in = GenInputs();
  const auto& c = *rc::gen::elementOf(in.clients);
  for (const char* name : {"AVG", "AVG_BY_CIRCLE", "CONSISTENT_HASH"}) {
    auto a = MakeAllocateStrategy(name);
    auto b = MakeAllocateStrategy(name);
    RC_ASSERT(a->Allocate(c, in.queues, in.clients) == b->Allocate(c, in.queues, in.clients));
  }
}

}  // namespace
}  // namespace apogee::client
