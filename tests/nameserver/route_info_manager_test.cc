// RouteInfoManager, the nameserver's route table, driven directly with instants: registration,
// replacement of queue data, masters and slaves, unregistration, expiry and cluster info.

#include "core/nameserver/route_info_manager.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace apogee::nameserver {
namespace {

using namespace std::chrono_literals;

const Instant kT0 = InstantFromNanos(1'000'000'000);

TopicConfig Topic(const std::string& name, int32_t queues = 4, int32_t perm = 6) {
  TopicConfig t;
  t.topic_name = name;
  t.read_queue_nums = queues;
  t.write_queue_nums = queues;
  t.perm = perm;
  return t;
}

TopicConfigSerializeWrapper Topics(const std::vector<TopicConfig>& topics, int64_t counter = 1) {
  TopicConfigSerializeWrapper w;
  for (const TopicConfig& t : topics) w.topic_config_table[t.topic_name] = t;
  w.data_version = DataVersion{/*timestamp=*/1000, counter};
  return w;
}

protocol::RegisterBrokerRequestHeader Broker(const std::string& name, const std::string& addr,
                                             int64_t id = 0,
                                             const std::string& cluster = "DefaultCluster") {
  protocol::RegisterBrokerRequestHeader h;
  h.broker_name = name;
  h.broker_addr = addr;
  h.cluster_name = cluster;
  h.ha_server_addr = addr + "-ha";
  h.broker_id = id;
  return h;
}

protocol::UnregisterBrokerRequestHeader Unreg(const protocol::RegisterBrokerRequestHeader& r) {
  return protocol::UnregisterBrokerRequestHeader{r.broker_name, r.broker_addr, r.cluster_name,
                                                 r.broker_id};
}

std::vector<std::string> BrokerNamesOf(const TopicRouteData& route) {
  std::vector<std::string> names;
  for (const QueueData& q : route.queue_datas) names.push_back(q.broker_name);
  return names;
}

TEST(RouteInfoManagerTest, RegisteredMasterPublishesItsTopics) {
  // Proves a master's registration makes each of its topics routable to it, with the queue
  // counts and permission it sent, and an unknown topic stays unknown.
  RouteInfoManager m(120s);
  auto r = m.Register(Broker("broker-a", "10.0.0.3:10911"), Topics({Topic("T", 8, 4)}), kT0);
  EXPECT_TRUE(r.topics_updated);
  EXPECT_FALSE(r.master_addr.has_value());
  std::optional<TopicRouteData> route = m.PickupTopicRouteData("T");
  ASSERT_TRUE(route.has_value());
  ASSERT_EQ(route->queue_datas.size(), 1u);
  EXPECT_EQ(route->queue_datas[0], (QueueData{"broker-a", 8, 8, 4, 0}));
  ASSERT_EQ(route->broker_datas.size(), 1u);
  EXPECT_EQ(route->broker_datas[0].cluster, "DefaultCluster");
  EXPECT_EQ(route->broker_datas[0].broker_name, "broker-a");
  EXPECT_EQ(route->broker_datas[0].broker_addrs,
            (std::map<int64_t, std::string>{{0, "10.0.0.3:10911"}}));
  EXPECT_FALSE(m.PickupTopicRouteData("Other").has_value());
  EXPECT_EQ(m.broker_live_table().at("10.0.0.3:10911").last_update, kT0);
}

TEST(RouteInfoManagerTest, NewDataVersionReplacesTheBrokersQueueData) {
  // Proves a re-registration with a new data version makes the new topic table the broker's
  // whole queue data: a changed topic is updated, a new one appears, a dropped one vanishes.
  RouteInfoManager m(120s);
  auto a = Broker("broker-a", "10.0.0.3:10911");
  (void)m.Register(a, Topics({Topic("T1", 4), Topic("T2", 4)}, 1), kT0);
  auto r = m.Register(a, Topics({Topic("T1", 16), Topic("T3", 2)}, 2), kT0 + 30s);
  EXPECT_TRUE(r.topics_updated);
  EXPECT_EQ(m.PickupTopicRouteData("T1")->queue_datas[0].write_queue_nums, 16);
  EXPECT_FALSE(m.PickupTopicRouteData("T2").has_value());
  EXPECT_TRUE(m.PickupTopicRouteData("T3").has_value());
  EXPECT_EQ(m.topic_queue_table().size(), 2u);
}

TEST(RouteInfoManagerTest, SameDataVersionOnlyRefreshesLiveness) {
  // Proves a registration carrying the data version already registered leaves the queue data
  // alone (even if its table differs) and only moves the broker's last-update time.
  RouteInfoManager m(120s);
  auto a = Broker("broker-a", "10.0.0.3:10911");
  (void)m.Register(a, Topics({Topic("T1")}, 5), kT0);
  auto r = m.Register(a, Topics({Topic("T2")}, 5), kT0 + 30s);
  EXPECT_FALSE(r.topics_updated);
  EXPECT_TRUE(m.PickupTopicRouteData("T1").has_value());
  EXPECT_FALSE(m.PickupTopicRouteData("T2").has_value());
  EXPECT_EQ(m.broker_live_table().at("10.0.0.3:10911").last_update, kT0 + 30s);
}

TEST(RouteInfoManagerTest, TwoBrokersForOneTopicAreBothInTheRouteSorted) {
  // Proves a topic held by two broker names routes to both, queue data and broker data sorted by
  // broker name whatever the order of registration.
  RouteInfoManager m(120s);
  (void)m.Register(Broker("broker-b", "10.0.0.4:10911"), Topics({Topic("T", 2)}), kT0);
  (void)m.Register(Broker("broker-a", "10.0.0.3:10911"), Topics({Topic("T", 4)}), kT0);
  std::optional<TopicRouteData> route = m.PickupTopicRouteData("T");
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(BrokerNamesOf(*route), (std::vector<std::string>{"broker-a", "broker-b"}));
  ASSERT_EQ(route->broker_datas.size(), 2u);
  EXPECT_EQ(route->broker_datas[0].broker_name, "broker-a");
  EXPECT_EQ(route->broker_datas[1].broker_name, "broker-b");
  EXPECT_EQ(route->queue_datas[0].read_queue_nums, 4);
  EXPECT_EQ(route->queue_datas[1].read_queue_nums, 2);
}

TEST(RouteInfoManagerTest, SlaveTopicsAreIgnoredAndTheSlaveLearnsItsMaster) {
  // Proves a slave joins its broker name's addresses without touching queue data, and is told
  // its master's address and HA address.
  RouteInfoManager m(120s);
  (void)m.Register(Broker("broker-a", "10.0.0.3:10911", 0), Topics({Topic("T")}), kT0);
  auto r = m.Register(Broker("broker-a", "10.0.0.5:10911", 1), Topics({Topic("S")}), kT0);
  EXPECT_FALSE(r.topics_updated);
  EXPECT_EQ(r.master_addr, "10.0.0.3:10911");
  EXPECT_EQ(r.ha_server_addr, "10.0.0.3:10911-ha");
  EXPECT_FALSE(m.PickupTopicRouteData("S").has_value());
  EXPECT_EQ(m.PickupTopicRouteData("T")->broker_datas[0].broker_addrs,
            (std::map<int64_t, std::string>{{0, "10.0.0.3:10911"}, {1, "10.0.0.5:10911"}}));
}

TEST(RouteInfoManagerTest, UnregisterRemovesTheBrokerItsClusterAndEmptyTopics) {
  // Proves unregistering the only broker of a name removes the name, its cluster entry and every
  // topic only it held, and keeps topics another broker still holds.
  RouteInfoManager m(120s);
  auto a = Broker("broker-a", "10.0.0.3:10911", 0, "c1");
  auto b = Broker("broker-b", "10.0.0.4:10911", 0, "c2");
  (void)m.Register(a, Topics({Topic("Shared"), Topic("OnlyA")}), kT0);
  (void)m.Register(b, Topics({Topic("Shared")}), kT0);
  EXPECT_TRUE(m.Unregister(Unreg(a)));
  EXPECT_FALSE(m.PickupTopicRouteData("OnlyA").has_value());
  EXPECT_EQ(BrokerNamesOf(*m.PickupTopicRouteData("Shared")),
            (std::vector<std::string>{"broker-b"}));
  EXPECT_FALSE(m.broker_addr_table().contains("broker-a"));
  EXPECT_FALSE(m.cluster_addr_table().contains("c1"));
  EXPECT_FALSE(m.broker_live_table().contains("10.0.0.3:10911"));
  // A second unregister finds nothing to remove.
  EXPECT_FALSE(m.Unregister(Unreg(a)));
}

TEST(RouteInfoManagerTest, UnregisterOfAnotherAddressInTheSlotChangesNothing) {
  // Proves a stale unregister (the slot is now held by another address) leaves the table alone.
  RouteInfoManager m(120s);
  (void)m.Register(Broker("broker-a", "10.0.0.3:10911"), Topics({Topic("T")}), kT0);
  auto before = m.GetClusterInfo();
  EXPECT_FALSE(m.Unregister(Unreg(Broker("broker-a", "10.0.0.9:10911"))));
  EXPECT_EQ(m.GetClusterInfo(), before);
  EXPECT_TRUE(m.PickupTopicRouteData("T").has_value());
}

TEST(RouteInfoManagerTest, UnregisteringTheMasterKeepsQueueDataWhileASlaveRemains) {
  // Proves a broker name's queue data outlives its master while a slave of it is registered (the
  // slave still serves reads), and goes with the last address.
  RouteInfoManager m(120s);
  auto master = Broker("broker-a", "10.0.0.3:10911", 0);
  auto slave = Broker("broker-a", "10.0.0.5:10911", 1);
  (void)m.Register(master, Topics({Topic("T")}), kT0);
  (void)m.Register(slave, Topics({}), kT0);
  EXPECT_TRUE(m.Unregister(Unreg(master)));
  std::optional<TopicRouteData> route = m.PickupTopicRouteData("T");
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(route->broker_datas[0].broker_addrs,
            (std::map<int64_t, std::string>{{1, "10.0.0.5:10911"}}));
  EXPECT_TRUE(m.Unregister(Unreg(slave)));
  EXPECT_FALSE(m.PickupTopicRouteData("T").has_value());
  EXPECT_TRUE(m.broker_addr_table().empty());
}

TEST(RouteInfoManagerTest, BrokerSilentFor119SecondsStaysAnd120SecondsIsDropped) {
  // Proves the expiry rule at its edge: silent for 119 s is kept, for exactly 120 s is dropped
  // with its queue data, its topics and its cluster.
  RouteInfoManager m(120s);
  (void)m.Register(Broker("broker-a", "10.0.0.3:10911"), Topics({Topic("T")}), kT0);
  EXPECT_TRUE(m.ScanNotActiveBroker(kT0 + 119s).empty());
  EXPECT_TRUE(m.PickupTopicRouteData("T").has_value());
  EXPECT_TRUE(m.ScanNotActiveBroker(kT0 + 120s - 1ns).empty());
  EXPECT_EQ(m.ScanNotActiveBroker(kT0 + 120s), (std::vector<std::string>{"10.0.0.3:10911"}));
  EXPECT_FALSE(m.PickupTopicRouteData("T").has_value());
  EXPECT_TRUE(m.broker_addr_table().empty());
  EXPECT_TRUE(m.cluster_addr_table().empty());
  EXPECT_TRUE(m.broker_live_table().empty());
  EXPECT_TRUE(m.topic_queue_table().empty());
}

TEST(RouteInfoManagerTest, ReRegistrationRestartsTheExpiryAndOnlySilentBrokersGo) {
  // Proves a re-registration (even with an unchanged data version) restarts the broker's expiry,
  // and a scan drops only the brokers that went silent.
  RouteInfoManager m(120s);
  auto a = Broker("broker-a", "10.0.0.3:10911");
  auto b = Broker("broker-b", "10.0.0.4:10911");
  (void)m.Register(a, Topics({Topic("T")}), kT0);
  (void)m.Register(b, Topics({Topic("T")}), kT0);
  (void)m.Register(a, Topics({Topic("T")}), kT0 + 100s);
  EXPECT_EQ(m.ScanNotActiveBroker(kT0 + 130s), (std::vector<std::string>{"10.0.0.4:10911"}));
  EXPECT_EQ(BrokerNamesOf(*m.PickupTopicRouteData("T")), (std::vector<std::string>{"broker-a"}));
  EXPECT_TRUE(m.ScanNotActiveBroker(kT0 + 219s).empty());
  EXPECT_EQ(m.ScanNotActiveBroker(kT0 + 220s), (std::vector<std::string>{"10.0.0.3:10911"}));
}

TEST(RouteInfoManagerTest, ClusterInfoListsEveryBrokerNameByCluster) {
  // Proves the cluster info holds every broker name with its addresses and every cluster with
  // its broker names.
  RouteInfoManager m(120s);
  (void)m.Register(Broker("broker-a", "10.0.0.3:10911", 0, "c1"), Topics({}), kT0);
  (void)m.Register(Broker("broker-a", "10.0.0.5:10911", 1, "c1"), Topics({}), kT0);
  (void)m.Register(Broker("broker-b", "10.0.0.4:10911", 0, "c1"), Topics({}), kT0);
  (void)m.Register(Broker("broker-c", "10.0.0.6:10911", 0, "c2"), Topics({}), kT0);
  ClusterInfo info = m.GetClusterInfo();
  EXPECT_EQ(info.cluster_addr_table, (std::map<std::string, std::set<std::string>>{
                                         {"c1", {"broker-a", "broker-b"}}, {"c2", {"broker-c"}}}));
  ASSERT_EQ(info.broker_addr_table.size(), 3u);
  EXPECT_EQ(info.broker_addr_table.at("broker-a").broker_addrs,
            (std::map<int64_t, std::string>{{0, "10.0.0.3:10911"}, {1, "10.0.0.5:10911"}}));
  EXPECT_EQ(info.broker_addr_table.at("broker-c").cluster, "c2");
}

TEST(RouteInfoManagerTest, PromotedSlaveMovesToTheMasterSlotAndPublishesTopics) {
  // Proves an address registering under a new id leaves its old slot (one process, one slot),
  // and a slave promoted to master publishes its topics even with an unchanged data version.
  RouteInfoManager m(120s);
  (void)m.Register(Broker("broker-a", "10.0.0.3:10911", 0), Topics({Topic("T")}, 1), kT0);
  (void)m.Register(Broker("broker-a", "10.0.0.5:10911", 1), Topics({Topic("T")}, 1), kT0);
  EXPECT_TRUE(m.Unregister(Unreg(Broker("broker-a", "10.0.0.3:10911", 0))));
  auto r = m.Register(Broker("broker-a", "10.0.0.5:10911", 0), Topics({Topic("U")}, 1), kT0 + 1s);
  EXPECT_TRUE(r.topics_updated);
  EXPECT_EQ(m.broker_addr_table().at("broker-a").broker_addrs,
            (std::map<int64_t, std::string>{{0, "10.0.0.5:10911"}}));
  EXPECT_TRUE(m.PickupTopicRouteData("U").has_value());
  EXPECT_FALSE(m.PickupTopicRouteData("T").has_value());
}

TEST(RouteInfoManagerTest, NewAddressInAnOccupiedSlotReplacesTheOldProcess) {
  // Proves a broker restarted on another address takes over its slot: the old address is no
  // longer live and cannot expire the new one.
  RouteInfoManager m(120s);
  (void)m.Register(Broker("broker-a", "10.0.0.3:10911"), Topics({Topic("T")}), kT0);
  (void)m.Register(Broker("broker-a", "10.0.0.7:10911"), Topics({Topic("T")}), kT0 + 100s);
  EXPECT_FALSE(m.broker_live_table().contains("10.0.0.3:10911"));
  EXPECT_TRUE(m.ScanNotActiveBroker(kT0 + 150s).empty());
  EXPECT_EQ(m.PickupTopicRouteData("T")->broker_datas[0].broker_addrs.at(0), "10.0.0.7:10911");
}

TEST(RouteInfoManagerTest, BrokerNameRegisteredUnderAnotherClusterMovesThere) {
  // Proves a broker name that re-registers under another cluster leaves the old one (which
  // vanishes when empty) instead of being listed in both.
  RouteInfoManager m(120s);
  (void)m.Register(Broker("broker-a", "10.0.0.3:10911", 0, "c1"), Topics({}), kT0);
  (void)m.Register(Broker("broker-a", "10.0.0.3:10911", 0, "c2"), Topics({}), kT0);
  EXPECT_EQ(m.cluster_addr_table(),
            (std::map<std::string, std::set<std::string>>{{"c2", {"broker-a"}}}));
  EXPECT_EQ(m.broker_addr_table().at("broker-a").cluster, "c2");
}

}  // namespace
}  // namespace apogee::nameserver
