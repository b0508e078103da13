#pragma once

// A scripted RocketMQ cluster for client tests, on the simulator: one fake nameserver that
// serves routes from a table, and fake brokers that record every request and answer
// SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE with codes taken from a script. The test body runs on a
// client node of its own.

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/io/env.h"
#include "core/protocol/bodies.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"
#include "core/remoting/remoting_server.h"
#include "sim/world.h"

namespace apogee::client_test {

using namespace std::chrono_literals;

// A script entry that never answers (the request times out at the client).
inline constexpr int32_t kSilent = -1;

struct FakeBroker {
  std::string name;
  std::string host;
  std::deque<int32_t> script;  // codes for the next sends; empty: SUCCESS
  std::vector<RemotingCommand> sends;
  std::vector<RemotingCommand> others;  // every other request
  int64_t next_offset = 0;
  std::unique_ptr<RemotingServer> server;

  std::string addr() const { return host + ":10911"; }
  size_t Count(int32_t code) const {
    size_t n = 0;
    for (const RemotingCommand& c : others) n += c.code == code ? 1 : 0;
    return n;
  }
};

class FakeCluster {
 public:
  // Topic -> route served by the nameserver.
  std::map<std::string, protocol::TopicRouteData> routes;
  std::map<std::string, std::unique_ptr<FakeBroker>> brokers;  // by name
  io::Env* client_env = nullptr;

  FakeBroker& broker(const std::string& name) { return *brokers.at(name); }

  // A route of `topic` over the named brokers, `queues` read and write queues each.
  void AddTopic(const std::string& topic, const std::vector<std::string>& names, int queues) {
    protocol::TopicRouteData route;
    for (const std::string& n : names) {
      route.queue_datas.push_back({n, queues, queues, 6, 0});
      protocol::BrokerData bd;
      bd.cluster = "DefaultCluster";
      bd.broker_name = n;
      bd.broker_addrs[0] = brokers.at(n)->addr();
      route.broker_datas.push_back(bd);
    }
    routes[topic] = route;
  }

  // Runs `body` on the client node of a world with a nameserver at 10.0.0.10:9876 and brokers
  // broker-a (10.0.0.2), broker-b (10.0.0.3), broker-c (10.0.0.4, never started: refuses).
  void Run(const std::function<void(FakeCluster&, io::Env&)>& body, uint64_t seed = 7) {
    sim::World world(seed);
    const std::vector<std::pair<std::string, std::string>> names = {
        {"broker-a", "10.0.0.2"}, {"broker-b", "10.0.0.3"}, {"broker-c", "10.0.0.4"}};
    sim::NodeId ns = world.AddNode(sim::NodeSpec{"namesrv", "10.0.0.10", [](io::Env&) {}});
    std::vector<sim::NodeId> ids;
    for (const auto& [name, host] : names) {
      auto b = std::make_unique<FakeBroker>();
      b->name = name;
      b->host = host;
      brokers[name] = std::move(b);
      ids.push_back(world.AddNode(sim::NodeSpec{name, host, [](io::Env&) {}}));
    }
    bool done = false;
    std::unique_ptr<RemotingServer> ns_server;
    sim::NodeId client =
        world.AddNode(sim::NodeSpec{"client", "10.0.0.1", [&](io::Env& env) {
                                      client_env = &env;
                                      ns_server = StartNameserver(world.env(ns));
                                      for (size_t i = 0; i < 2; ++i)
                                        StartBroker(world.env(ids[i]), *brokers[names[i].first]);
                                      body(*this, env);
                                      // Servers stop on a fiber, while the world still runs.
                                      ns_server->Stop();
                                      ns_server.reset();
                                      for (auto& [name, b] : brokers) {
                                        if (b->server != nullptr) b->server->Stop();
                                        b->server.reset();
                                      }
                                      done = true;
                                    }});
    world.Start(ns);
    for (sim::NodeId id : ids) world.Start(id);
    world.Start(client);
    Instant limit = world.Now() + 600s;
    while (!done && world.Now() < limit) world.RunFor(100ms);
    EXPECT_TRUE(done) << "the test body did not finish within 600 virtual seconds";
    if (!done) {
      // The servers cannot stop off a fiber: leave them to the process's end.
      (void)ns_server.release();
      for (auto& [name, b] : brokers) (void)b->server.release();
    }
  }

 private:
  std::unique_ptr<RemotingServer> StartNameserver(io::Env& env) {
    auto d = std::make_shared<RequestDispatcher>();
    d->Register(protocol::request::kGetRouteInfoByTopic,
                [this](const std::shared_ptr<RemotingConnection>&, RemotingCommand request) {
                  auto h = protocol::GetRouteInfoRequestHeader::Decode(request.ext_fields);
                  auto it = routes.find(h.ok() ? h->topic : "");
                  if (it == routes.end()) {
                    return std::optional(protocol::MakeResponseCommand(
                        protocol::response::kTopicNotExist, "no route"));
                  }
                  RemotingCommand r = protocol::MakeResponseCommand(0);
                  std::string body = it->second.ToJson();
                  r.body.assign(body.begin(), body.end());
                  return std::optional(r);
                });
    auto server = std::make_unique<RemotingServer>(env, d);
    Status s = server->Start(io::Address{"", 9876});
    EXPECT_TRUE(s.ok()) << s.ToString();
    return server;
  }

  void StartBroker(io::Env& env, FakeBroker& b) {
    auto d = std::make_shared<RequestDispatcher>();
    io::Env* e = &env;
    auto on_send = [&b, e](const std::shared_ptr<RemotingConnection>&,
                           RemotingCommand request) -> std::optional<RemotingCommand> {
      b.sends.push_back(request);
      int32_t code = 0;
      if (!b.script.empty()) {
        code = b.script.front();
        b.script.pop_front();
      }
      if (code == kSilent) {
        e->scheduler.Sleep(100s);
        return std::nullopt;
      }
      RemotingCommand r = protocol::MakeResponseCommand(code, "scripted");
      if (code == 0 || (code >= 10 && code <= 12)) {
        auto h = protocol::SendMessageRequestHeader::Decode(request);
        protocol::SendMessageResponseHeader rh;
        rh.msg_id = "0A00000200002A9F0000000000000000";
        rh.queue_id = h.ok() ? h->queue_id : 0;
        rh.queue_offset = b.next_offset++;
        rh.Encode(r.ext_fields);
      }
      return r;
    };
    d->Register(protocol::request::kSendMessageV2, on_send);
    d->Register(protocol::request::kSendBatchMessage, on_send);
    for (int32_t code : {protocol::request::kHeartBeat, protocol::request::kUnregisterClient}) {
      d->Register(code, [&b](const std::shared_ptr<RemotingConnection>&, RemotingCommand request) {
        b.others.push_back(request);
        return std::optional(protocol::MakeResponseCommand(0));
      });
    }
    b.server = std::make_unique<RemotingServer>(env, d);
    Status s = b.server->Start(io::Address{"", 10911});
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
};

}  // namespace apogee::client_test
