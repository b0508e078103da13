// Tests of the simulated world's process and clock faults, Buggify and the demo scenario.

#include "sim/world.h"

#include <gtest/gtest.h>

#include <set>

#include "core/io/sync.h"
#include "sim/scenario.h"

namespace apogee::sim {
namespace {

using namespace std::chrono_literals;

TEST(WorldTest, PausedNodeTimersFireLate) {
  // Proves a paused process's timers fire only after it resumes, and none is lost.
  World world(1);
  Instant woke{};
  world.AddNode(NodeSpec{"n1", "10.0.0.1", [&](io::Env& env) {
                           env.scheduler.Sleep(10ms);
                           woke = env.clock.Now();
                         }});
  world.Start(0);
  world.RunFor(5ms);
  world.Pause(0);
  world.RunFor(100ms);
  EXPECT_EQ(woke, Instant{}) << "a paused node ran";
  world.Resume(0);
  world.RunFor(1ms);
  EXPECT_GE(woke, Instant{} + 105ms);
}

TEST(WorldTest, ClockJumpMovesWallNowNotNow) {
  // Proves a wall-clock jump moves WallNow() by exactly the jump and leaves Now() alone, and
  // drift makes the wall clock run fast.
  World world(2);
  world.AddNode(NodeSpec{"n1", "10.0.0.1", [](io::Env&) {}});
  SimClock& clock = world.clock(0);
  Instant now_before = clock.Now();
  WallTime wall_before = clock.WallNow();
  world.JumpClock(0, -90s);
  EXPECT_EQ(clock.Now(), now_before);
  EXPECT_EQ(clock.WallNow() - wall_before, -90s);
  world.SetClockDrift(0, 1000);  // +1 ms per second
  world.RunFor(10s);
  EXPECT_EQ(clock.Now() - now_before, 10s);
  EXPECT_EQ(clock.WallNow() - wall_before, -90s + 10s + 10ms);
}

TEST(WorldTest, CrashUnwindsProcessAndRestartSeesDurableDataOnly) {
  // Proves a crash runs the process's destructors, and the next incarnation sees what was synced
  // and not what was not.
  World world(3);
  int destructors = 0;
  int starts = 0;
  std::string seen;
  world.AddNode(
      NodeSpec{"n1", "10.0.0.1", [&](io::Env& env) {
                 starts++;
                 struct Probe {
                   int* count;
                   ~Probe() { (*count)++; }
                 } probe{&destructors};
                 if (starts == 2) {
                   auto data = env.disk.ReadAll("f");
                   seen = data.ok() ? std::string(data->begin(), data->end()) : "-";
                   return;
                 }
                 auto f = env.disk.Open("f", io::OpenOptions{.create = true});
                 ASSERT_TRUE(f.ok());
                 ASSERT_TRUE(env.disk.SyncDir("").ok());
                 std::string synced = "synced;";
                 ASSERT_TRUE((*f)->Append({(const uint8_t*)synced.data(), synced.size()}).ok());
                 ASSERT_TRUE((*f)->Sync().ok());
                 std::string lost = "lost";
                 ASSERT_TRUE((*f)->Append({(const uint8_t*)lost.data(), lost.size()}).ok());
                 env.scheduler.Sleep(1h);
               }});
  world.Start(0);
  world.RunFor(1s);
  EXPECT_EQ(destructors, 0);
  world.Crash(0, CrashMode::kDrop);
  world.RunFor(1ms);
  EXPECT_EQ(destructors, 1) << "the crashed process's stack did not unwind";
  world.Start(0);
  world.RunFor(1s);
  EXPECT_EQ(starts, 2);
  EXPECT_EQ(seen, "synced;");
  EXPECT_EQ(world.incarnation(0), 2u);
}

TEST(BuggifyTest, PointIsDecidedOncePerRun) {
  // Proves a point that is not armed never fires, an armed one fires sometimes, and the decision
  // is the same on every reach within a run and across runs of one seed.
  auto run = [](uint64_t seed) {
    Kernel kernel(seed);
    SimBuggify buggify(kernel);
    buggify.set_probabilities(0.5, 0.5);
    std::vector<int> fired(8, 0);
    for (int reach = 0; reach < 200; reach++) {
      for (unsigned point = 0; point < 8; point++) fired[point] += buggify.Fire("p.cc", point);
    }
    return std::make_pair(fired, buggify.Coverage());
  };
  auto [fired, coverage] = run(11);
  ASSERT_EQ(coverage.size(), 8u);
  size_t armed = 0;
  for (unsigned p = 0; p < 8; p++) {
    EXPECT_EQ(coverage[p].reached, 200u);
    if (!coverage[p].armed) {
      EXPECT_EQ(fired[p], 0) << "an unarmed point fired";
    } else {
      armed++;
      EXPECT_GT(fired[p], 0);
      EXPECT_LT(fired[p], 200);
    }
  }
  EXPECT_GT(armed, 0u);
  EXPECT_LT(armed, 8u);
  EXPECT_EQ(run(11).first, fired);
}

TEST(BuggifyTest, DisabledNeverFires) {
  // Proves a disabled Buggify (as in production) never fires.
  Kernel kernel(5);
  SimBuggify buggify(kernel);
  buggify.set_enabled(false);
  buggify.set_probabilities(1.0, 1.0);
  for (unsigned i = 0; i < 100; i++) EXPECT_FALSE(buggify.Fire("x.cc", i));
  io::NoBuggify production;
  EXPECT_FALSE(production.Fire("x.cc", 1));
}

TEST(DemoScenarioTest, PassesAndReplaysBitForBit) {
  // Proves the demo scenario holds its invariants on a few seeds, that faults really happened,
  // and that a replay of each seed gives the same trace hash.
  const Scenario* demo = FindScenario("demo");
  ASSERT_NE(demo, nullptr);
  std::set<uint64_t> hashes;
  for (uint64_t seed : {1, 2, 3}) {
    RunReport a = demo->run(RunConfig{.seed = seed});
    EXPECT_EQ(a.outcome, Outcome::kPass)
        << "seed " << seed << ": " << (a.violations.empty() ? "" : a.violations[0]);
    uint64_t acks = 0;
    uint64_t faults = 0;
    for (const auto& [name, value] : a.counters) {
      if (name == "acks") acks = value;
      if (name.rfind("fault_", 0) == 0) faults += value;
    }
    EXPECT_GT(acks, 100u);
    EXPECT_GT(faults, 0u);
    RunReport b = demo->run(RunConfig{.seed = seed});
    EXPECT_EQ(a.trace_hash, b.trace_hash) << "seed " << seed;
    EXPECT_EQ(a.trace_steps, b.trace_steps);
    hashes.insert(a.trace_hash);
  }
  EXPECT_EQ(hashes.size(), 3u) << "different seeds should explore different runs";
}

TEST(DeterminismCheckerTest, CatchesInjectedNondeterminismAndNamesTheStep) {
  // Proves the checker passes a deterministic run and, for a run made to depend on state
  // outside the seed, reports nondeterminism with the first diverging step of both runs.
  const Scenario* demo = FindScenario("demo");
  ASSERT_NE(demo, nullptr);
  RunReport clean = CheckDeterminism(*demo, RunConfig{.seed = 4});
  EXPECT_NE(clean.outcome, Outcome::kNondeterminism);
  RunReport dirty = CheckDeterminism(*demo, RunConfig{.seed = 4, .inject_nondeterminism = true});
  ASSERT_EQ(dirty.outcome, Outcome::kNondeterminism);
  ASSERT_FALSE(dirty.violations.empty());
  EXPECT_NE(dirty.violations[0].find("first divergence at step"), std::string::npos)
      << dirty.violations[0];
  EXPECT_NE(dirty.violations[0].find("run 1 #"), std::string::npos) << dirty.violations[0];
}

}  // namespace
}  // namespace apogee::sim
