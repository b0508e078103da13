// Delivery across a whole cluster: two nameservers, two brokers, two producers, a clustering
// group and a broadcasting group, no faults. Every acknowledged message reaches the clustering
// group (one member, duplicates counted) and every member of the broadcasting group.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "scenarios/checkers.h"
#include "tests/cluster/cluster_fixture.h"

namespace apogee::cluster_test {
namespace {

class DeliveryTest : public ClusterTest {};

TEST_F(DeliveryTest, ClusteringOncePerGroupAndBroadcastingToEveryMember) {
  // Proves: with 2 nameservers and 2 brokers, every acked send of 2 producers is consumed by
  // the clustering group (by exactly one member when no duplicate is counted) and by each of
  // the broadcasting group's 3 members; nothing unsent is delivered; each queue in order.
  sim::ClusterSpec spec;
  spec.producers = 2;
  spec.rate_per_producer = 20;
  spec.groups = {
      sim::GroupSpec{.name = "cg-cluster", .consumers = 2},
      sim::GroupSpec{.name = "cg-broadcast", .consumers = 3, .broadcasting = true},
  };
  Build(spec);
  Start();
  const Instant consumers_started = Now();
  RunFor(10s);
  cluster().StopProducers();
  // Every producer finishes the send in flight, then the consumers drain.
  RunFor(1s);
  ASSERT_TRUE(RunUntil(
      [&] {
        scenarios::CheckResult lost;
        scenarios::CheckAcknowledgedDelivered(history_, &lost);
        return lost.ok();
      },
      30s));

  // Both brokers took writes, so both were in the producers' routes.
  std::set<std::string> brokers_written;
  size_t acked = 0;
  for (const sim::SendOp& s : history_.sends) {
    ASSERT_EQ(s.outcome, sim::OpOutcome::kOk) << s.key << ": " << s.error;
    brokers_written.insert(s.queue.broker_name);
    ++acked;
  }
  EXPECT_GE(acked, 2u * 20 * 8);  // two producers, 20 per second, 10 s less their start
  EXPECT_EQ(brokers_written, (std::set<std::string>{"broker-a", "broker-b"}));

  // Per key: clustering deliveries and the member each went to; broadcasting per member.
  std::map<std::string, std::vector<std::string>> cluster_members;
  std::map<std::string, std::map<std::string, int>> broadcast_counts;
  for (const sim::Delivery& d : history_.deliveries) {
    if (d.group == "cg-cluster") cluster_members[d.key].push_back(d.consumer);
    if (d.group == "cg-broadcast") broadcast_counts[d.key][d.consumer]++;
  }
  size_t cluster_duplicates = 0;
  for (const sim::SendOp& s : history_.sends) {
    ASSERT_TRUE(cluster_members.count(s.key)) << s.key << " never reached cg-cluster";
    cluster_duplicates += cluster_members[s.key].size() - 1;
    ASSERT_LE(cluster_members[s.key].size(), 2u) << s.key;
    const std::map<std::string, int>& per_member = broadcast_counts[s.key];
    ASSERT_EQ(per_member.size(), 3u) << s.key << " missed a broadcasting member";
    for (const auto& [member, count] : per_member) {
      EXPECT_EQ(count, 1) << s.key << " delivered " << count << " times to " << member;
    }
  }
  // Both clustering members took a share (the queues were split). A message the group saw
  // twice was consumed by the first member to start in the moment before the second joined and
  // took over some of its queues from their committed offsets: it went to both members, first
  // within the start-up split, never later.
  std::map<std::string, size_t> share;
  for (const auto& [key, members] : cluster_members) share[members.front()]++;
  EXPECT_EQ(share.size(), 2u);
  for (const sim::Delivery& d : history_.deliveries) {
    if (d.group != "cg-cluster" || cluster_members[d.key].size() < 2) continue;
    EXPECT_NE(cluster_members[d.key][0], cluster_members[d.key][1]) << d.key;
    EXPECT_LT(d.at, consumers_started + 3s) << d.key << " duplicated after the start-up split";
  }
  EXPECT_LE(cluster_duplicates, 10u);
  RecordProperty("duplicates", std::to_string(cluster_duplicates));

  scenarios::CheckResult all = scenarios::CheckAll(history_);
  EXPECT_TRUE(all.ok()) << fmt::format("{}", fmt::join(all.violations, "\n"));
}

}  // namespace
}  // namespace apogee::cluster_test
