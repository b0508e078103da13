#include "sim/shrink.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <set>

#include "tests/sim/fault_plan_gen.h"

namespace apogee::sim {
namespace {

using namespace std::chrono_literals;

Fault Crash(Duration at, Duration duration, std::string node = "broker-a") {
  Fault f;
  f.at = at;
  f.duration = duration;
  f.type = FaultType::kCrash;
  f.a = std::move(node);
  return f;
}

bool Has(const FaultPlan& plan, Duration at) {
  return std::any_of(plan.faults.begin(), plan.faults.end(),
                     [&](const Fault& f) { return f.at == at; });
}

TEST(ShrinkTest, KeepsOnlyTheFaultsTheFailureNeeds) {
  FaultPlan plan;
  for (int i = 0; i < 12; i++) plan.faults.push_back(Crash(std::chrono::seconds(i), 100ms));
  // The run fails only when the crashes at 3 s and 8 s are both in the plan.
  auto fails = [](const FaultPlan& p) { return Has(p, 3s) && Has(p, 8s); };
  ShrinkStats stats;
  FaultPlan min = ShrinkFaultPlan(plan, fails, 200, &stats);
  ASSERT_EQ(min.faults.size(), 2u);
  EXPECT_EQ(min.faults[0].at, 3s);
  EXPECT_EQ(min.faults[1].at, 8s);
  EXPECT_FALSE(stats.exhausted);
  EXPECT_GT(stats.accepted, 0);
  EXPECT_LT(stats.runs, 40);  // far fewer than trying every subset
}

TEST(ShrinkTest, HalvesDurationsWhileTheFailureStays) {
  FaultPlan plan;
  plan.faults.push_back(Crash(1s, 8s));
  // Fails while the crash lasts at least 1.5 s.
  auto fails = [](const FaultPlan& p) {
    return !p.faults.empty() && p.faults[0].duration >= 1500ms;
  };
  ShrinkStats stats;
  FaultPlan min = ShrinkFaultPlan(plan, fails, 100, &stats);
  ASSERT_EQ(min.faults.size(), 1u);
  EXPECT_EQ(min.faults[0].duration, 2s);  // 8 -> 4 -> 2; 1 s would pass
}

TEST(ShrinkTest, StopsWhenTheBudgetIsSpent) {
  FaultPlan plan;
  for (int i = 0; i < 10; i++) plan.faults.push_back(Crash(std::chrono::seconds(i), 100ms));
  int calls = 0;
  auto fails = [&](const FaultPlan& p) {
    calls++;
    return Has(p, 0s) && Has(p, 9s);
  };
  ShrinkStats stats;
  FaultPlan min = ShrinkFaultPlan(plan, fails, 3, &stats);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(stats.runs, 3);
  EXPECT_TRUE(stats.exhausted);
  EXPECT_TRUE(fails(min));  // whatever it returns still fails
}

TEST(ShrinkTest, AFailureWithoutFaultsShrinksToTheEmptyPlan) {
  FaultPlan plan;
  plan.faults.push_back(Crash(1s, 1s));
  ShrinkStats stats;
  FaultPlan min = ShrinkFaultPlan(
      plan, [](const FaultPlan&) { return true; }, 10, &stats);
  EXPECT_TRUE(min.faults.empty());
}

TEST(ShrinkTest, SignatureIsOutcomeAndChecker) {
  EXPECT_EQ(FailureSignature("violation", {"lost: message p0-1 gone", "queue order: x"}),
            "violation/lost");
  EXPECT_EQ(FailureSignature("liveness", {"undelivered: p1-3 never reached cg"}),
            "liveness/undelivered");
  EXPECT_EQ(FailureSignature("crash", {"assertion failed at x.cc:3"}), "crash");
  EXPECT_EQ(FailureSignature("violation", {}), "violation");
}

// For any plan and any set of culprit faults, when the run fails exactly while every culprit
// is in the plan, shrinking returns the culprits and nothing else (and so a 1-minimal plan).
RC_GTEST_PROP(ShrinkProp, FindsExactlyTheCulprits, ()) {
  FaultTargets targets{
      {"ns-1", "broker-a", "broker-b", "producer-1"}, {"broker-a", "broker-b"}, {}};
  std::vector<FaultType> kinds;
  for (int i = 0; i < kFaultTypeCount; i++) kinds.push_back(static_cast<FaultType>(i));
  FaultPlan plan = *GenFaultPlan(targets, 30s, kinds, 30);
  // Make the faults distinguishable by their index.
  for (size_t i = 0; i < plan.faults.size(); i++) plan.faults[i].amount = static_cast<int64_t>(i);
  for (Fault& f : plan.faults) f.duration = Duration::zero();  // nothing to halve
  std::set<int64_t> culprits;
  for (size_t i = 0; i < plan.faults.size(); i++) {
    if (*rc::gen::inRange(0, 4) == 0) culprits.insert(static_cast<int64_t>(i));
  }
  auto fails = [&](const FaultPlan& p) {
    std::set<int64_t> have;
    for (const Fault& f : p.faults) have.insert(f.amount);
    return std::includes(have.begin(), have.end(), culprits.begin(), culprits.end());
  };
  ShrinkStats stats;
  FaultPlan min = ShrinkFaultPlan(plan, fails, 10'000, &stats);
  RC_ASSERT(fails(min));
  std::set<int64_t> got;
  for (const Fault& f : min.faults) got.insert(f.amount);
  RC_ASSERT(got == culprits);
  RC_ASSERT(!stats.exhausted);
}

// Generated plans are valid plans: they pass validation and survive a JSON round trip.
RC_GTEST_PROP(GenFaultPlanProp, GeneratedPlansAreValid, ()) {
  FaultTargets targets{{"broker-a", "broker-b"}, {"broker-a", "broker-b"}, {"producer-1", "c-1"}};
  std::vector<FaultType> kinds;
  for (int i = 0; i < kFaultTypeCount; i++) kinds.push_back(static_cast<FaultType>(i));
  FaultPlan plan = *GenFaultPlan(targets, 20s, kinds, 20);
  Status valid = ValidateFaultPlan(plan, targets, 20s);
  RC_ASSERT(valid.ok());
  Result<FaultPlan> back = DecodeFaultPlan(EncodeFaultPlan(plan));
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == plan);
  RC_ASSERT(std::is_sorted(plan.faults.begin(), plan.faults.end(),
                           [](const Fault& x, const Fault& y) { return x.at < y.at; }));
}

}  // namespace
}  // namespace apogee::sim
