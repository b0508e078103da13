// Loopback: a real nameserver and broker (SYNC_FLUSH), driven by the project's Producer and
// PushConsumer from the test process and by the apogee-load command.

#include <gtest/gtest.h>

#include <string>

#include "client_workload.h"
#include "core/remoting/json.h"
#include "daemon_harness.h"

namespace apogee::integration {
namespace {

TEST(LoopbackTest, ProducerSendsAndPushConsumerReceivesEveryMessage) {
  // Proves the daemons serve the client library end to end: every acknowledged message of a
  // SYNC_FLUSH broker reaches a push consumer of a new group, and nothing else does.
  Cluster cluster;
  DumpLogsOnFailure dump(cluster);
  ASSERT_TRUE(cluster.Start());
  constexpr uint64_t kCount = 2000;
  Produced sent;
  Consumed got;
  RunClient(cluster.dir(), [&](io::Env& env) {
    sent = Produce(env, Sends(cluster.namesrv_addr(), "LoopT", "m", kCount));
    got = Consume(env, Receives(cluster.namesrv_addr(), "LoopT", "it-group", "it-consumer",
                                [&](const Consumed& c) { return AllDelivered(c, sent.acked); }));
  });
  EXPECT_EQ(sent.acked.size(), kCount) << sent.first_error;
  EXPECT_EQ(sent.failed, 0u) << sent.first_error;
  ASSERT_TRUE(got.started);
  EXPECT_TRUE(got.done);
  EXPECT_TRUE(Missing(got, sent.acked).empty()) << Missing(got, sent.acked).size() << " missing";
  for (const auto& [key, times] : got.deliveries) {
    EXPECT_EQ(sent.attempted.count(key), 1u) << "delivered but never sent: " << key;
  }
  RecordProperty("duplicates", static_cast<int>(got.duplicates));
  EXPECT_EQ(cluster.broker()->Terminate(), 0);
  EXPECT_EQ(cluster.namesrv()->Terminate(), 0);
}

// The number `key` of the JSON object `json`, or -1 when it is missing or not a number.
double JsonNumber(const JsonValue& json, const std::string& key) {
  const JsonValue* v = json.Find(key);
  if (v == nullptr || !v->is_number()) return -1;
  return std::stod(v->number_text());
}

TEST(LoopbackTest, LoadToolProducesAndConsumesWithJsonReports) {
  // Proves apogee-load's produce and consume modes work against the daemons and report what
  // the benchmarks read: counts, failures, throughput and latency percentiles.
  Cluster cluster;
  DumpLogsOnFailure dump(cluster);
  ASSERT_TRUE(cluster.Start());
  const std::string count = "5000";
  Process produce(
      "load-produce", cluster.dir(),
      {kLoadBin, "produce", "--namesrv", cluster.namesrv_addr(), "--topic", "LoadT", "--size",
       "100", "--count", count, "--inflight", "16", "--progress", "0", "--json"});
  ASSERT_EQ(produce.Wait(30s), 0) << produce.Stderr();
  Result<JsonValue> p = ParseJson(produce.Stdout());
  ASSERT_TRUE(p.ok()) << produce.Stdout();
  EXPECT_EQ(JsonNumber(*p, "sent"), 5000);
  EXPECT_EQ(JsonNumber(*p, "failed"), 0);
  EXPECT_GT(JsonNumber(*p, "throughput_msgs_per_s"), 0);
  EXPECT_GT(JsonNumber(*p, "p50_ms"), 0);
  EXPECT_GE(JsonNumber(*p, "p99_ms"), JsonNumber(*p, "p50_ms"));

  Process consume("load-consume", cluster.dir(),
                  {kLoadBin, "consume", "--namesrv", cluster.namesrv_addr(), "--topic", "LoadT",
                   "--count", count, "--duration", "30", "--progress", "0", "--json"});
  ASSERT_EQ(consume.Wait(40s), 0) << consume.Stderr();
  Result<JsonValue> c = ParseJson(consume.Stdout());
  ASSERT_TRUE(c.ok()) << consume.Stdout();
  EXPECT_EQ(JsonNumber(*c, "received"), 5000);
  EXPECT_GE(JsonNumber(*c, "duplicates"), 0);
  EXPECT_GT(JsonNumber(*c, "throughput_msgs_per_s"), 0);
  EXPECT_GE(JsonNumber(*c, "p50_ms"), 0);
  EXPECT_GE(JsonNumber(*c, "p99_ms"), JsonNumber(*c, "p50_ms"));
  if (HasFailure()) {
    std::fprintf(stderr, "--- load-produce ---\n%s\n--- load-consume ---\n%s\n",
                 produce.Stderr().c_str(), consume.Stderr().c_str());
  }
}

}  // namespace
}  // namespace apogee::integration
