// Tag filters end to end: one topic carries messages tagged tagA, tagB, tagC and untagged; groups
// subscribed to "tagA", "tagA || tagB" and "*" receive exactly the messages that match.

#include <gtest/gtest.h>

#include <set>

#include "tests/cluster/cluster_fixture.h"

namespace apogee::cluster_test {
namespace {

class TagFilterTest : public ClusterTest {};

TEST_F(TagFilterTest, GroupsReceiveExactlyTheMatchingTags) {
  // Proves: the broker's tags-code filter and the client's tag check together deliver every
  // matching message once and no other, across two brokers and two consumers per group.
  sim::ClusterSpec spec;
  spec.producers = 0;
  Build(spec);
  Start();
  struct Group {
    std::string name;
    std::string expression;
    std::set<std::string> tags;  // "" = untagged
  };
  const std::vector<Group> groups = {
      {"cg-a", "tagA", {"tagA"}},
      {"cg-ab", "tagA || tagB", {"tagA", "tagB"}},
      {"cg-all", "*", {"tagA", "tagB", "tagC", ""}},
  };
  for (const Group& g : groups) {
    for (int i = 1; i <= 2; ++i) {
      world().Start(AddConsumer(fmt::format("{}-{}", g.name, i),
                                ConsumerSpec{.group = g.name, .expression = g.expression}));
    }
  }
  NodeId producer = AddProducer("p-tags");
  RunFor(3s);

  const std::string tags[] = {"tagA", "tagB", "tagC", ""};
  std::map<std::string, std::string> tag_of;  // key -> tag
  for (int i = 0; i < 80; ++i) {
    protocol::Message msg;
    msg.topic = cluster().spec().topic;
    std::string tag = tags[i % 4];
    std::string key = fmt::format("m{}-{}", i, tag.empty() ? "none" : tag);
    msg.SetKeys(key);
    if (!tag.empty()) msg.SetTags(tag);
    msg.body = {'t'};
    Send(producer, msg);
    tag_of[key] = tag;
  }
  ASSERT_TRUE(RunUntil([&] { return SendsDone(producer); }, 30s));
  // Long polls wake on arrival; give every group time to see everything it will see.
  RunFor(10s);

  for (const Group& g : groups) {
    SCOPED_TRACE(g.name);
    std::set<std::string> expected;
    for (const auto& [key, tag] : tag_of) {
      ASSERT_EQ(SendOf(key)->outcome, sim::OpOutcome::kOk);
      if (g.tags.count(tag)) expected.insert(key);
    }
    std::multiset<std::string> got;
    for (const sim::Delivery& d : history_.deliveries) {
      if (d.group == g.name) got.insert(d.key);
    }
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), expected);
    EXPECT_EQ(got.size(), expected.size()) << "duplicates";
  }
}

}  // namespace
}  // namespace apogee::cluster_test
