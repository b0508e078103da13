#include "sim/cluster/cluster.h"

#include <fmt/format.h>

#include <any>
#include <map>
#include <set>

#include "core/base/crc32.h"
#include "core/base/java_hash.h"
#include "core/base/log.h"
#include "core/broker/broker.h"
#include "core/broker/delay_levels.h"
#include "core/client/client_instance.h"
#include "core/client/producer.h"
#include "core/client/pull_consumer.h"
#include "core/client/push_consumer.h"
#include "core/client/transaction_producer.h"
#include "core/nameserver/name_server.h"
#include "core/protocol/codes.h"

namespace apogee::sim {

namespace {

constexpr uint16_t kNamesrvPort = 9876;
constexpr uint16_t kBrokerPort = 10911;

// Parks the node's main fiber for the rest of the node's life: its objects (a broker, a
// client) live on its stack and go when a crash or the end of the world unwinds it.
[[noreturn]] void ServeForever(io::Env& env) {
  for (;;) env.scheduler.Sleep(std::chrono::hours(1));
}

// A store shaped for the simulator: small files, so a run keeps little in memory.
store::StoreConfig SimStoreConfig(const ClusterSpec& spec, uint32_t ipv4) {
  store::StoreConfig c;
  c.flush_type = spec.flush;
  c.segment_bytes = spec.segment_bytes;
  if (spec.message_bytes_max != 0) c.message_bytes_max = spec.message_bytes_max;
  c.sync_flush_timeout = spec.sync_flush_timeout;
  c.cq_entries_per_file = 100'000;
  c.index_slots = 4'096;
  c.index_entries_max = 65'536;
  c.write_buffer_bytes_max = 8u << 20;
  c.store_ipv4 = ipv4;
  c.store_port = kBrokerPort;
  return c;
}

// Keyed sends: the key's hash picks the queue, so one key's messages share a queue while the
// route keeps the same queues.
client::MessageQueue SelectByKey(const std::vector<client::MessageQueue>& queues,
                                 const protocol::Message&, const std::any& arg) {
  APOGEE_ASSERT(!queues.empty());
  const auto& key = std::any_cast<const std::string&>(arg);
  uint32_t h = static_cast<uint32_t>(JavaStringHash(key));
  return queues[h % queues.size()];
}

}  // namespace

const char* OpOutcomeName(OpOutcome outcome) {
  switch (outcome) {
    case OpOutcome::kPending:
      return "pending";
    case OpOutcome::kOk:
      return "ok";
    case OpOutcome::kFail:
      return "fail";
    case OpOutcome::kInfo:
      return "info";
  }
  return "?";
}

Cluster::Cluster(World& world, ClusterSpec spec, History* history)
    : world_(world), spec_(std::move(spec)), history_(history) {
  APOGEE_ASSERT(spec_.delay_fraction >= 0 && spec_.delay_fraction <= 1);
  APOGEE_ASSERT(spec_.delay_level_max >= 1);
  for (int i = 0; i < spec_.nameservers; ++i) {
    namesrv_addrs_.push_back(fmt::format("10.0.0.{}:{}", i + 1, kNamesrvPort));
  }
  Result<broker::DelayLevels> levels =
      broker::DelayLevels::Parse(broker::BrokerConfig().message_delay_level);
  APOGEE_ASSERT(levels.ok());
  for (int32_t l = 1; l <= levels->max_level(); l++) {
    history_->delay_levels.push_back(levels->DelayOf(l));
  }
  for (int i = 0; i < spec_.nameservers; ++i) AddNameserver(i);
  for (int i = 0; i < spec_.brokers; ++i) AddBroker(i);
  int host = 0;
  bool failing = false;
  for (const GroupSpec& g : spec_.groups) {
    GroupInfo info{g.name, spec_.topic, g.broadcasting, g.orderly, {}};
    info.max_reconsume_times =
        g.max_reconsume_times >= 0 ? g.max_reconsume_times : (g.orderly ? -1 : 16);
    for (int i = 0; i < g.consumers; ++i) {
      info.consumers.push_back(fmt::format("{}-{}", g.name, i + 1));
      AddConsumer(g, i, host++);
    }
    history_->groups.push_back(std::move(info));
    failing = failing || (g.failing && !g.broadcasting);
  }
  for (int i = 0; i < spec_.producers; ++i) AddProducer(i);
  AddAuditor();
  if (failing) AddDlqReader();
}

bool Cluster::FailThisDelivery(const GroupSpec& group, const std::string& key) {
  if (!group.failing || group.broadcasting) return false;
  // The sequence number is what follows the key's last '-'.
  size_t dash = key.rfind('-');
  if (dash == std::string::npos) return false;
  uint64_t seq = 0;
  for (char c : key.substr(dash + 1)) {
    if (c < '0' || c > '9') return false;
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  int& failed = failures_[{group.name, key}];
  bool fail = false;
  if (spec_.fail_always_every > 0 && seq % static_cast<uint64_t>(spec_.fail_always_every) == 1) {
    fail = true;
  } else if (spec_.fail_few_every > 0 && seq % static_cast<uint64_t>(spec_.fail_few_every) == 2) {
    fail = failed < spec_.fail_few_times;
  }
  if (fail) failed++;
  return fail;
}

void Cluster::AddNameserver(int index) {
  std::string host = fmt::format("10.0.0.{}", index + 1);
  nameservers_.push_back(world_.AddNode(
      NodeSpec{fmt::format("ns-{}", index + 1), host, [host](io::Env& env) {
                 nameserver::NamesrvConfig config;
                 config.listen = io::Address{host, kNamesrvPort};
                 Result<std::unique_ptr<nameserver::NameServer>> ns =
                     nameserver::NameServer::Start(env, config);
                 APOGEE_ASSERT(ns.ok(), "nameserver start: {}", ns.status().ToString());
                 ServeForever(env);
               }}));
}

void Cluster::AddBroker(int index) {
  std::string host = fmt::format("10.0.1.{}", index + 1);
  std::string name = fmt::format("broker-{}", static_cast<char>('a' + index));
  uint32_t ipv4 = (10u << 24) | (0u << 16) | (1u << 8) | static_cast<uint32_t>(index + 1);
  brokers_.push_back(world_.AddNode(NodeSpec{
      name, host,
      [this, index, host, name, ipv4](io::Env& env) {
        history_->broker_starts.push_back(NodeStart{
            name, world_.incarnation(brokers_[static_cast<size_t>(index)]), world_.Now()});
        broker::BrokerConfig config;
        config.broker_name = name;
        config.announce_host = host;
        config.listen = io::Address{host, kBrokerPort};
        for (const std::string& a : namesrv_addrs_) {
          config.namesrv_addrs.push_back(io::Address::Parse(a).value());
        }
        config.store_root = "store";
        config.store = SimStoreConfig(spec_, ipv4);
        config.offset_flush_interval = spec_.offset_flush_interval;
        if (spec_.transaction_fraction > 0) {
          config.transaction_check_interval = spec_.txn_check_interval;
          config.transaction_timeout = spec_.txn_timeout;
          config.transaction_check_max = 1'000'000;
        }
        // A start can fail on a faulty disk (recovery reads, the config files); as
        // a process supervisor would, the harness starts the broker again a second
        // later, and likewise retries the topic until the broker has stored it.
        std::unique_ptr<broker::Broker> b;
        for (;;) {
          Result<std::unique_ptr<broker::Broker>> started = broker::Broker::Start(env, config);
          if (started.ok()) {
            b = std::move(*started);
            break;
          }
          LOG_WARN("{}: start failed ({}); restarting it in 1 s", name,
                   started.status().ToString());
          env.scheduler.Sleep(std::chrono::seconds(1));
        }
        std::vector<protocol::TopicConfig> topics(1);
        topics[0].topic_name = spec_.topic;
        topics[0].read_queue_nums = spec_.queues_per_broker;
        topics[0].write_queue_nums = spec_.queues_per_broker;
        topics[0].perm = protocol::kPermRead | protocol::kPermWrite;
        for (const GroupSpec& g : spec_.groups) {
          if (!g.failing || g.broadcasting) continue;
          protocol::TopicConfig dlq;
          dlq.topic_name = std::string(protocol::kDlqGroupTopicPrefix) + g.name;
          dlq.read_queue_nums = 1;
          dlq.write_queue_nums = 1;
          dlq.perm = protocol::kPermRead | protocol::kPermWrite;
          topics.push_back(std::move(dlq));
        }
        for (const protocol::TopicConfig& topic : topics) {
          for (;;) {
            Status created = b->topics().Update(topic);
            if (created.ok()) break;
            LOG_WARN("{}: creating topic {} failed ({}); again in 1 s", name, topic.topic_name,
                     created.ToString());
            env.scheduler.Sleep(std::chrono::seconds(1));
          }
        }
        if (spec_.on_broker) {
          // Tells the observer the broker is gone when this incarnation unwinds.
          struct Gone {
            const ClusterSpec* spec;
            int index;
            ~Gone() { spec->on_broker(index, nullptr); }
          } gone{&spec_, index};
          spec_.on_broker(index, b.get());
          ServeForever(env);
        }
        ServeForever(env);
      },
      DiskFaults{.write_latency_min = std::chrono::microseconds(5),
                 .write_latency_max = std::chrono::microseconds(50),
                 .sync_latency_min = std::chrono::microseconds(200),
                 .sync_latency_max = spec_.broker_sync_latency_max}}));
}

void Cluster::AddProducer(int index) {
  std::string host = fmt::format("10.0.2.{}", index + 1);
  std::string name = fmt::format("producer-{}", index + 1);
  NodeId id = static_cast<NodeId>(world_.node_count());
  producers_.push_back(world_.AddNode(NodeSpec{
      name, host, [this, host, name, id](io::Env& env) {
        client::ClientConfig cc;
        cc.namesrv_addrs = namesrv_addrs_;
        cc.client_ip = host;
        cc.instance_name = name;
        auto instance = std::make_shared<client::ClientInstance>(env, cc);
        client::ProducerConfig pc;
        pc.group = "sim-producers";
        // The check listener answers from the harness's record: commit only what was decided
        // committed; a transaction whose local part never ran is rolled back.
        client::TransactionProducer txn_producer(
            instance, pc, [this](const protocol::MessageExt& m) {
              auto it = txn_index_.find(m.Keys());
              if (it == txn_index_.end()) return client::LocalTransactionState::kRollback;
              switch (history_->transactions[it->second].decision) {
                case TxnDecision::kCommit:
                  return client::LocalTransactionState::kCommit;
                case TxnDecision::kRollback:
                  return client::LocalTransactionState::kRollback;
                case TxnDecision::kNone:
                  break;
              }
              // Not decided: still running (a paused producer) is unknown; a local transaction
              // whose producer died before it decided never commits.
              return txn_running_.contains(m.Keys()) ? client::LocalTransactionState::kUnknown
                                                     : client::LocalTransactionState::kRollback;
            });
        client::Producer& producer = txn_producer.producer();
        Status started = txn_producer.Start();
        APOGEE_ASSERT(started.ok(), "producer start: {}", started.ToString());
        const Duration gap =
            Duration(std::chrono::seconds(1)) / std::max(1, spec_.rate_per_producer);
        const uint32_t incarnation = world_.incarnation(id);
        for (uint64_t seq = 0;; ++seq) {
          if (!producing_) {
            env.scheduler.Sleep(std::chrono::seconds(1));
            continue;
          }
          protocol::Message msg;
          msg.topic = spec_.topic;
          std::string key = fmt::format("{}.{}-{}", name, incarnation, seq);
          msg.SetKeys(key);
          msg.body.assign(static_cast<size_t>(spec_.body_bytes),
                          static_cast<uint8_t>('a' + seq % 26));
          SendOp invoke;
          invoke.producer = name;
          invoke.key = key;
          invoke.topic = spec_.topic;
          invoke.body_crc = Crc32(msg.body);
          if (env.random.Chance(spec_.delay_fraction)) {
            invoke.delay_level = static_cast<int32_t>(env.random.Range(1, spec_.delay_level_max));
            msg.SetDelayLevel(invoke.delay_level);
          } else if (spec_.order_keys > 0) {
            invoke.order_key =
                fmt::format("{}-k{}", name, seq % static_cast<uint64_t>(spec_.order_keys));
          }
          invoke.invoked = world_.Now();
          if (spec_.transaction_fraction > 0 && env.random.Chance(spec_.transaction_fraction)) {
            invoke.delay_level = 0;
            invoke.order_key.clear();
            SendInTransaction(env, txn_producer, std::move(msg), std::move(invoke));
            env.scheduler.Sleep(gap);
            continue;
          }
          const std::string order_key = invoke.order_key;
          size_t op = history_->Invoke(std::move(invoke));
          Result<client::SendResult> r = order_key.empty()
                                             ? producer.Send(msg)
                                             : producer.Send(msg, SelectByKey, std::any(order_key));
          SendOp& o = history_->sends[op];
          o.completed = world_.Now();
          if (r.ok() && r->status == client::SendStatus::kSendOk) {
            o.outcome = OpOutcome::kOk;
            o.msg_id = r->msg_id;
            o.queue = r->message_queue;
            o.offset = r->queue_offset;
          } else if (r.ok()) {
            // Stored but not known durable (FLUSH_DISK_TIMEOUT): not an acknowledgement.
            o.outcome = OpOutcome::kInfo;
            o.error = std::string(client::ToString(r->status));
          } else {
            // A failed sync send may have been stored by an attempt that timed out:
            // unknown.
            o.outcome = OpOutcome::kInfo;
            o.error = r.status().ToString();
          }
          env.scheduler.Sleep(gap);
        }
      }}));
}

void Cluster::SendInTransaction(io::Env& env, client::TransactionProducer& producer,
                                protocol::Message msg, SendOp invoke) {
  const std::string key = invoke.key;
  TxnRecord record;
  record.key = key;
  record.producer = invoke.producer;
  record.topic = invoke.topic;
  record.invoked = invoke.invoked;
  msg.SetDelayLevel(0);
  const size_t op = history_->Invoke(std::move(invoke));
  const size_t txn = history_->transactions.size();
  history_->transactions.push_back(std::move(record));
  txn_index_[key] = txn;
  // Running until this call returns or the node's crash unwinds it.
  struct Running {
    std::set<std::string>* running;
    std::string key;
    ~Running() { running->erase(key); }
  } running{&txn_running_, key};
  txn_running_.insert(key);
  auto executor = [&](const protocol::Message&, const std::string&) {
    history_->transactions[txn].half_acked = true;
    // The local transaction takes a while: a crash can land between the half and its end.
    env.scheduler.Sleep(std::chrono::milliseconds(env.random.Range(0, 200)));
    const bool commit = env.random.Chance(spec_.txn_commit_ratio);
    history_->transactions[txn].decision = commit ? TxnDecision::kCommit : TxnDecision::kRollback;
    if (env.random.Chance(spec_.txn_unknown_fraction)) {
      return client::LocalTransactionState::kUnknown;
    }
    return commit ? client::LocalTransactionState::kCommit
                  : client::LocalTransactionState::kRollback;
  };
  Result<client::TransactionSendResult> r = producer.SendMessageInTransaction(msg, executor);
  SendOp& o = history_->sends[op];
  o.completed = world_.Now();
  // Never an acknowledgement: whether it is delivered is the transaction checker's business.
  o.outcome = OpOutcome::kInfo;
  if (r.ok()) {
    o.error = "transactional";
    o.msg_id = r->send.msg_id;
    if (r->end_status.ok()) {
      history_->transactions[txn].end_sent = std::string(client::ToString(r->local_state));
    }
  } else {
    o.error = fmt::format("transactional: {}", r.status().ToString());
  }
}

void Cluster::AddConsumer(const GroupSpec& group, int index, int host_index) {
  std::string host = fmt::format("10.0.3.{}", host_index + 1);
  std::string name = fmt::format("{}-{}", group.name, index + 1);
  NodeId id = static_cast<NodeId>(world_.node_count());
  consumers_.push_back(world_.AddNode(NodeSpec{
      name, host, [this, host, name, group, id](io::Env& env) {
        const uint32_t incarnation = world_.incarnation(id);
        client::ClientConfig cc;
        cc.namesrv_addrs = namesrv_addrs_;
        cc.client_ip = host;
        cc.instance_name = name;
        cc.on_offset_commit = [this, name, incarnation](const client::OffsetCommitEvent& e) {
          history_->commits.push_back(OffsetCommit{e.group, name, incarnation,
                                                   MessageQueue{e.topic, e.broker_name, e.queue_id},
                                                   e.offset, e.sent, e.acked});
        };
        auto instance = std::make_shared<client::ClientInstance>(env, cc);
        client::PushConsumerConfig pc;
        pc.group = group.name;
        pc.message_model = group.broadcasting ? protocol::MessageModel::kBroadcasting
                                              : protocol::MessageModel::kClustering;
        pc.consume_from_where = protocol::ConsumeFromWhere::kFirstOffset;
        pc.consume_fibers = 1;  // one consume fiber keeps each queue's deliveries in pull order
        pc.offset_store_dir = "offsets";
        pc.max_reconsume_times = group.max_reconsume_times;
        client::PushConsumer consumer(instance, pc);
        Status subscribed = consumer.Subscribe(spec_.topic, "*");
        APOGEE_ASSERT(subscribed.ok(), "subscribe: {}", subscribed.ToString());
        // Records each delivery with what the listener answers, which it decides here: false for
        // a message it fails. The queue is the one pulled from (a retry queue for a redelivered
        // message).
        auto consume = [this, name, group](const std::vector<protocol::MessageExt>& msgs,
                                           const MessageQueue& mq) {
          bool ok = true;
          for (const protocol::MessageExt& m : msgs) {
            Delivery d;
            d.group = group.name;
            d.consumer = name;
            d.queue = mq;
            d.offset = m.queue_offset;
            d.key = m.Keys();
            d.msg_id = m.msg_id;
            d.reconsume_times = m.reconsume_times;
            d.at = world_.Now();
            d.body_crc = Crc32(m.body);
            if (FailThisDelivery(group, d.key)) {
              d.outcome = ConsumeOutcome::kFailed;
              ok = false;
            }
            history_->deliveries.push_back(std::move(d));
          }
          if (!ok) {
            // The whole batch fails: mark the others failed too, as the client treats them so.
            for (size_t i = history_->deliveries.size() - msgs.size();
                 i < history_->deliveries.size(); i++) {
              history_->deliveries[i].outcome = ConsumeOutcome::kFailed;
            }
          }
          return ok;
        };
        if (group.orderly) {
          consumer.RegisterListener(
              client::OrderlyListener([consume](const std::vector<protocol::MessageExt>& msgs,
                                                client::ConsumeOrderlyContext& ctx) {
                return consume(msgs, ctx.mq)
                           ? client::ConsumeOrderlyStatus::kSuccess
                           : client::ConsumeOrderlyStatus::kSuspendCurrentQueueAMoment;
              }));
        } else {
          consumer.RegisterListener(
              client::ConcurrentListener([consume](const std::vector<protocol::MessageExt>& msgs,
                                                   client::ConsumeConcurrentlyContext& ctx) {
                if (consume(msgs, ctx.mq))
                  return client::ConsumeConcurrentlyStatus::kConsumeSuccess;
                ctx.delay_level = 1;  // retries after 1 s, not the default 10 s and more
                return client::ConsumeConcurrentlyStatus::kReconsumeLater;
              }));
        }
        Status started = consumer.Start();
        APOGEE_ASSERT(started.ok(), "consumer start: {}", started.ToString());
        ServeForever(env);
      }}));
}

void Cluster::Start(Duration settle) {
  for (NodeId n : nameservers_) world_.Start(n);
  for (NodeId n : brokers_) world_.Start(n);
  world_.RunFor(settle);
  for (NodeId n : consumers_) world_.Start(n);
  for (NodeId n : producers_) world_.Start(n);
  if (dlq_reader_.has_value()) world_.Start(*dlq_reader_);
  if (spec_.delay_fraction > 0) StartClockSampler();
}

}  // namespace apogee::sim

namespace apogee::sim {

void RecordWorldStats(World& world, const RunConfig& config, RunReport* report) {
  report->buggify = world.buggify().Coverage();
  if (config.record_trace) {
    report->trace = world.kernel().trace().entries();
    for (size_t g = 0; g < world.runtime().group_count(); g++) {
      report->group_names.push_back(world.runtime().GroupName(static_cast<io::GroupId>(g)));
    }
  }
  report->trace_hash = world.kernel().trace().hash();
  report->trace_steps = world.kernel().steps();
  report->sim_time_ns = ToNanos(world.Now());
  report->fiber_resumes = world.runtime().fiber_resumes();
  report->events_fired = world.runtime().events_fired();
}

}  // namespace apogee::sim
