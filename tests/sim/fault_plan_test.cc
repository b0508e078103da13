#include "sim/fault_plan.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "core/io/random.h"
#include "sim/fault_injector.h"
#include "sim/world.h"

namespace apogee::sim {
namespace {

using namespace std::chrono_literals;

Fault MakeFault(Duration at, Duration duration, FaultType type, std::string a, std::string b = {}) {
  Fault f;
  f.at = at;
  f.duration = duration;
  f.type = type;
  f.a = std::move(a);
  f.b = std::move(b);
  return f;
}

TEST(FaultPlanTest, JsonRoundTripOfEveryType) {
  FaultPlan plan;
  for (int i = 0; i < kFaultTypeCount; i++) {
    Fault f = MakeFault(std::chrono::milliseconds(100 * i), 1500ms, static_cast<FaultType>(i), "n1",
                        "n2");
    f.crash = CrashStyle::kTear;
    f.probability = 0.25;
    f.amount = -42;
    plan.faults.push_back(f);
  }
  Result<FaultPlan> back = DecodeFaultPlan(EncodeFaultPlan(plan));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->faults.size(), plan.faults.size());
  for (size_t i = 0; i < plan.faults.size(); i++) {
    const Fault& f = back->faults[i];
    EXPECT_EQ(f.type, plan.faults[i].type);
    EXPECT_EQ(f.at, plan.faults[i].at);
    EXPECT_EQ(f.a, "n1");
  }
  EXPECT_EQ(back->faults[static_cast<int>(FaultType::kCrash)].crash, CrashStyle::kTear);
  EXPECT_EQ(back->faults[static_cast<int>(FaultType::kClockJump)].amount, -42);
  EXPECT_DOUBLE_EQ(back->faults[static_cast<int>(FaultType::kFailedSyncs)].probability, 0.25);
}

TEST(FaultPlanTest, MalformedPlansAreNamed) {
  EXPECT_FALSE(DecodeFaultPlan("{}").ok());
  Result<FaultPlan> r = DecodeFaultPlan(R"([{"at_ms":0,"type":"earthquake","a":"n1"}])");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("earthquake"), std::string::npos);
  r = DecodeFaultPlan(R"([{"at_ms":0,"duration_ms":5,"type":"partition","a":"n1"}])");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'b' is missing"), std::string::npos);
  r = DecodeFaultPlan(R"([{"at_ms":-1,"duration_ms":5,"type":"pause","a":"n1"}])");
  EXPECT_FALSE(r.ok());
  r = DecodeFaultPlan(
      R"([{"at_ms":0,"duration_ms":5,"type":"failed-syncs","a":"n1","probability":2}])");
  EXPECT_FALSE(r.ok());
}

TEST(FaultPlanTest, DescribeSaysWhatAndWhen) {
  EXPECT_EQ(Describe(MakeFault(3250ms, 2s, FaultType::kPartition, "broker-a", "ns-1")),
            "at 3.250s for 2.000s: partition broker-a <-> ns-1");
  Fault jump = MakeFault(1s, 0s, FaultType::kClockJump, "broker-b");
  jump.amount = -30000;
  EXPECT_EQ(Describe(jump), "at 1.000s: clock of broker-b jumps -30000 ms");
}

RC_GTEST_PROP(FaultPlanProp, SwarmPlansRoundTripAndRespectTargets, (uint64_t seed)) {
  io::SeededRandom rng(seed);
  SwarmMix mix = DrawSwarmMix(rng);
  FaultTargets targets{{"ns-1", "broker-a", "broker-b", "c-1"}, {"broker-a", "broker-b"}, {}};
  FaultPlan plan = DrawSwarmPlan(rng, mix, targets, 30s);
  for (const Fault& f : plan.faults) {
    RC_ASSERT(f.at < 30s);
    RC_ASSERT(f.at + f.duration <= 30s);
    RC_ASSERT(mix.enabled[static_cast<int>(f.type)]);
    if (f.type == FaultType::kDiskErrors || f.type == FaultType::kFailedSyncs ||
        f.type == FaultType::kDiskFull || f.type == FaultType::kBitFlip) {
      RC_ASSERT(f.a == "broker-a" || f.a == "broker-b");
    }
    if (!f.b.empty()) RC_ASSERT(f.a != f.b);
  }
  Result<FaultPlan> back = DecodeFaultPlan(EncodeFaultPlan(plan));
  RC_ASSERT(back.ok());
  RC_ASSERT(EncodeFaultPlan(*back) == EncodeFaultPlan(plan));
  // The same seed draws the same plan.
  io::SeededRandom again(seed);
  SwarmMix mix2 = DrawSwarmMix(again);
  RC_ASSERT(EncodeFaultPlan(DrawSwarmPlan(again, mix2, targets, 30s)) == EncodeFaultPlan(plan));
}

// The injector applies each fault at its time and undoes it when its duration ends.
TEST(FaultInjectorTest, AppliesAndUndoesOnTime) {
  World world(3);
  auto idle = [](io::Env& env) {
    for (;;) env.scheduler.Sleep(1h);
  };
  NodeId n1 = world.AddNode(NodeSpec{"n1", "10.0.0.1", idle});
  NodeId n2 = world.AddNode(NodeSpec{"n2", "10.0.0.2", idle});
  world.Start(n1);
  world.Start(n2);
  FaultPlan plan;
  plan.faults = {MakeFault(1s, 2s, FaultType::kPartition, "n1", "n2"),
                 MakeFault(1s, 3s, FaultType::kCrash, "n2"),
                 MakeFault(2s, 1s, FaultType::kFailedSyncs, "n1")};
  plan.faults[2].probability = 0.5;
  FaultInjector injector(world, plan);
  injector.Start();
  world.RunFor(500ms);
  EXPECT_FALSE(world.network().Blocked("10.0.0.1", "10.0.0.2"));
  EXPECT_EQ(world.state(n2), NodeState::kUp);
  world.RunFor(1s);  // t = 1.5 s
  EXPECT_TRUE(world.network().Blocked("10.0.0.1", "10.0.0.2"));
  EXPECT_TRUE(world.network().Blocked("10.0.0.2", "10.0.0.1"));
  EXPECT_EQ(world.state(n2), NodeState::kDown);
  world.RunFor(1s);  // t = 2.5 s
  EXPECT_DOUBLE_EQ(world.disk(n1).faults().sync_error_probability, 0.5);
  world.RunFor(1s);  // t = 3.5 s
  EXPECT_FALSE(world.network().Blocked("10.0.0.1", "10.0.0.2"));
  EXPECT_DOUBLE_EQ(world.disk(n1).faults().sync_error_probability, 0);
  EXPECT_EQ(world.state(n2), NodeState::kDown);
  world.RunFor(1s);  // t = 4.5 s: restarted
  EXPECT_EQ(world.state(n2), NodeState::kUp);
  EXPECT_EQ(world.incarnation(n2), 2u);
  EXPECT_EQ(injector.applied().at("crash"), 1u);
  EXPECT_EQ(injector.skipped(), 0u);
}

// HealAll at the end of the safety phase undoes what is still in force.
TEST(FaultInjectorTest, HealAllUndoesEverythingInForce) {
  World world(4);
  auto idle = [](io::Env& env) {
    for (;;) env.scheduler.Sleep(1h);
  };
  NodeId n1 = world.AddNode(NodeSpec{"n1", "10.0.0.1", idle});
  NodeId n2 = world.AddNode(NodeSpec{"n2", "10.0.0.2", idle});
  world.Start(n1);
  world.Start(n2);
  FaultPlan plan;
  plan.faults = {MakeFault(0s, 1h, FaultType::kIsolate, "n1"),
                 MakeFault(0s, 1h, FaultType::kPause, "n2"),
                 MakeFault(0s, 1h, FaultType::kDiskFull, "n1"),
                 MakeFault(0s, 1h, FaultType::kClockDrift, "n2")};
  plan.faults[3].amount = 50'000;
  FaultInjector injector(world, plan);
  injector.Start();
  world.RunFor(1s);
  EXPECT_TRUE(world.network().Blocked("10.0.0.2", "10.0.0.1"));
  EXPECT_EQ(world.state(n2), NodeState::kPaused);
  EXPECT_NE(world.disk(n1).faults().capacity_bytes, UINT64_MAX);
  injector.HealAll();
  EXPECT_FALSE(world.network().Blocked("10.0.0.2", "10.0.0.1"));
  EXPECT_EQ(world.state(n2), NodeState::kUp);
  EXPECT_EQ(world.disk(n1).faults().capacity_bytes, UINT64_MAX);
  world.RunFor(1s);
}

}  // namespace
}  // namespace apogee::sim
