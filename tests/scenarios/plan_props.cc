// Properties over generated fault plans: RapidCheck draws a plan against a catalog scenario's
// nodes and a seed, runs the scenario with that plan, and requires it to pass. A failure
// shrinks (RapidCheck drops, shortens and moves faults) to a minimal plan, writes its repro file
// and prints the command that replays it. These run with few cases per property in CI
// (RC_PARAMS in CMakeLists.txt: each case is a whole cluster run); run the binary with
// RC_PARAMS=max_success=500 for a longer search.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <fstream>
#include <map>

#include "sim/repro.h"
#include "sim/scenario.h"
#include "sim/shrink.h"
#include "tests/sim/fault_plan_gen.h"

namespace apogee::sim {
namespace {

using namespace std::chrono_literals;

const std::vector<FaultType> kAllButBitFlips = {
    FaultType::kPartition, FaultType::kPartitionOneWay, FaultType::kIsolate,
    FaultType::kClog,      FaultType::kReset,           FaultType::kCrash,
    FaultType::kPause,     FaultType::kDiskErrors,      FaultType::kFailedSyncs,
    FaultType::kDiskFull,  FaultType::kClockJump,       FaultType::kClockDrift};

// Runs `name` on `seed` with `plan`; on anything but a pass, writes a repro file and fails the
// property with the replay command.
void RunMustPass(const std::string& name, uint64_t seed, const FaultPlan& plan) {
  const Scenario* s = FindScenario(name);
  RC_ASSERT(s != nullptr);
  RunConfig config{.seed = seed};
  config.fault_plan = plan;
  RunReport r = s->run(config);
  if (r.outcome == Outcome::kPass) return;
  Repro repro;
  repro.scenario = name;
  repro.seed = seed;
  repro.build_id = BuildId();
  repro.outcome = OutcomeName(r.outcome);
  repro.trace_hash = r.trace_hash;
  repro.sim_time_ms = static_cast<double>(r.sim_time_ns) / 1e6;
  repro.violations = r.violations;
  repro.fault_plan = plan;
  std::string path = fmt::format("{}{}-seed-{}-{:016x}.repro.json", ::testing::TempDir(), name,
                                 seed, r.trace_hash);
  std::ofstream(path) << EncodeRepro(repro);
  RC_FAIL(fmt::format("{}: {}\n  repro: {}\n  replay: apogee-sim replay {}", OutcomeName(r.outcome),
                      r.violations.empty() ? std::string() : r.violations[0], path, path));
}

RC_GTEST_PROP(ClusterPlanProp, MessagingSwarmHoldsUnderGeneratedPlans, ()) {
  const Scenario* s = FindScenario("messaging-swarm");
  RC_ASSERT(s != nullptr && s->targets);
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1'000'000);
  FaultPlan plan = *GenFaultPlan(s->targets(), s->plan_length, kAllButBitFlips, 8);
  RunMustPass("messaging-swarm", seed, plan);
}

RC_GTEST_PROP(ClusterPlanProp, BrokersCrashingWithTornWritesLoseNothing, ()) {
  const Scenario* s = FindScenario("torn-write-crash");
  RC_ASSERT(s != nullptr && s->targets);
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1'000'000);
  FaultPlan plan = *GenFaultPlan(s->targets(), s->plan_length, {FaultType::kCrash}, 8);
  RunMustPass("torn-write-crash", seed, plan);
}

// A plan given to a scenario that equals the plan its seed draws replays the run exactly: the
// plan in a repro file is the whole truth about the faults.
TEST(ClusterPlanTest, GivingTheDrawnPlanReplaysTheRun) {
  const Scenario* s = FindScenario("longpoll-broker-restart");
  ASSERT_NE(s, nullptr);
  RunReport drawn = s->run(RunConfig{.seed = 2});
  ASSERT_FALSE(drawn.fault_plan.faults.empty());
  RunConfig config{.seed = 2};
  config.fault_plan = drawn.fault_plan;
  RunReport given = s->run(config);
  EXPECT_EQ(given.trace_hash, drawn.trace_hash);
  EXPECT_EQ(given.fault_plan, drawn.fault_plan);
  // And another plan gives another run.
  config.fault_plan->faults.pop_back();
  EXPECT_NE(s->run(config).trace_hash, drawn.trace_hash);
}

// Shrinking a failing run of a real scenario: with the test hook that turns any applied crash
// into a violation, the plan shrinks to a single crash.
TEST(ClusterPlanTest, ShrinkingFindsTheOneFaultThatMatters) {
  const Scenario* s = FindScenario("longpoll-broker-restart");
  ASSERT_NE(s, nullptr);
  RunConfig config{.seed = 2};
  config.inject_violation_on = FaultType::kCrash;
  RunReport first = s->run(config);
  ASSERT_EQ(first.outcome, Outcome::kViolation);
  ASSERT_GT(first.fault_plan.faults.size(), 1u);
  const std::string signature = FailureSignature("violation", first.violations);
  EXPECT_EQ(signature, "violation/injected");
  auto fails = [&](const FaultPlan& plan) {
    RunConfig c = config;
    c.fault_plan = plan;
    RunReport r = s->run(c);
    return FailureSignature(OutcomeName(r.outcome), r.violations) == signature;
  };
  ShrinkStats stats;
  FaultPlan min = ShrinkFaultPlan(first.fault_plan, fails, 40, &stats);
  ASSERT_EQ(min.faults.size(), 1u);
  EXPECT_EQ(min.faults[0].type, FaultType::kCrash);
  EXPECT_LE(min.faults[0].duration, 313ms);  // halved four times from at most 5 s
  EXPECT_FALSE(stats.exhausted);
}

}  // namespace
}  // namespace apogee::sim
