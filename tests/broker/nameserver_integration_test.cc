// The broker against two real NameServer nodes: its registration makes its topics routable on
// both, a topic it creates is routable at once, and its unregistration at shutdown removes it.

#include <gtest/gtest.h>

#include "core/nameserver/name_server.h"
#include "tests/broker/broker_test_util.h"

namespace apogee::broker::testing {
namespace {

sim::NodeId AddNameserver(sim::World& world, const std::string& host) {
  sim::NodeId id = world.AddNode(sim::NodeSpec{"namesrv-" + host, host, [](io::Env& env) {
                                                 auto ns = nameserver::NameServer::Start(
                                                     env, nameserver::NamesrvConfig{});
                                                 ASSERT_TRUE(ns.ok()) << ns.status().ToString();
                                                 env.scheduler.Sleep(std::chrono::hours(24));
                                               }});
  world.Start(id);
  return id;
}

TEST(BrokerNameserverTest, TopicsAreRoutableOnEveryNameserver) {
  // Proves the broker's registration reaches both nameservers, a created topic is routed to it
  // (address, queue counts, perm) right after creation without waiting for the 30 s period, and
  // after a clean shutdown the nameservers no longer route it.
  BrokerConfig config = BrokerRig::DefaultConfig();
  config.namesrv_addrs = {io::Address{"10.0.0.3", 9876}, io::Address{"10.0.0.4", 9876}};
  BrokerRig rig(config);
  AddNameserver(rig.world(), "10.0.0.3");
  AddNameserver(rig.world(), "10.0.0.4");
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient broker_client(env, rig.address());
    env.scheduler.Sleep(1s);
    broker_client.CreateTopicOk("Routed", 3, protocol::kPermRead | protocol::kPermWrite);
    env.scheduler.Sleep(1s);
    auto route = [&](const std::string& host, const std::string& topic) {
      TestClient ns(env, io::Address{host, 9876});
      protocol::GetRouteInfoRequestHeader h{topic};
      protocol::ExtFields f;
      h.Encode(f);
      return ns.Call(request::kGetRouteInfoByTopic, f);
    };
    for (const char* host : {"10.0.0.3", "10.0.0.4"}) {
      RemotingCommand r = route(host, "Routed");
      ASSERT_EQ(r.code, response::kSuccess) << host << ": " << r.remark.value_or("");
      auto data = protocol::TopicRouteData::FromJson(
          std::string_view(reinterpret_cast<const char*>(r.body.data()), r.body.size()));
      ASSERT_TRUE(data.ok()) << data.status().ToString();
      ASSERT_EQ(data->broker_datas.size(), 1u);
      EXPECT_EQ(data->broker_datas[0].broker_name, "broker-a");
      EXPECT_EQ(data->broker_datas[0].MasterAddr(), "10.0.0.2:10911");
      ASSERT_EQ(data->queue_datas.size(), 1u);
      EXPECT_EQ(data->queue_datas[0].write_queue_nums, 3);
      EXPECT_EQ(data->queue_datas[0].perm, 6);
      EXPECT_EQ(route(host, "TBW102").code, response::kSuccess);
    }
    broker_client.Close();
    rig.StopBroker(env);
    EXPECT_EQ(route("10.0.0.3", "Routed").code, response::kTopicNotExist);
    EXPECT_EQ(route("10.0.0.4", "Routed").code, response::kTopicNotExist);
  });
}

}  // namespace
}  // namespace apogee::broker::testing
