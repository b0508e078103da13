#pragma once

// A NameServer on a test's server env and a RemotingClient on its client env (see
// tests/remoting/remoting_backend.h), with helpers that build broker requests as a RocketMQ
// broker does and read route answers.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/base/crc32.h"
#include "core/nameserver/name_server.h"
#include "core/protocol/bodies.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"
#include "core/remoting/remoting_server.h"
#include "tests/remoting/remoting_backend.h"

namespace apogee::nameserver {

using namespace std::chrono_literals;
using protocol::ExtFields;

inline std::string BodyOf(const RemotingCommand& cmd) { return {cmd.body.begin(), cmd.body.end()}; }

// A REGISTER_BROKER as a broker sends it: header fields, a RegisterBrokerBody with `topics` (4
// queues each, read and write) at data version `counter`, and the body's masked CRC-32.
// The HA address is the broker's host with port 10912.
inline RemotingCommand RegisterRequest(const std::string& broker_name, const std::string& addr,
                                       int64_t broker_id, const std::string& cluster,
                                       const std::vector<std::string>& topics, int64_t counter) {
  protocol::RegisterBrokerBody body;
  auto& wrapper = body.topic_config_serialize_wrapper;
  for (const std::string& t : topics) {
    protocol::TopicConfig config;
    config.topic_name = t;
    config.read_queue_nums = 4;
    config.write_queue_nums = 4;
    wrapper.topic_config_table[t] = config;
  }
  wrapper.data_version = protocol::DataVersion{/*timestamp=*/1'700'000'000'000, counter};
  std::string json = body.ToJson();
  std::vector<uint8_t> bytes(json.begin(), json.end());

  protocol::RegisterBrokerRequestHeader header;
  header.broker_name = broker_name;
  header.broker_addr = addr;
  header.cluster_name = cluster;
  header.ha_server_addr = addr.substr(0, addr.rfind(':')) + ":10912";
  header.broker_id = broker_id;
  header.body_crc32 = static_cast<int32_t>(MaskedCrc32(bytes));
  ExtFields fields;
  header.Encode(fields);
  return protocol::MakeRequest(protocol::request::kRegisterBroker, std::move(fields),
                               std::move(bytes));
}

struct NsHarness {
  explicit NsHarness(remoting_test::Nodes& nodes_in, NamesrvConfig config = {})
      : nodes(nodes_in), client(nodes_in.client) {
    config.listen = io::Address{"", 0};
    Result<std::unique_ptr<NameServer>> started = NameServer::Start(nodes.server, config);
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    if (started.ok()) ns = std::move(started).value();
    if (ns != nullptr) address = io::Address{nodes.server_host, ns->address().port};
  }

  std::shared_ptr<RemotingConnection> Connect() {
    auto c = client.Connect(address, 5s);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : nullptr;
  }

  // Sends `request` on the cached connection and waits for the answer (5 s).
  Result<RemotingCommand> Call(RemotingCommand request) {
    std::shared_ptr<RemotingConnection> c = Connect();
    if (c == nullptr) return Status(ErrorCode::kConnectionRefused, "no connection");
    return c->Invoke(std::move(request), 5s);
  }

  // GET_ROUTEINFO_BY_TOPIC: the decoded route, kNotFound on TOPIC_NOT_EXIST, kInternal on any
  // other answer.
  Result<protocol::TopicRouteData> Route(const std::string& topic) {
    ExtFields f{{"topic", topic}};
    APOGEE_ASSIGN_OR_RETURN(
        RemotingCommand r,
        Call(protocol::MakeRequest(protocol::request::kGetRouteInfoByTopic, std::move(f))));
    if (r.code == protocol::response::kTopicNotExist) {
      return Status(ErrorCode::kNotFound, r.remark.value_or(""));
    }
    if (r.code != protocol::response::kSuccess) {
      return Status(ErrorCode::kInternal,
                    fmt::format("answer {}: {}", r.code, r.remark.value_or("")));
    }
    return protocol::TopicRouteData::FromJson(BodyOf(r));
  }

  remoting_test::Nodes& nodes;
  RemotingClient client;
  std::unique_ptr<NameServer> ns;
  io::Address address;
};

}  // namespace apogee::nameserver
