#include "tests/cluster/cluster_fixture.h"

#include <fmt/format.h>

#include "core/base/assert.h"
#include "core/base/crc32.h"
#include "sim/sim_clock.h"

namespace apogee::cluster_test {

namespace {

[[noreturn]] void ParkForever(io::Env& env) {
  for (;;) env.scheduler.Sleep(std::chrono::hours(1));
}

// Clears a pointer registration when the scope that made it unwinds (a crash included).
template <typename Map, typename Key>
struct Unregister {
  Map* map;
  Key key;
  ~Unregister() { map->erase(key); }
};

}  // namespace

Instant FromWallMs(int64_t wall_ms) {
  return InstantFromNanos(wall_ms * 1'000'000 - sim::kSimEpochWallNs);
}

std::vector<std::string> OverlappingCalls(const std::vector<ListenerCall>& calls) {
  std::map<MessageQueue, std::vector<const ListenerCall*>> by_queue;
  for (const ListenerCall& c : calls) {
    APOGEE_ASSERT(c.ended, "{} is still in a call", c.consumer);
    by_queue[c.mq].push_back(&c);
  }
  std::vector<std::string> out;
  for (const auto& [mq, list] : by_queue) {
    for (size_t i = 0; i < list.size(); ++i) {
      APOGEE_ASSERT(i == 0 || list[i - 1]->start <= list[i]->start, "calls not in start order");
      for (size_t j = i + 1; j < list.size() && list[j]->start < list[i]->end; ++j) {
        if (list[i]->consumer == list[j]->consumer) continue;
        out.push_back(fmt::format("{}: {} [{}, {}) ms and {} [{}, {}) ms", mq.ToString(),
                                  list[i]->consumer, Ms(list[i]->start.time_since_epoch()),
                                  Ms(list[i]->end.time_since_epoch()), list[j]->consumer,
                                  Ms(list[j]->start.time_since_epoch()),
                                  Ms(list[j]->end.time_since_epoch())));
      }
    }
  }
  return out;
}

size_t Handovers(const std::vector<ListenerCall>& calls) {
  std::map<MessageQueue, std::string> last;
  size_t handovers = 0;
  for (const ListenerCall& c : calls) {
    auto [it, inserted] = last.emplace(c.mq, c.consumer);
    if (!inserted && it->second != c.consumer) {
      ++handovers;
      it->second = c.consumer;
    }
  }
  return handovers;
}

int64_t Ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

ClusterTest::~ClusterTest() {
  world_.reset();
  cluster_.reset();
  SetLogLevel(saved_log_level_);
}

void ClusterTest::Build(sim::ClusterSpec spec, uint64_t seed) {
  APOGEE_ASSERT(world_ == nullptr, "Build twice");
  // Warnings and errors only: a run's info lines would drown a failure's message.
  SetLogLevel(LogLevel::kWarn);
  world_ = std::make_unique<sim::World>(seed);
  auto user = spec.on_broker;
  spec.on_broker = [this, user](int index, broker::Broker* b) {
    if (b == nullptr) {
      brokers_.erase(index);
    } else {
      brokers_[index] = b;
    }
    if (user) user(index, b);
  };
  cluster_ = std::make_unique<sim::Cluster>(*world_, std::move(spec), &history_);
}

broker::Broker* ClusterTest::broker(int index) {
  auto it = brokers_.find(index);
  return it == brokers_.end() ? nullptr : it->second;
}

client::PushConsumer* ClusterTest::consumer(NodeId id) {
  auto it = live_consumers_.find(id);
  return it == live_consumers_.end() ? nullptr : it->second;
}

client::ClientConfig ClusterTest::ClientConfigFor(const std::string& host,
                                                  const std::string& name) const {
  client::ClientConfig cc;
  cc.namesrv_addrs = cluster_->namesrv_addrs();
  cc.client_ip = host;
  cc.instance_name = name;
  return cc;
}

NodeId ClusterTest::AddConsumer(const std::string& name, ConsumerSpec spec) {
  if (spec.topic.empty()) spec.topic = cluster_->spec().topic;
  bool known = false;
  for (sim::GroupInfo& g : history_.groups) {
    if (g.name == spec.group) {
      g.consumers.push_back(name);
      known = true;
    }
  }
  if (!known) {
    history_.groups.push_back(
        sim::GroupInfo{spec.group, spec.topic, spec.broadcasting, spec.orderly, {name}});
  }
  std::string host = NextHost();
  NodeId id = static_cast<NodeId>(world_->node_count());
  return world_->AddNode(sim::NodeSpec{
      name, host, [this, id, name, host, spec](io::Env& env) {
        client::ClientConfig cc = ClientConfigFor(host, name);
        if (spec.tune_client) spec.tune_client(cc);
        auto instance = std::make_shared<client::ClientInstance>(env, cc);
        client::PushConsumerConfig pc;
        pc.group = spec.group;
        pc.message_model = spec.broadcasting ? protocol::MessageModel::kBroadcasting
                                             : protocol::MessageModel::kClustering;
        pc.consume_from_where = protocol::ConsumeFromWhere::kFirstOffset;
        pc.consume_fibers = 4;
        pc.offset_store_dir = "offsets";
        if (spec.tune) spec.tune(pc);
        client::PushConsumer consumer(instance, pc);
        Status subscribed = consumer.Subscribe(spec.topic, spec.expression);
        APOGEE_ASSERT(subscribed.ok(), "subscribe: {}", subscribed.ToString());

        // Records the deliveries and the call's extent; the scope's end (normal or unwinding)
        // closes the call.
        struct CallScope {
          ClusterTest* t;
          size_t index;
          bool finished = false;
          ~CallScope() {
            ListenerCall& c = t->calls_[index];
            c.end = t->world_->Now();
            c.ended = true;
            c.finished = finished;
          }
        };
        auto begin = [this, name, spec](const std::vector<MessageExt>& msgs,
                                        const MessageQueue& mq) {
          Instant now = world_->Now();
          for (const MessageExt& m : msgs) {
            sim::Delivery d;
            d.group = spec.group;
            d.consumer = name;
            d.queue = mq;
            d.offset = m.queue_offset;
            d.key = m.Keys();
            d.msg_id = m.msg_id;
            d.reconsume_times = m.reconsume_times;
            d.at = now;
            d.body_crc = Crc32(m.body);
            history_.deliveries.push_back(std::move(d));
          }
          calls_.push_back(ListenerCall{name, mq, now, {}, false, false});
          return calls_.size() - 1;
        };
        if (spec.orderly) {
          consumer.RegisterListener(client::OrderlyListener(
              [this, &env, begin, spec](const std::vector<MessageExt>& msgs,
                                        client::ConsumeOrderlyContext& ctx) {
                CallScope scope{this, begin(msgs, ctx.mq)};
                if (spec.consume_time > Duration::zero()) env.scheduler.Sleep(spec.consume_time);
                scope.finished = true;
                return client::ConsumeOrderlyStatus::kSuccess;
              }));
        } else {
          consumer.RegisterListener(client::ConcurrentListener(
              [this, &env, begin, spec](const std::vector<MessageExt>& msgs,
                                        client::ConsumeConcurrentlyContext& ctx) {
                CallScope scope{this, begin(msgs, ctx.mq)};
                if (spec.consume_time > Duration::zero()) env.scheduler.Sleep(spec.consume_time);
                ConsumeConcurrentlyStatus status = spec.concurrent_status
                                                       ? spec.concurrent_status(msgs)
                                                       : ConsumeConcurrentlyStatus::kConsumeSuccess;
                scope.finished = true;
                return status;
              }));
        }
        Status started = consumer.Start();
        APOGEE_ASSERT(started.ok(), "consumer start: {}", started.ToString());
        live_consumers_[id] = &consumer;
        {
          Unregister<std::map<NodeId, client::PushConsumer*>, NodeId> live{&live_consumers_, id};
          while (stop_requested_.count(id) == 0) env.scheduler.Sleep(100ms);
          consumer.Shutdown();
        }
        stopped_.insert(id);
        ParkForever(env);
      }});
}

NodeId ClusterTest::AddProducer(const std::string& name) {
  std::string host = NextHost();
  NodeId id = static_cast<NodeId>(world_->node_count());
  outbox_[id];
  NodeId added = world_->AddNode(sim::NodeSpec{
      name, host, [this, id, name, host](io::Env& env) {
        auto instance = std::make_shared<client::ClientInstance>(env, ClientConfigFor(host, name));
        client::ProducerConfig pc;
        pc.group = "test-producers";
        client::Producer producer(instance, pc);
        Status started = producer.Start();
        APOGEE_ASSERT(started.ok(), "producer start: {}", started.ToString());
        for (;;) {
          std::deque<protocol::Message>& box = outbox_[id];
          if (box.empty()) {
            env.scheduler.Sleep(5ms);
            continue;
          }
          protocol::Message msg = std::move(box.front());
          box.pop_front();
          in_flight_[id]++;
          sim::SendOp invoke;
          invoke.producer = name;
          invoke.key = msg.Keys();
          invoke.topic = msg.topic;
          invoke.body_crc = Crc32(msg.body);
          invoke.invoked = world_->Now();
          size_t op = history_.Invoke(std::move(invoke));
          Result<client::SendResult> r = producer.Send(msg);
          sim::SendOp& o = history_.sends[op];
          o.completed = world_->Now();
          if (r.ok()) {
            o.outcome = sim::OpOutcome::kOk;
            o.msg_id = r->msg_id;
            o.queue = r->message_queue;
            o.offset = r->queue_offset;
          } else {
            o.outcome = sim::OpOutcome::kInfo;
            o.error = r.status().ToString();
          }
          in_flight_[id]--;
        }
      }});
  world_->Start(added);
  return added;
}

bool ClusterTest::SendsDone(NodeId producer) const {
  auto box = outbox_.find(producer);
  auto flying = in_flight_.find(producer);
  bool empty = box == outbox_.end() || box->second.empty();
  bool idle = flying == in_flight_.end() || flying->second == 0;
  return empty && idle;
}

NodeId ClusterTest::AddClientNode(
    const std::string& name,
    std::function<void(io::Env& env, std::shared_ptr<client::ClientInstance>)> body) {
  std::string host = NextHost();
  return world_->AddNode(sim::NodeSpec{name, host, [this, name, host, body](io::Env& env) {
                                         body(env, std::make_shared<client::ClientInstance>(
                                                       env, ClientConfigFor(host, name)));
                                         ParkForever(env);
                                       }});
}

bool ClusterTest::RunInController(const std::function<void()>& fn, Duration limit) {
  auto done = std::make_shared<bool>(false);
  world_->SpawnController("test-controller", [fn, done] {
    fn();
    *done = true;
  });
  return RunUntil([done] { return *done; }, limit, 1ms);
}

std::vector<MessageExt> ClusterTest::StoredMessages(int index, const std::string& topic,
                                                    int32_t queue, int64_t from) {
  broker::Broker* b = broker(index);
  APOGEE_ASSERT(b != nullptr, "broker {} is down", index);
  std::vector<MessageExt> out;
  bool ran = RunInController([&] {
    store::GetResult got = b->store().Get(topic, queue, from, 1024, 64u << 20);
    if (got.status != store::GetStatus::kFound) return;
    Result<std::vector<MessageExt>> decoded = protocol::DecodeMessages(got.records);
    APOGEE_ASSERT(decoded.ok(), "decode: {}", decoded.status().ToString());
    out = std::move(*decoded);
  });
  APOGEE_ASSERT(ran, "store read did not finish");
  return out;
}

bool ClusterTest::RunUntil(const std::function<bool()>& done, Duration limit, Duration step) {
  Instant end = world_->Now() + limit;
  while (!done()) {
    if (world_->Now() >= end) return false;
    world_->RunFor(step);
  }
  return true;
}

std::vector<const sim::Delivery*> ClusterTest::DeliveriesOf(const std::string& group,
                                                            const std::string& key) const {
  std::vector<const sim::Delivery*> out;
  for (const sim::Delivery& d : history_.deliveries) {
    if (d.group == group && d.key == key) out.push_back(&d);
  }
  return out;
}

const sim::SendOp* ClusterTest::SendOf(const std::string& key) const {
  for (const sim::SendOp& s : history_.sends) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

}  // namespace apogee::cluster_test
