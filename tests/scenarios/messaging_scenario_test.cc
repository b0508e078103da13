#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/scenario.h"

namespace apogee::sim {
namespace {

std::map<std::string, uint64_t> Counters(const RunReport& r) {
  return std::map<std::string, uint64_t>(r.counters.begin(), r.counters.end());
}

// The fault-free cluster delivers every acknowledged message to every group, in queue order,
// on several seeds (each seed explores another schedule).
TEST(MessagingScenarioTest, PassesAndDeliversEverything) {
  const Scenario* s = FindScenario("messaging");
  ASSERT_NE(s, nullptr);
  for (uint64_t seed : {1, 2, 3}) {
    RunReport r = s->run(RunConfig{.seed = seed});
    EXPECT_EQ(r.outcome, Outcome::kPass)
        << "seed " << seed << ": " << (r.violations.empty() ? "" : r.violations[0]);
    std::map<std::string, uint64_t> c = Counters(r);
    EXPECT_GT(c["acked"], 1000u) << "seed " << seed;
    EXPECT_EQ(c["sends_unknown"], 0u) << "seed " << seed;
    // Three groups, each must have every acknowledged message.
    EXPECT_EQ(c["acked_delivered_per_group"], 3 * c["acked"]) << "seed " << seed;
  }
}

TEST(MessagingScenarioTest, SameSeedSameTrace) {
  const Scenario* s = FindScenario("messaging");
  ASSERT_NE(s, nullptr);
  RunReport r = CheckDeterminism(*s, RunConfig{.seed = 11});
  EXPECT_EQ(r.outcome, Outcome::kPass) << (r.violations.empty() ? "" : r.violations[0]);
}

}  // namespace
}  // namespace apogee::sim

namespace apogee::sim {
namespace {

// Under swarm faults every acknowledged message still reaches every group once healed, and
// faults really were injected (a run without any would prove nothing).
TEST(MessagingSwarmScenarioTest, SurvivesSwarmFaults) {
  const Scenario* s = FindScenario("messaging-swarm");
  ASSERT_NE(s, nullptr);
  uint64_t faults = 0;
  for (uint64_t seed : {1, 7, 39}) {
    RunReport r = s->run(RunConfig{.seed = seed});
    EXPECT_EQ(r.outcome, Outcome::kPass)
        << "seed " << seed << ": " << (r.violations.empty() ? "" : r.violations[0]);
    std::map<std::string, uint64_t> c = Counters(r);
    EXPECT_GT(c["acked"], 500u) << "seed " << seed;
    for (const auto& [name, n] : c) {
      if (name.rfind("fault_", 0) == 0) faults += n;
    }
  }
  EXPECT_GT(faults, 10u);
}

TEST(MessagingSwarmScenarioTest, SameSeedSameTrace) {
  const Scenario* s = FindScenario("messaging-swarm");
  ASSERT_NE(s, nullptr);
  RunReport r = CheckDeterminism(*s, RunConfig{.seed = 5});
  EXPECT_EQ(r.outcome, Outcome::kPass) << (r.violations.empty() ? "" : r.violations[0]);
}

}  // namespace
}  // namespace apogee::sim

namespace apogee::sim {
namespace {

// No order in a run may depend on where the heap puts things (pointers as map keys, hashes of
// addresses): a run made after the heap was fragmented, so that the same allocations land at
// other addresses and in another relative order, gives the same trace. (apogee-sim links
// tcmalloc and the tests glibc's malloc; this is what lets both agree.)
TEST(MessagingSwarmScenarioTest, TraceDoesNotDependOnHeapLayout) {
  const Scenario* s = FindScenario("messaging-swarm");
  ASSERT_NE(s, nullptr);
  RunReport first = s->run(RunConfig{.seed = 5});

  // Blocks of many sizes; every other one freed, leaving holes of every size behind.
  std::vector<std::unique_ptr<char[]>> blocks;
  uint32_t x = 12345;
  for (int i = 0; i < 20000; i++) {
    x = x * 1103515245u + 12345u;
    blocks.push_back(std::make_unique<char[]>(16 + (x >> 16) % 4096));
  }
  for (size_t i = 0; i < blocks.size(); i += 2) blocks[i].reset();

  RunReport second = s->run(RunConfig{.seed = 5});
  EXPECT_EQ(first.trace_hash, second.trace_hash);
  EXPECT_EQ(first.trace_steps, second.trace_steps);
}

}  // namespace
}  // namespace apogee::sim
