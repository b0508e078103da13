#include "sim/repro.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace apogee::sim {
namespace {

using namespace std::chrono_literals;

FaultPlan TwoFaults() {
  FaultPlan plan;
  Fault crash;
  crash.at = 1500ms;
  crash.duration = 2s;
  crash.type = FaultType::kCrash;
  crash.a = "broker-a";
  crash.crash = CrashStyle::kTear;
  Fault part;
  part.at = 4s;
  part.duration = 1s;
  part.type = FaultType::kPartition;
  part.a = "ns-1";
  part.b = "broker-b";
  plan.faults = {crash, part};
  return plan;
}

TEST(ReproTest, RoundTripsPlansAndShrinkInfo) {
  Repro r;
  r.scenario = "broker-crash-sync";
  r.seed = 18446744073709551615ull;
  r.build_id = "abc";
  r.outcome = "violation";
  r.trace_hash = 0x00ab00cd00ef0011ull;
  r.sim_time_ms = 95000.5;
  r.violations = {"lost: p0-3 \"quoted\""};
  r.test_hooks = {"--inject-violation-on=crash"};
  r.fault_plan = TwoFaults();
  r.original_fault_plan = TwoFaults();
  r.original_fault_plan->faults.push_back(r.fault_plan->faults[0]);
  r.shrink = "3 faults -> 2 in 5 runs";
  std::string text = EncodeRepro(r);
  EXPECT_NE(text.find("\"format\":\"apogee-repro/2\""), std::string::npos);
  Result<Repro> back = DecodeRepro(text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->seed, r.seed);
  EXPECT_EQ(back->trace_hash, r.trace_hash);
  EXPECT_EQ(back->violations, r.violations);
  EXPECT_EQ(back->test_hooks, r.test_hooks);
  ASSERT_TRUE(back->fault_plan.has_value());
  EXPECT_EQ(*back->fault_plan, *r.fault_plan);
  ASSERT_TRUE(back->original_fault_plan.has_value());
  EXPECT_EQ(back->original_fault_plan->faults.size(), 3u);
  EXPECT_EQ(back->shrink, r.shrink);
}

TEST(ReproTest, AFileWithoutAPlanLetsTheSeedDraw) {
  Repro r;
  r.scenario = "demo";
  r.build_id = std::string(1, 'x');  // (GCC 12 -Wrestrict misfires on "x")
  r.outcome = "pass";
  Result<Repro> back = DecodeRepro(EncodeRepro(r));
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->fault_plan.has_value());
  // Format 1 files carried an empty plan that meant "the seed decides": still so.
  Result<Repro> v1 = DecodeRepro(
      R"({"format":"apogee-repro/1","scenario":"demo","seed":9,"build_id":"x","outcome":"pass",)"
      R"("trace_hash":"00000000000000ff","violations":[],"fault_plan":[]})");
  ASSERT_TRUE(v1.ok()) << v1.status().message();
  EXPECT_FALSE(v1->fault_plan.has_value());
  EXPECT_EQ(v1->trace_hash, 0xffu);
}

TEST(ReproTest, BadFilesAreNamedNotCrashedOn) {
  const char* base =
      R"({"format":"apogee-repro/2","scenario":"demo","seed":1,"build_id":"x","outcome":"pass",)"
      R"("trace_hash":"01",)";
  struct Case {
    std::string tail;
    std::string says;
  } cases[] = {
      {R"("fault_plan":{}})", "'fault_plan' must be an array"},
      {R"("fault_plan":[{"at_ms":1,"type":"meteor","a":"n"}]})", "fault_plan"},
      {R"("test_hooks":["--rm-rf"]})", "unknown hook"},
      {R"("test_hooks":["--inject-violation-on=meteor"]})", "unknown hook"},
  };
  for (const Case& c : cases) {
    Result<Repro> r = DecodeRepro(fmt::format("{}{}", base, c.tail));
    ASSERT_FALSE(r.ok()) << c.tail;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
  }
  EXPECT_FALSE(DecodeRepro(R"({"format":"apogee-repro/3"})").ok());
  EXPECT_FALSE(DecodeRepro("not json").ok());
}

TEST(ReproTest, TestHooksSetTheirConfig) {
  RunConfig config;
  EXPECT_TRUE(IsTestHook("--inject-violation-on=crash"));
  EXPECT_FALSE(IsTestHook("--inject-violation-on="));
  ASSERT_TRUE(ApplyTestHook("--inject-violation-on=bit-flip", &config).ok());
  ASSERT_TRUE(config.inject_violation_on.has_value());
  EXPECT_EQ(*config.inject_violation_on, FaultType::kBitFlip);
  ASSERT_TRUE(ApplyTestHook("--inject-crash", &config).ok());
  EXPECT_TRUE(config.inject_crash);
  EXPECT_FALSE(ApplyTestHook("--nope", &config).ok());
}

}  // namespace
}  // namespace apogee::sim
