// Registration with nameservers: a fake nameserver (a RemotingServer on a third node answering
// REGISTER_BROKER) records what the broker sends and when.

#include <gtest/gtest.h>

#include "core/base/crc32.h"
#include "tests/broker/broker_test_util.h"

namespace apogee::broker::testing {
namespace {

struct Registration {
  Instant at;
  protocol::RegisterBrokerRequestHeader header;
  protocol::RegisterBrokerBody body;
  bool crc_ok = false;
};

// Adds a node at `host` running a fake nameserver on port 9876 that answers REGISTER_BROKER
// and UNREGISTER_BROKER with SUCCESS and records them.
struct FakeNamesrv {
  FakeNamesrv(sim::World& world, const std::string& host) {
    node =
        world.AddNode(sim::NodeSpec{"namesrv-" + host, host, [this](io::Env& env) { Serve(env); }});
    world.Start(node);
  }
  void Serve(io::Env& env) {
    auto d = std::make_shared<RequestDispatcher>();
    d->Register(request::kRegisterBroker,
                [this, &env](const std::shared_ptr<RemotingConnection>&,
                             RemotingCommand cmd) -> std::optional<RemotingCommand> {
                  Registration r;
                  r.at = env.clock.Now();
                  auto h = protocol::RegisterBrokerRequestHeader::Decode(cmd.ext_fields);
                  EXPECT_TRUE(h.ok()) << h.status().ToString();
                  if (h.ok()) r.header = *h;
                  auto b = protocol::RegisterBrokerBody::FromJson(std::string_view(
                      reinterpret_cast<const char*>(cmd.body.data()), cmd.body.size()));
                  EXPECT_TRUE(b.ok()) << b.status().ToString();
                  if (b.ok()) r.body = *b;
                  r.crc_ok = h.ok() && h->body_crc32 == static_cast<int32_t>(MaskedCrc32(cmd.body));
                  registrations.push_back(r);
                  return MakeResponse(cmd, response::kSuccess);
                });
    d->Register(request::kUnregisterBroker,
                [this](const std::shared_ptr<RemotingConnection>&,
                       RemotingCommand cmd) -> std::optional<RemotingCommand> {
                  unregistrations++;
                  return MakeResponse(cmd, response::kSuccess);
                });
    RemotingServer server(env, d);
    ASSERT_TRUE(server.Start(io::Address{"", 9876}).ok());
    env.scheduler.Sleep(std::chrono::hours(24));
  }
  sim::NodeId node = 0;
  std::vector<Registration> registrations;
  int unregistrations = 0;
};

TEST(BrokerRegistrationTest, RegistersEveryPeriodAndAtOnceAfterATopicChange) {
  // Proves the broker registers with its nameserver at start and every 30 s (header fields,
  // body with every topic, bodyCrc32 right), at once after UPDATE_AND_CREATE_TOPIC (with the new
  // topic and a newer data version), keeps going while another nameserver is unreachable, and
  // unregisters at shutdown.
  BrokerConfig config = BrokerRig::DefaultConfig();
  config.namesrv_addrs = {io::Address{"10.0.0.3", 9876}, io::Address{"10.0.0.4", 9876}};
  config.register_timeout = 2s;
  BrokerRig rig(config);
  FakeNamesrv ns(rig.world(), "10.0.0.3");
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    Instant start = env.clock.Now();
    env.scheduler.Sleep(95s);
    ASSERT_EQ(ns.registrations.size(), 4u);  // t = 0, 30, 60, 90
    for (size_t i = 0; i < ns.registrations.size(); i++) {
      Duration since = ns.registrations[i].at - start;
      EXPECT_GE(since, std::chrono::seconds(30 * i) - 1s) << i;
      EXPECT_LE(since, std::chrono::seconds(30 * i) + 3s) << i;
    }
    const Registration first = ns.registrations.front();  // a copy: the vector grows
    EXPECT_EQ(first.header.broker_name, "broker-a");
    EXPECT_EQ(first.header.cluster_name, "DefaultCluster");
    EXPECT_EQ(first.header.broker_addr, "10.0.0.2:10911");
    EXPECT_EQ(first.header.ha_server_addr, "10.0.0.2:10912");
    EXPECT_EQ(first.header.broker_id, 0);
    EXPECT_TRUE(first.crc_ok);
    EXPECT_EQ(first.body.topic_config_serialize_wrapper.topic_config_table.count("TBW102"), 1u);
    EXPECT_GT(rig.broker().registration_stats().failed, 0u);  // the absent 10.0.0.4

    TestClient c(env, rig.address());
    Instant created = env.clock.Now();
    c.CreateTopicOk("Fresh", 2);
    env.scheduler.Sleep(3s);
    ASSERT_EQ(ns.registrations.size(), 5u);
    const Registration fresh = ns.registrations.back();
    EXPECT_LT(fresh.at - created, 1s);
    EXPECT_EQ(fresh.body.topic_config_serialize_wrapper.topic_config_table.count("Fresh"), 1u);
    EXPECT_GT(fresh.body.topic_config_serialize_wrapper.data_version.counter,
              first.body.topic_config_serialize_wrapper.data_version.counter);
    rig.StopBroker(env);
    EXPECT_EQ(ns.unregistrations, 1);
  });
}

}  // namespace
}  // namespace apogee::broker::testing
