#pragma once

// Cluster: a whole Apogee deployment inside a sim::World, built from a ClusterSpec. The nodes
// run the product's own code (core/nameserver, core/broker, core/client) on their simulated
// Envs; the harness adds the workload (producers sending numbered messages at a steady rate)
// and records every send and delivery in a History for the checkers.
//
// Hosts: nameservers 10.0.0.N:9876, brokers 10.0.1.N:10911, producers 10.0.2.N, consumers
// 10.0.3.N (N from 1). Node names: ns-N, broker-X (X = a, b, ...), producer-N, <group>-N.
// Brokers create the workload topic themselves at start (as an operator's admin tool would
// before the run), with queues_per_broker read and write queues, and, for each failing group,
// its dead-letter topic %DLQ%<group> with one queue readable (RocketMQ makes it write-only; an
// operator opens it to read it), which the DLQ reader (10.0.9.2, outside every fault plan)
// reads throughout the run into history.dlq.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/base/time.h"
#include "core/protocol/message.h"
#include "core/store/store_config.h"
#include "sim/cluster/history.h"
#include "sim/scenario.h"
#include "sim/world.h"

namespace apogee::broker {
class Broker;
}  // namespace apogee::broker
namespace apogee::client {
class TransactionProducer;
}  // namespace apogee::client

namespace apogee::sim {

struct GroupSpec {
  std::string name;
  int consumers = 2;
  bool broadcasting = false;
  bool orderly = false;
  // The listener fails the messages ClusterSpec's fail_* options choose (clustering groups only:
  // a broadcasting consumer drops what it fails, so there is nothing to check).
  bool failing = false;
  // The consumer's maxReconsumeTimes; -1 keeps the client's default (16 concurrent, unbounded
  // orderly). An orderly group whose listener fails some message for ever needs a bound.
  int32_t max_reconsume_times = -1;
};

struct ClusterSpec {
  int nameservers = 2;
  int brokers = 2;
  store::FlushType flush = store::FlushType::kSync;
  std::string topic = "TopicTest";
  int queues_per_broker = 4;
  int producers = 2;
  // Messages each producer sends per simulated second, each a synchronous send.
  int rate_per_producer = 50;
  int body_bytes = 100;
  // Each broker sync takes [0.2 ms, this]. Wider windows between a write and its sync make
  // crash bugs visible; 30 ms is a slow disk under load.
  Duration broker_sync_latency_max = std::chrono::milliseconds(2);
  // Broker store and flush settings a scenario may aim at (the harness's defaults otherwise).
  // Commit log segments of segment_bytes roll over during a run when small; the largest
  // message must fit one (message_bytes_max, 0: the store's default of 4 MiB).
  uint64_t segment_bytes = 16u << 20;
  uint32_t message_bytes_max = 0;
  // How long a SYNC_FLUSH put waits for its sync before it is answered FLUSH_DISK_TIMEOUT.
  Duration sync_flush_timeout = std::chrono::seconds(5);
  // How often a broker writes its consumer offsets file (consumerOffset.json).
  Duration offset_flush_interval = std::chrono::seconds(5);
  std::vector<GroupSpec> groups;

  // Workload options, all off by default.
  // Delayed messages: this fraction of sends carries DELAY, a level drawn in [1, delay_level_max]
  // (with the default levels 1 s, 5 s, 10s, ...). The brokers' wall-clock offsets are then
  // sampled every 10 ms into the history (ClockSample), for the delay checker.
  double delay_fraction = 0;
  int delay_level_max = 3;
  // Keyed sends: every undelayed message carries an order key, one of order_keys per producer
  // ("producer-1-k3"), and is sent with a selector that maps the key to one queue of the topic
  // (hash of the key modulo the number of queues).
  int order_keys = 0;
  // Failing listeners (groups with `failing`): the message with sequence number s fails every
  // delivery when s % fail_always_every == 1 (it ends in %DLQ%<group>), and its first
  // fail_few_times deliveries when s % fail_few_every == 2 (it is consumed after the retries).
  // 0: none. A failing concurrent listener asks for retry delay level 1 (1 s).
  int fail_always_every = 0;
  int fail_few_every = 0;
  int fail_few_times = 2;

  // Transactions: this fraction of sends goes through a TransactionProducer. The local
  // transaction (0 to 200 ms long) commits with probability txn_commit_ratio, else rolls back;
  // the harness records the decision (History::transactions) before the executor returns, and
  // the executor returns UNKNOW instead with probability txn_unknown_fraction, so the brokers'
  // checks settle those from the record. The brokers check every txn_check_interval for half
  // messages older than txn_timeout (RocketMQ: 60 s, 6 s) and never give up within a run.
  double transaction_fraction = 0;
  double txn_commit_ratio = 0.6;
  double txn_unknown_fraction = 0.3;
  Duration txn_check_interval = std::chrono::seconds(5);
  Duration txn_timeout = std::chrono::seconds(2);

  // Optional: told of each broker incarnation once it serves (and has the workload topic), and
  // again with nullptr when that incarnation goes (crash, or the end of the world); the pointer
  // is valid in between, for a test to look into the broker's store or tables.
  std::function<void(int index, broker::Broker* broker)> on_broker;
};

class Cluster {
 public:
  // Adds every node to `world` (not started). `history` must outlive the world's nodes.
  Cluster(World& world, ClusterSpec spec, History* history);

  // Starts the nameservers and brokers, then (after `settle`, so brokers have registered)
  // the consumers and producers. Runs the world for `settle`.
  void Start(Duration settle = std::chrono::seconds(2));
  // Producers stop sending (each finishes the send in flight).
  void StopProducers() { producing_ = false; }
  // Starts the auditor (a node outside every fault plan, host 10.0.9.1) that reads every queue
  // of the topic on every broker from its first offset to its last and fills history.audit;
  // audit.done once it has read them all. Call once faults have healed.
  void StartAudit();

  const ClusterSpec& spec() const { return spec_; }
  // "host:port" of every nameserver, for clients a test adds itself.
  const std::vector<std::string>& namesrv_addrs() const { return namesrv_addrs_; }
  const std::vector<NodeId>& nameservers() const { return nameservers_; }
  const std::vector<NodeId>& brokers() const { return brokers_; }
  const std::vector<NodeId>& producers() const { return producers_; }
  const std::vector<NodeId>& consumers() const { return consumers_; }

 private:
  void AddNameserver(int index);
  void AddBroker(int index);
  void AddProducer(int index);
  void AddConsumer(const GroupSpec& group, int index, int host_index);
  // One transactional send of the workload, recorded as `invoke` (outcome info) and as a
  // TxnRecord. May yield.
  void SendInTransaction(io::Env& env, client::TransactionProducer& producer, protocol::Message msg,
                         SendOp invoke);
  void AddAuditor();
  void AddDlqReader();
  void StartClockSampler();
  // Whether the listener of `group` fails this delivery of the message with `key` (counts it).
  bool FailThisDelivery(const GroupSpec& group, const std::string& key);

  World& world_;
  ClusterSpec spec_;
  History* history_;
  bool producing_ = true;
  std::vector<std::string> namesrv_addrs_;
  std::vector<NodeId> nameservers_;
  std::vector<NodeId> brokers_;
  std::vector<NodeId> producers_;
  std::vector<NodeId> consumers_;
  NodeId auditor_ = 0;
  std::optional<NodeId> dlq_reader_;
  std::map<std::pair<std::string, std::string>, int> failures_;  // (group, key) -> so far
  // Transactions: key -> index in history_->transactions (the local decisions' record), and
  // the keys whose SendMessageInTransaction is still running.
  std::map<std::string, size_t> txn_index_;
  std::set<std::string> txn_running_;
};

// Fills the run's figures from the world: trace hash and steps, simulated time, fiber resumes,
// events, Buggify coverage, and (with config.record_trace) the trace itself.
void RecordWorldStats(World& world, const RunConfig& config, RunReport* report);

}  // namespace apogee::sim
