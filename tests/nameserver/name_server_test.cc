// The NameServer node through a real RemotingConnection, on both backends (/Sim and /Posix):
// every request code, malformed headers and bodies, the body CRC, and independence of two
// nameservers. The scan (expiry in virtual time) is in name_server_scan_test.cc.

#include "core/nameserver/name_server.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/base/crc32.h"
#include "core/protocol/bodies.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"
#include "core/remoting/remoting_server.h"
#include "tests/nameserver/name_server_harness.h"
#include "tests/remoting/remoting_backend.h"

namespace apogee::nameserver {
namespace {

using remoting_test::BackendTest;
using remoting_test::Kind;
using remoting_test::Nodes;
namespace request = protocol::request;
namespace response = protocol::response;

using NameServerTest = BackendTest;

TEST_P(NameServerTest, RegisteredTopicIsRoutedAndTheClusterListed) {
  // Proves REGISTER_BROKER makes the broker's topics answer GET_ROUTEINFO_BY_TOPIC with its queue
  // and broker data, and GET_BROKER_CLUSTER_INFO lists it under its cluster.
  Run([](Nodes& nodes) {
    NsHarness h(nodes);
    Result<RemotingCommand> r =
        h.Call(RegisterRequest("broker-a", "10.0.0.3:10911", 0, "c1", {"T"}, 1));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->code, response::kSuccess) << r->remark.value_or("");

    Result<protocol::TopicRouteData> route = h.Route("T");
    ASSERT_TRUE(route.ok()) << route.status().ToString();
    ASSERT_EQ(route->queue_datas.size(), 1u);
    EXPECT_EQ(route->queue_datas[0].broker_name, "broker-a");
    EXPECT_EQ(route->queue_datas[0].read_queue_nums, 4);
    EXPECT_EQ(route->queue_datas[0].perm, 6);
    ASSERT_EQ(route->broker_datas.size(), 1u);
    EXPECT_EQ(route->broker_datas[0].cluster, "c1");
    EXPECT_EQ(route->broker_datas[0].broker_addrs.at(0), "10.0.0.3:10911");

    Result<RemotingCommand> c = h.Call(protocol::MakeRequest(request::kGetBrokerClusterInfo));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_EQ(c->code, response::kSuccess);
    Result<protocol::ClusterInfo> info = protocol::ClusterInfo::FromJson(BodyOf(*c));
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->cluster_addr_table,
              (std::map<std::string, std::set<std::string>>{{"c1", {"broker-a"}}}));
    EXPECT_EQ(info->broker_addr_table.at("broker-a").broker_addrs.at(0), "10.0.0.3:10911");
    EXPECT_EQ(h.ns->routes().broker_live_table().size(), 1u);
  });
}

TEST_P(NameServerTest, UnknownTopicIsTopicNotExistWithRocketMqRemark) {
  // Proves a topic no broker holds is answered TOPIC_NOT_EXIST (17) with RocketMQ's remark and
  // no body.
  Run([](Nodes& nodes) {
    NsHarness h(nodes);
    ExtFields f{{"topic", "Nope"}};
    Result<RemotingCommand> r = h.Call(protocol::MakeRequest(request::kGetRouteInfoByTopic, f));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->code, response::kTopicNotExist);
    EXPECT_EQ(r->remark, "No topic route info in name server for the topic: Nope");
    EXPECT_TRUE(r->body.empty());
  });
}

TEST_P(NameServerTest, MalformedHeadersAreAnsweredWithErrorsAndTheConnectionStaysUsable) {
  // Proves a request lacking a required header field (route without topic, register without
  // brokerName, a non-numeric brokerId, unregister without brokerAddr) gets SYSTEM_ERROR naming
  // the field, changes nothing, and the same connection then serves a good request.
  Run([](Nodes& nodes) {
    NsHarness h(nodes);
    auto conn_before = h.Connect();
    Result<RemotingCommand> r = h.Call(protocol::MakeRequest(request::kGetRouteInfoByTopic));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->code, response::kSystemError);
    EXPECT_NE(r->remark.value_or("").find("topic"), std::string::npos) << r->remark.value_or("");

    RemotingCommand reg = RegisterRequest("broker-a", "10.0.0.3:10911", 0, "c1", {"T"}, 1);
    reg.ext_fields.erase("brokerName");
    r = h.Call(reg);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, response::kSystemError);
    EXPECT_NE(r->remark.value_or("").find("brokerName"), std::string::npos);

    reg = RegisterRequest("broker-a", "10.0.0.3:10911", 0, "c1", {"T"}, 1);
    reg.ext_fields["brokerId"] = "zero";
    r = h.Call(reg);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, response::kSystemError);
    EXPECT_NE(r->remark.value_or("").find("brokerId"), std::string::npos);

    reg = RegisterRequest("broker-a", "", 0, "c1", {"T"}, 1);
    r = h.Call(reg);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, response::kSystemError);

    ExtFields unreg{{"brokerName", "broker-a"}, {"clusterName", "c1"}, {"brokerId", "0"}};
    r = h.Call(protocol::MakeRequest(request::kUnregisterBroker, unreg));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, response::kSystemError);
    EXPECT_NE(r->remark.value_or("").find("brokerAddr"), std::string::npos);

    EXPECT_TRUE(h.ns->routes().broker_live_table().empty());
    r = h.Call(RegisterRequest("broker-a", "10.0.0.3:10911", 0, "c1", {"T"}, 1));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->code, response::kSuccess);
    EXPECT_EQ(h.Connect(), conn_before);
    EXPECT_FALSE(conn_before->closed());
  });
}

TEST_P(NameServerTest, BadBodyJsonIsAnErrorAndRegistersNothing) {
  // Proves a REGISTER_BROKER whose body is not a RegisterBrokerBody is answered SYSTEM_ERROR and
  // registers nothing.
  Run([](Nodes& nodes) {
    NsHarness h(nodes);
    for (std::string body : {"{not json", "[1,2]", R"({"topicConfigSerializeWrapper":7})"}) {
      RemotingCommand reg = RegisterRequest("broker-a", "10.0.0.3:10911", 0, "c1", {}, 1);
      reg.body.assign(body.begin(), body.end());
      reg.ext_fields.erase("bodyCrc32");
      Result<RemotingCommand> r = h.Call(reg);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->code, response::kSystemError) << body;
      EXPECT_TRUE(r->remark.has_value());
    }
    EXPECT_TRUE(h.ns->routes().broker_live_table().empty());
  });
}

TEST_P(NameServerTest, BodyCrcMismatchIsRefusedAndZeroMeansUnchecked) {
  // Proves a bodyCrc32 that does not match the body is answered SYSTEM_ERROR and registers
  // nothing, while bodyCrc32 0 (a broker that does not compute it) skips the check.
  Run([](Nodes& nodes) {
    NsHarness h(nodes);
    RemotingCommand reg = RegisterRequest("broker-a", "10.0.0.3:10911", 0, "c1", {"T"}, 1);
    int32_t good = std::stoi(reg.ext_fields.at("bodyCrc32"));
    reg.ext_fields["bodyCrc32"] = std::to_string(good ^ 1);
    Result<RemotingCommand> r = h.Call(reg);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->code, response::kSystemError);
    EXPECT_NE(r->remark.value_or("").find("crc32"), std::string::npos);
    EXPECT_FALSE(h.Route("T").ok());

    reg.ext_fields["bodyCrc32"] = "0";
    r = h.Call(reg);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, response::kSuccess);
    EXPECT_TRUE(h.Route("T").ok());
  });
}

TEST_P(NameServerTest, CompressedRegistrationIsRefused) {
  // Proves compressed=true is answered with an error saying it is not supported.
  Run([](Nodes& nodes) {
    NsHarness h(nodes);
    RemotingCommand reg = RegisterRequest("broker-a", "10.0.0.3:10911", 0, "c1", {"T"}, 1);
    reg.ext_fields["compressed"] = "true";
    Result<RemotingCommand> r = h.Call(reg);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->code, response::kSystemError);
    EXPECT_NE(r->remark.value_or("").find("not supported"), std::string::npos);
    EXPECT_TRUE(h.ns->routes().broker_live_table().empty());
  });
}

TEST_P(NameServerTest, EmptyBodyRegistersTheBrokerWithoutTopics) {
  // Proves a REGISTER_BROKER without a body registers the broker (cluster info lists it) with
  // no topics, as RocketMQ reads a null body.
  Run([](Nodes& nodes) {
    NsHarness h(nodes);
    RemotingCommand reg = RegisterRequest("broker-a", "10.0.0.3:10911", 0, "c1", {}, 1);
    reg.body.clear();
    reg.ext_fields.erase("bodyCrc32");
    Result<RemotingCommand> r = h.Call(reg);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->code, response::kSuccess);
    EXPECT_TRUE(h.ns->routes().broker_addr_table().contains("broker-a"));
    EXPECT_TRUE(h.ns->routes().topic_queue_table().empty());
  });
}

TEST_P(NameServerTest, SlaveIsToldItsMasterInTheResponseHeader) {
  // Proves a slave's registration is answered with the master's address and HA address.
  Run([](Nodes& nodes) {
    NsHarness h(nodes);
    ASSERT_EQ(h.Call(RegisterRequest("broker-a", "10.0.0.3:10911", 0, "c1", {"T"}, 1))->code,
              response::kSuccess);
    Result<RemotingCommand> r =
        h.Call(RegisterRequest("broker-a", "10.0.0.5:10911", 1, "c1", {"T"}, 1));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->code, response::kSuccess);
    Result<protocol::RegisterBrokerResponseHeader> out =
        protocol::RegisterBrokerResponseHeader::Decode(r->ext_fields);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->master_addr, "10.0.0.3:10911");
    EXPECT_EQ(out->ha_server_addr, "10.0.0.3:10912");
  });
}

TEST_P(NameServerTest, UnregisterRemovesTheRoute) {
  // Proves UNREGISTER_BROKER removes the broker and its topics, and an unregister of an unknown
  // broker is still answered SUCCESS.
  Run([](Nodes& nodes) {
    NsHarness h(nodes);
    ASSERT_EQ(h.Call(RegisterRequest("broker-a", "10.0.0.3:10911", 0, "c1", {"T"}, 1))->code,
              response::kSuccess);
    ASSERT_TRUE(h.Route("T").ok());
    ExtFields unreg{{"brokerName", "broker-a"},
                    {"brokerAddr", "10.0.0.3:10911"},
                    {"clusterName", "c1"},
                    {"brokerId", "0"}};
    Result<RemotingCommand> r = h.Call(protocol::MakeRequest(request::kUnregisterBroker, unreg));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->code, response::kSuccess);
    EXPECT_EQ(h.Route("T").code(), ErrorCode::kNotFound);
    EXPECT_TRUE(h.ns->routes().broker_live_table().empty());
    r = h.Call(protocol::MakeRequest(request::kUnregisterBroker, unreg));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, response::kSuccess);
  });
}

TEST_P(NameServerTest, UnknownCodeIsRequestCodeNotSupported) {
  // Proves a code the nameserver does not serve (a broker's SEND_MESSAGE) is answered
  // REQUEST_CODE_NOT_SUPPORTED.
  Run([](Nodes& nodes) {
    NsHarness h(nodes);
    Result<RemotingCommand> r = h.Call(protocol::MakeRequest(request::kSendMessage));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->code, response::kRequestCodeNotSupported);
  });
}

TEST_P(NameServerTest, TwoNameServersAreIndependent) {
  // Proves two nameservers share no state: a broker registered with one is unknown to the other.
  Run([](Nodes& nodes) {
    NsHarness one(nodes);
    NsHarness two(nodes);
    ASSERT_NE(one.ns->address().port, two.ns->address().port);
    ASSERT_EQ(one.Call(RegisterRequest("broker-a", "10.0.0.3:10911", 0, "c1", {"T"}, 1))->code,
              response::kSuccess);
    EXPECT_TRUE(one.Route("T").ok());
    EXPECT_EQ(two.Route("T").code(), ErrorCode::kNotFound);
    EXPECT_TRUE(two.ns->routes().broker_addr_table().empty());
  });
}

TEST_P(NameServerTest, StopClosesTheServer) {
  // Proves Stop ends the node: its connections close and a new connection is refused.
  Run([](Nodes& nodes) {
    NsHarness h(nodes);
    auto conn = h.Connect();
    ASSERT_NE(conn, nullptr);
    h.ns->Stop();
    EXPECT_FALSE(conn->Invoke(protocol::MakeRequest(request::kGetBrokerClusterInfo), 5s).ok());
    h.client.CloseAll();
    EXPECT_FALSE(h.client.Connect(h.address, 5s).ok());
  });
}

INSTANTIATE_TEST_SUITE_P(Backends, NameServerTest, ::testing::Values(Kind::kSim, Kind::kPosix),
                         [](const auto& info) {
                           return info.param == Kind::kSim ? "Sim" : "Posix";
                         });

}  // namespace
}  // namespace apogee::nameserver
