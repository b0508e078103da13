#pragma once

// BrokerRig: a simulated world with a broker node (10.0.0.2, port 10911) and a client node
// (10.0.0.1) that runs the test body; an optional third node (10.0.0.3) can host a fake
// nameserver. The broker runs as its node's main: Start, wait until asked to stop, Shutdown. The
// body talks to it over real RemotingConnections, and may crash and restart the broker node
// (its disk keeps what was synced).

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/broker/broker.h"
#include "core/io/sync.h"
#include "core/protocol/bodies.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"
#include "core/protocol/message.h"
#include "core/remoting/remoting_server.h"
#include "sim/world.h"

namespace apogee::broker::testing {

using namespace std::chrono_literals;
namespace request = protocol::request;
namespace response = protocol::response;

inline constexpr char kBrokerHost[] = "10.0.0.2";
inline constexpr uint16_t kBrokerPort = 10911;

class BrokerRig {
 public:
  explicit BrokerRig(BrokerConfig config = DefaultConfig(), uint64_t seed = 7)
      : world_(seed, Options()), config_(std::move(config)) {
    broker_node_ = world_.AddNode(
        sim::NodeSpec{"broker", kBrokerHost, [this](io::Env& env) { BrokerMain(env); }});
    client_node_ = world_.AddNode(sim::NodeSpec{"client", "10.0.0.1", [this](io::Env& env) {
                                                  body_(env);
                                                  done_ = true;
                                                }});
  }

  static BrokerConfig DefaultConfig() {
    BrokerConfig c;
    c.announce_host = kBrokerHost;
    c.listen = io::Address{"0.0.0.0", kBrokerPort};
    c.store_root = "store";
    c.store.segment_bytes = 1 << 20;
    c.store.message_bytes_max = 64 << 10;
    c.store.cq_entries_per_file = 1000;
    c.store.index_slots = 1000;
    c.store.index_entries_max = 4000;
    c.store.write_buffer_bytes_max = 4 << 20;
    return c;
  }

  // Starts the broker, runs `body` on the client node until it returns, then stops the broker
  // cleanly if it is up. Fails the test if the body does not finish within `limit`.
  void Run(std::function<void(io::Env&)> body, Duration limit = 3600s) {
    body_ = std::move(body);
    StartBroker();
    world_.Start(client_node_);
    Instant until = world_.Now() + limit;
    while (!done_ && world_.Now() < until) world_.RunFor(10ms);
    EXPECT_TRUE(done_) << "the test body did not finish";
    if (world_.state(broker_node_) != sim::NodeState::kDown && stop_ != nullptr) {
      stop_->Set();
      Instant stop_until = world_.Now() + 60s;
      while (broker_up_ && world_.Now() < stop_until) world_.RunFor(10ms);
    }
  }

  // --- For the body (which runs on the client node) ---

  // Waits until the broker serves (or its start failed). May yield.
  bool WaitUntilUp(io::Env& env) {
    Instant until = env.clock.Now() + 60s;
    while (broker_ == nullptr && !start_failed_ && env.clock.Now() < until) {
      env.scheduler.Sleep(1ms);
    }
    return broker_ != nullptr;
  }
  // The running broker. REQUIRES: up.
  Broker& broker() {
    APOGEE_ASSERT(broker_ != nullptr);
    return *broker_;
  }
  bool up() const { return broker_ != nullptr; }
  const Status& start_status() const { return start_status_; }

  // Stops the broker cleanly and waits for it. May yield.
  void StopBroker(io::Env& env) {
    stop_->Set();
    while (broker_up_) env.scheduler.Sleep(1ms);
    world_.Crash(broker_node_, sim::CrashMode::kKeep);  // the process has nothing left to lose
  }
  // Kills the broker process; unsynced disk writes are dropped, kept or torn per `mode`.
  void CrashBroker(sim::CrashMode mode) {
    broker_ = nullptr;
    broker_up_ = false;
    world_.Crash(broker_node_, mode);
  }
  // Starts a new incarnation from the durable disk and waits until it serves. May yield.
  bool RestartBroker(io::Env& env) {
    StartBroker();
    return WaitUntilUp(env);
  }

  BrokerConfig& config() { return config_; }
  sim::World& world() { return world_; }
  sim::NodeId broker_node() const { return broker_node_; }
  io::Address address() const { return io::Address{kBrokerHost, kBrokerPort}; }

 private:
  static sim::World::Options Options() {
    sim::World::Options o;
    o.network.partition_reset_probability = 0;
    return o;
  }

  void StartBroker() {
    broker_ = nullptr;
    start_failed_ = false;
    // A crashed incarnation's main may still be parked on the old event until it unwinds: keep
    // every event for the rig's life.
    stops_.push_back(std::make_unique<io::Event>(world_.runtime()));
    stop_ = stops_.back().get();
    world_.Start(broker_node_);
  }

  void BrokerMain(io::Env& env) {
    io::Event* stop = stop_;
    auto started = Broker::Start(env, config_);
    if (!started.ok()) {
      start_status_ = started.status();
      start_failed_ = true;
      return;
    }
    std::unique_ptr<Broker> broker = std::move(started).value();
    broker_up_ = true;
    broker_ = broker.get();
    stop->Wait().IgnoreError();
    broker_ = nullptr;
    broker->Shutdown();
    broker_up_ = false;
  }

  sim::World world_;
  BrokerConfig config_;
  sim::NodeId broker_node_ = 0;
  sim::NodeId client_node_ = 0;
  std::function<void(io::Env&)> body_;
  bool done_ = false;
  Broker* broker_ = nullptr;
  bool broker_up_ = false;
  bool start_failed_ = false;
  Status start_status_;
  io::Event* stop_ = nullptr;
  std::vector<std::unique_ptr<io::Event>> stops_;
};

// A client of the broker on the client node: one connection, typed helpers for each request.
class TestClient {
 public:
  explicit TestClient(io::Env& env, io::Address broker, RequestHandler handler = nullptr)
      : env_(env), client_(env, std::move(handler)), broker_(std::move(broker)) {}

  std::shared_ptr<RemotingConnection> Connection() {
    auto c = client_.Connect(broker_, 5s);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : nullptr;
  }
  // Sends `cmd` and returns the answer; a transport failure fails the test and returns a
  // command with code -1.
  RemotingCommand Call(RemotingCommand cmd, Duration timeout = 10s) {
    auto c = Connection();
    if (c == nullptr) return Failed();
    auto r = c->Invoke(std::move(cmd), timeout);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Failed();
  }
  RemotingCommand Call(int32_t code, protocol::ExtFields fields, std::vector<uint8_t> body = {}) {
    return Call(protocol::MakeRequest(code, std::move(fields), std::move(body)));
  }

  static protocol::SendMessageRequestHeader SendHeader(std::string topic, int32_t queue_id,
                                                       std::string properties = "") {
    protocol::SendMessageRequestHeader h;
    h.producer_group = "pg";
    h.topic = std::move(topic);
    h.default_topic_queue_nums = 4;
    h.queue_id = queue_id;
    h.born_timestamp = 1000;
    h.properties = std::move(properties);
    return h;
  }
  RemotingCommand Send(const protocol::SendMessageRequestHeader& h, std::string_view body,
                       int32_t code = request::kSendMessageV2) {
    protocol::ExtFields f;
    h.Encode(f, code != request::kSendMessage);
    return Call(code, std::move(f), std::vector<uint8_t>(body.begin(), body.end()));
  }
  // Sends one message to `topic`:`queue_id` and expects SUCCESS.
  protocol::SendMessageResponseHeader SendOk(std::string topic, int32_t queue_id,
                                             std::string_view body, std::string properties = "") {
    RemotingCommand r = Send(SendHeader(std::move(topic), queue_id, std::move(properties)), body);
    EXPECT_EQ(r.code, response::kSuccess) << r.remark.value_or("");
    auto h = protocol::SendMessageResponseHeader::Decode(r.ext_fields);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? *h : protocol::SendMessageResponseHeader{};
  }
  static protocol::PullMessageRequestHeader PullHeader(std::string topic, int32_t queue_id,
                                                       int64_t offset,
                                                       std::string subscription = "*") {
    protocol::PullMessageRequestHeader h;
    h.consumer_group = "cg";
    h.topic = std::move(topic);
    h.queue_id = queue_id;
    h.queue_offset = offset;
    h.max_msg_nums = 32;
    h.sys_flag = protocol::kPullFlagSubscription;
    h.subscription = std::move(subscription);
    h.expression_type = "TAG";
    return h;
  }
  RemotingCommand Pull(const protocol::PullMessageRequestHeader& h, Duration timeout = 60s) {
    protocol::ExtFields f;
    h.Encode(f);
    return Call(protocol::MakeRequest(request::kPullMessage, std::move(f)), timeout);
  }
  static protocol::PullMessageResponseHeader PullAnswer(const RemotingCommand& r) {
    auto h = protocol::PullMessageResponseHeader::Decode(r.ext_fields);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? *h : protocol::PullMessageResponseHeader{};
  }
  static std::vector<protocol::MessageExt> Messages(const RemotingCommand& r) {
    auto m = protocol::DecodeMessages(r.body);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : std::vector<protocol::MessageExt>{};
  }
  static std::string BodyOf(const protocol::MessageExt& m) {
    return std::string(m.body.begin(), m.body.end());
  }

  RemotingCommand Heartbeat(const std::string& client_id, const std::string& group,
                            const std::vector<std::pair<std::string, std::string>>& subs,
                            int64_t sub_version = 1) {
    protocol::HeartbeatData hb;
    hb.client_id = client_id;
    protocol::ConsumerData cd;
    cd.group_name = group;
    for (const auto& [topic, expr] : subs) {
      auto s = protocol::BuildSubscriptionData(topic, expr, sub_version);
      EXPECT_TRUE(s.ok());
      if (s.ok()) cd.subscription_data_set.push_back(*s);
    }
    hb.consumer_data_set.push_back(cd);
    std::string json = hb.ToJson();
    return Call(request::kHeartBeat, {}, std::vector<uint8_t>(json.begin(), json.end()));
  }

  RemotingCommand CreateTopic(const std::string& topic, int32_t queues, int32_t perm = 6) {
    protocol::CreateTopicRequestHeader h;
    h.topic = topic;
    h.read_queue_nums = queues;
    h.write_queue_nums = queues;
    h.perm = perm;
    protocol::ExtFields f;
    h.Encode(f);
    return Call(request::kUpdateAndCreateTopic, std::move(f));
  }
  void CreateTopicOk(const std::string& topic, int32_t queues, int32_t perm = 6) {
    RemotingCommand r = CreateTopic(topic, queues, perm);
    EXPECT_EQ(r.code, response::kSuccess) << r.remark.value_or("");
  }

  RemotingClient& client() { return client_; }
  void Close() { client_.CloseAll(); }

 private:
  static RemotingCommand Failed() {
    RemotingCommand r;
    r.code = -1;
    return r;
  }

  io::Env& env_;
  RemotingClient client_;
  io::Address broker_;
};

}  // namespace apogee::broker::testing
