#pragma once

// A scripted RocketMQ cluster for client tests, on the simulator: one fake nameserver that
// serves routes from a table, and fake brokers that record every request and answer
// SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE with codes taken from a script. The test body runs on a
// client node of its own.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/io/env.h"
#include "core/protocol/bodies.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"
#include "core/remoting/remoting_server.h"
#include "sim/world.h"
#include "tests/protocol/message_test_util.h"

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
  // Pull side: stored messages per (topic, queue), committed offsets, known consumers.
  std::map<std::pair<std::string, int32_t>, std::vector<protocol::StoredSpec>> logs;
  std::map<std::pair<std::string, int32_t>, int64_t> committed;  // group-less: one group
  std::map<std::string, std::set<std::string>> consumers;        // group -> client ids
  int64_t next_physical = 0;
  Duration pull_hold = 1s;  // how long a long poll that finds nothing is held
  size_t pulls = 0;         // PULL_MESSAGE requests received

  // Appends a message to a queue's log; returns its queue offset.
  int64_t Store(const std::string& topic, int32_t queue, const std::string& body,
                const std::string& tags = "") {
    auto& log = logs[{topic, queue}];
    protocol::StoredSpec spec;
    spec.topic = topic;
    spec.queue_id = queue;
    spec.body.assign(body.begin(), body.end());
    if (!tags.empty()) spec.properties["TAGS"] = tags;
    spec.properties["UNIQ_KEY"] = fmt::format("{}-{}-{}", topic, queue, log.size());
    spec.queue_offset = static_cast<int64_t>(log.size());
    spec.physical_offset = next_physical;
    next_physical += 1000;
    log.push_back(spec);
    return spec.queue_offset;
  }

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

  static RemotingCommand Ok() { return protocol::MakeResponseCommand(0); }

  // PULL_MESSAGE (long polls hold pull_hold), offsets, heartbeats, consumer lists and locks.
  void RegisterPullSide(io::Env& env, FakeBroker& b, RequestDispatcher& d) {
    namespace rq = protocol::request;
    io::Env* e = &env;
    d.Register(rq::kHeartBeat,
               [&b](const std::shared_ptr<RemotingConnection>&, RemotingCommand request) {
                 b.others.push_back(request);
                 std::string_view text(reinterpret_cast<const char*>(request.body.data()),
                                       request.body.size());
                 auto hb = protocol::HeartbeatData::FromJson(text);
                 if (hb.ok()) {
                   for (const auto& c : hb->consumer_data_set)
                     b.consumers[c.group_name].insert(hb->client_id);
                 }
                 return std::optional(Ok());
               });
    d.Register(rq::kGetConsumerListByGroup,
               [&b](const std::shared_ptr<RemotingConnection>&, RemotingCommand request) {
                 auto h = protocol::ConsumerGroupHeader::Decode(request.ext_fields);
                 protocol::ConsumerListBody body;
                 for (const auto& id : b.consumers[h.ok() ? h->consumer_group : ""]) {
                   body.consumer_id_list.push_back(id);
                 }
                 RemotingCommand r = Ok();
                 std::string json = body.ToJson();
                 r.body.assign(json.begin(), json.end());
                 return std::optional(r);
               });
    d.Register(rq::kLockBatchMq,
               [&b](const std::shared_ptr<RemotingConnection>&, RemotingCommand request) {
                 b.others.push_back(request);
                 std::string_view text(reinterpret_cast<const char*>(request.body.data()),
                                       request.body.size());
                 auto body = protocol::LockBatchRequestBody::FromJson(text);
                 protocol::LockBatchResponseBody out;
                 if (body.ok()) out.lock_ok_mq_set = body->mq_set;
                 RemotingCommand r = Ok();
                 std::string json = out.ToJson();
                 r.body.assign(json.begin(), json.end());
                 return std::optional(r);
               });
    d.Register(rq::kQueryConsumerOffset, [&b](const std::shared_ptr<RemotingConnection>&,
                                              RemotingCommand request) {
      auto h = protocol::QueryConsumerOffsetRequestHeader::Decode(request.ext_fields);
      auto it = b.committed.find({h->topic, h->queue_id});
      if (it == b.committed.end()) {
        return std::optional(protocol::MakeResponseCommand(protocol::response::kQueryNotFound));
      }
      RemotingCommand r = Ok();
      protocol::OffsetResponseHeader{it->second}.Encode(r.ext_fields);
      return std::optional(r);
    });
    d.Register(rq::kUpdateConsumerOffset,
               [&b](const std::shared_ptr<RemotingConnection>&, RemotingCommand request) {
                 b.others.push_back(request);
                 auto h = protocol::UpdateConsumerOffsetRequestHeader::Decode(request.ext_fields);
                 b.committed[{h->topic, h->queue_id}] = h->commit_offset;
                 return std::optional(Ok());
               });
    d.Register(rq::kGetMaxOffset, [&b](const std::shared_ptr<RemotingConnection>&,
                                       RemotingCommand request) {
      auto h = protocol::QueueRequestHeader::Decode(request.ext_fields);
      RemotingCommand r = Ok();
      protocol::OffsetResponseHeader{static_cast<int64_t>(b.logs[{h->topic, h->queue_id}].size())}
          .Encode(r.ext_fields);
      return std::optional(r);
    });
    d.Register(rq::kPullMessage,
               [&b, e](const std::shared_ptr<RemotingConnection>&, RemotingCommand request) {
                 auto h = protocol::PullMessageRequestHeader::Decode(request.ext_fields);
                 b.pulls++;
                 const auto key = std::make_pair(h->topic, h->queue_id);
                 auto size = static_cast<int64_t>(b.logs[key].size());
                 if (h->queue_offset >= size && (h->sys_flag & protocol::kPullFlagSuspend) != 0) {
                   e->scheduler.Sleep(b.pull_hold);
                   size = static_cast<int64_t>(b.logs[key].size());
                 }
                 protocol::PullMessageResponseHeader rh;
                 rh.min_offset = 0;
                 rh.max_offset = size;
                 int32_t code = 0;
                 RemotingCommand r;
                 if (h->queue_offset > size) {
                   code = protocol::response::kPullOffsetMoved;
                   rh.next_begin_offset = size;
                 } else if (h->queue_offset == size) {
                   code = protocol::response::kPullNotFound;
                   rh.next_begin_offset = size;
                 } else {
                   int64_t end = std::min(size, h->queue_offset + h->max_msg_nums);
                   for (int64_t i = h->queue_offset; i < end; ++i) {
                     protocol::AppendStoredRecord(b.logs[key][static_cast<size_t>(i)], &r.body);
                   }
                   rh.next_begin_offset = end;
                 }
                 RemotingCommand resp = protocol::MakeResponseCommand(code);
                 resp.body = std::move(r.body);
                 rh.Encode(resp.ext_fields);
                 return std::optional(resp);
               });
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
    RegisterPullSide(env, b, *d);
    for (int32_t code :
         {protocol::request::kUnregisterClient, protocol::request::kConsumerSendMsgBack,
          protocol::request::kUnlockBatchMq}) {
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
