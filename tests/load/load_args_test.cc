#include <gtest/gtest.h>

#include "core/load/load_runner.h"

namespace apogee::load {
namespace {

TEST(LoadArgsTest, ProduceWithEveryOption) {
  Result<LoadOptions> o =
      ParseLoadArgs({"produce", "--namesrv", "10.0.0.1:9876;10.0.0.2:9876", "--topic", "T",
                     "--size", "1024", "--count", "500", "--inflight=256", "--tag", "tagA",
                     "--timeout-ms", "1500", "--progress", "0", "--json"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->mode, LoadMode::kProduce);
  EXPECT_EQ(o->namesrv, (std::vector<std::string>{"10.0.0.1:9876", "10.0.0.2:9876"}));
  EXPECT_EQ(o->topic, "T");
  EXPECT_EQ(o->size, 1024u);
  EXPECT_EQ(o->count, 500u);
  EXPECT_EQ(o->inflight, 256u);
  EXPECT_EQ(o->tag, "tagA");
  EXPECT_EQ(o->send_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(o->progress_every, Duration::zero());
  EXPECT_TRUE(o->json);
  EXPECT_FALSE(o->duration.has_value());
}

TEST(LoadArgsTest, ConsumeWithDuration) {
  Result<LoadOptions> o = ParseLoadArgs({"consume", "--duration", "30"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->mode, LoadMode::kConsume);
  EXPECT_EQ(o->duration, std::chrono::seconds(30));
  EXPECT_EQ(o->namesrv, (std::vector<std::string>{"127.0.0.1:9876"}));
}

TEST(LoadArgsTest, MistakesAreNamedWithTheUsage) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},
           {"bench"},
           {"produce", "--size"},
           {"produce", "--size", "-1"},
           {"produce", "--count", "0"},
           {"produce", "--inflight", "x"},
           {"produce", "--frobnicate", "1"},
           {"produce", "--namesrv", ";"},
       }) {
    Result<LoadOptions> o = ParseLoadArgs(args);
    ASSERT_FALSE(o.ok()) << testing::PrintToString(args);
    EXPECT_EQ(o.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(o.status().message().find("usage: apogee-load"), std::string::npos);
  }
}

TEST(LoadReportTest, JsonHasTheFieldsScriptsRead) {
  LoadOptions o;
  LoadReport r;
  r.ok = 1000;
  r.failed = 2;
  r.elapsed = std::chrono::milliseconds(500);
  for (int i = 1; i <= 100; ++i) r.latency.Record(i * 1'000'000);
  std::string json = ReportJson(o, r);
  EXPECT_NE(json.find("\"throughput_msgs_per_s\":2000.0"), std::string::npos) << json;
  EXPECT_NE(json.find("\"sent\":1000"), std::string::npos) << json;
  EXPECT_NE(json.find("\"failed\":2"), std::string::npos) << json;
  EXPECT_NE(json.find("\"p50_ms\":50."), std::string::npos) << json;
  EXPECT_NE(json.find("\"p99_ms\":99."), std::string::npos) << json;
}

}  // namespace
}  // namespace apogee::load
