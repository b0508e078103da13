// The NameServer's expiry scan in virtual time on the simulator: a broker that stops registering
// loses its routes within broker_expiry + scan_interval; one that re-registers every 30 s (as a
// RocketMQ broker does) keeps them; a closed connection alone does not drop a broker.

#include <gtest/gtest.h>

#include <string>

#include "core/nameserver/name_server.h"
#include "core/protocol/codes.h"
#include "tests/nameserver/name_server_harness.h"
#include "tests/remoting/remoting_backend.h"

namespace apogee::nameserver {
namespace {

using remoting_test::Nodes;
using remoting_test::RunOnSim;

TEST(NameServerScanTest, SilentBrokerIsDroppedAfter120Seconds) {
  // Proves the scan fiber drops a broker that registered once: its route holds at 119 s and is
  // gone by 131 s (expiry 120 s, scan every 10 s), with the cluster emptied.
  RunOnSim([](Nodes& nodes) {
    NsHarness h(nodes);
    ASSERT_NE(h.ns, nullptr);
    io::Scheduler& clock = nodes.client.scheduler;
    ASSERT_EQ(h.Call(RegisterRequest("broker-a", "10.0.0.3:10911", 0, "c1", {"T"}, 1))->code,
              protocol::response::kSuccess);
    Instant registered = clock.Now();
    clock.SleepUntil(registered + 119s);
    EXPECT_TRUE(h.Route("T").ok()) << "dropped before 120 s";
    clock.SleepUntil(registered + 131s);
    EXPECT_EQ(h.Route("T").code(), ErrorCode::kNotFound);
    EXPECT_TRUE(h.ns->routes().broker_live_table().empty());
    EXPECT_TRUE(h.ns->routes().cluster_addr_table().empty());
  });
}

TEST(NameServerScanTest, BrokerReRegisteringEvery30SecondsKeepsItsRoute) {
  // Proves re-registration with an unchanged data version every 30 s keeps a broker alive across
  // many scans, while a second broker that stopped after its first registration is dropped.
  RunOnSim([](Nodes& nodes) {
    NsHarness h(nodes);
    ASSERT_NE(h.ns, nullptr);
    io::Scheduler& clock = nodes.client.scheduler;
    ASSERT_EQ(h.Call(RegisterRequest("broker-b", "10.0.0.4:10911", 0, "c1", {"T"}, 1))->code,
              protocol::response::kSuccess);
    Instant start = clock.Now();
    for (int i = 0; i <= 10; i++) {
      clock.SleepUntil(start + i * 30s);
      Result<RemotingCommand> r =
          h.Call(RegisterRequest("broker-a", "10.0.0.3:10911", 0, "c1", {"T"}, 1));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(r->code, protocol::response::kSuccess);
      Result<protocol::TopicRouteData> route = h.Route("T");
      ASSERT_TRUE(route.ok()) << "at " << i * 30 << " s: " << route.status().ToString();
      EXPECT_EQ(route->queue_datas[0].broker_name, "broker-a");
    }
    // 300 s in: broker-b, silent since 0 s, is long gone; broker-a remains.
    Result<protocol::TopicRouteData> route = h.Route("T");
    ASSERT_TRUE(route.ok());
    ASSERT_EQ(route->broker_datas.size(), 1u);
    EXPECT_EQ(route->broker_datas[0].broker_name, "broker-a");
  });
}

TEST(NameServerScanTest, ClosedConnectionDoesNotUnregisterTheBroker) {
  // Proves a broker's connection closing leaves its registration in place (we rely on expiry,
  // unlike RocketMQ's channel-close unregistration): the route is still there on a new
  // connection.
  RunOnSim([](Nodes& nodes) {
    NsHarness h(nodes);
    ASSERT_NE(h.ns, nullptr);
    ASSERT_EQ(h.Call(RegisterRequest("broker-a", "10.0.0.3:10911", 0, "c1", {"T"}, 1))->code,
              protocol::response::kSuccess);
    h.client.CloseAll();
    nodes.client.scheduler.Sleep(1s);
    EXPECT_TRUE(h.Route("T").ok());
    EXPECT_EQ(h.ns->routes().broker_live_table().size(), 1u);
  });
}

TEST(NameServerScanTest, ShortExpiryFromTheConfigIsHonoured) {
  // Proves the scan uses the configured expiry and interval, not the defaults.
  RunOnSim([](Nodes& nodes) {
    NamesrvConfig config;
    config.broker_expiry = 5s;
    config.scan_interval = 1s;
    NsHarness h(nodes, config);
    ASSERT_NE(h.ns, nullptr);
    ASSERT_EQ(h.Call(RegisterRequest("broker-a", "10.0.0.3:10911", 0, "c1", {"T"}, 1))->code,
              protocol::response::kSuccess);
    Instant registered = nodes.client.scheduler.Now();
    nodes.client.scheduler.SleepUntil(registered + 4s);
    EXPECT_TRUE(h.Route("T").ok());
    nodes.client.scheduler.SleepUntil(registered + 7s);
    EXPECT_EQ(h.Route("T").code(), ErrorCode::kNotFound);
  });
}

TEST(NameServerScanTest, StartRejectsNonPositiveIntervals) {
  // Proves a config with a zero expiry or scan interval is refused with kInvalidArgument.
  RunOnSim([](Nodes& nodes) {
    NamesrvConfig config;
    config.listen = io::Address{"", 0};
    config.scan_interval = Duration::zero();
    EXPECT_EQ(NameServer::Start(nodes.server, config).code(), ErrorCode::kInvalidArgument);
    config.scan_interval = 10s;
    config.broker_expiry = -1s;
    EXPECT_EQ(NameServer::Start(nodes.server, config).code(), ErrorCode::kInvalidArgument);
  });
}

}  // namespace
}  // namespace apogee::nameserver
