// The harness's workload options and history records, fault-free: delayed sends, keyed sends,
// failing listeners with their DLQ, offset commits and clock samples all land in the history,
// and every checker holds on it.

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "scenarios/checkers.h"
#include "tests/cluster/cluster_fixture.h"

namespace apogee::cluster_test {
namespace {

class WorkloadOptionsTest : public ClusterTest {};

sim::ClusterSpec Spec() {
  sim::ClusterSpec spec;
  spec.producers = 2;
  spec.rate_per_producer = 20;
  spec.delay_fraction = 0.2;
  spec.delay_level_max = 2;
  spec.order_keys = 4;
  spec.fail_always_every = 20;
  spec.fail_few_every = 15;
  spec.fail_few_times = 1;
  spec.groups = {
      sim::GroupSpec{.name = "cg-failing", .failing = true, .max_reconsume_times = 1},
      sim::GroupSpec{
          .name = "cg-orderly", .orderly = true, .failing = true, .max_reconsume_times = 1},
  };
  return spec;
}

TEST_F(WorkloadOptionsTest, EveryRecordKindIsFilledAndEveryCheckerHolds) {
  // Proves: a fault-free run with every workload option on records delayed and keyed sends,
  // failed deliveries, DLQ records (for both a concurrent and an orderly group), acknowledged
  // offset commits, broker starts and clock samples; and the checkers all hold on that history.
  Build(Spec());
  Start();
  RunFor(10s);
  cluster().StopProducers();
  RunFor(1s);
  ASSERT_TRUE(RunUntil(
      [&] {
        scenarios::CheckResult r;
        scenarios::CheckAcknowledgedDelivered(history_, &r);
        return r.ok();
      },
      60s));

  size_t delayed = 0;
  size_t keyed = 0;
  for (const sim::SendOp& s : history_.sends) {
    delayed += s.delay_level > 0;
    keyed += !s.order_key.empty();
    if (s.delay_level > 0) {
      EXPECT_TRUE(s.order_key.empty()) << s.key;
    }
    EXPECT_NE(s.body_crc, 0u);
  }
  EXPECT_GT(delayed, 10u);
  EXPECT_GT(keyed, 100u);

  std::map<std::string, size_t> failed;
  for (const sim::Delivery& d : history_.deliveries) {
    if (d.outcome == sim::ConsumeOutcome::kFailed) failed[d.group]++;
  }
  EXPECT_GT(failed["cg-failing"], 10u);
  EXPECT_GT(failed["cg-orderly"], 10u);

  std::set<std::string> dlq_groups;
  for (const sim::DlqRecord& r : history_.dlq) dlq_groups.insert(r.group);
  EXPECT_EQ(dlq_groups, (std::set<std::string>{"cg-failing", "cg-orderly"}));

  size_t acked_commits = 0;
  for (const sim::OffsetCommit& c : history_.commits) acked_commits += c.acked;
  EXPECT_GT(acked_commits, 10u);
  EXPECT_EQ(history_.broker_starts.size(), 2u);
  EXPECT_GE(history_.clocks.size(), 2u);  // one first sample per broker
  EXPECT_EQ(history_.delay_levels.size(), 18u);

  scenarios::CheckResult all = scenarios::CheckAll(history_);
  EXPECT_TRUE(all.ok()) << all.violations[0];
  std::map<std::string, uint64_t> counters(all.counters.begin(), all.counters.end());
  EXPECT_GT(counters["delayed_delivered"], 10u);
  EXPECT_GT(counters["dlq_records"], 0u);
  EXPECT_EQ(counters["delay_early_excused_by_clock"], 0u);
}

}  // namespace
}  // namespace apogee::cluster_test
