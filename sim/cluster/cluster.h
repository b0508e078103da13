#pragma once

// Cluster: a whole Apogee deployment inside a sim::World, built from a ClusterSpec. The nodes
// run the product's own code (core/nameserver, core/broker, core/client) on their simulated
// Envs; the harness adds the workload (producers sending numbered messages at a steady rate)
// and records every send and delivery in a History for the checkers.
//
// Hosts: nameservers 10.0.0.N:9876, brokers 10.0.1.N:10911, producers 10.0.2.N, consumers
// 10.0.3.N (N from 1). Node names: ns-N, broker-X (X = a, b, ...), producer-N, <group>-N.
// Brokers create the workload topic themselves at start (as an operator's admin tool would
// before the run), with queues_per_broker read and write queues.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/base/time.h"
#include "core/store/store_config.h"
#include "sim/cluster/history.h"
#include "sim/scenario.h"
#include "sim/world.h"

namespace apogee::broker {
class Broker;
}  // namespace apogee::broker

namespace apogee::sim {

struct GroupSpec {
  std::string name;
  int consumers = 2;
  bool broadcasting = false;
  bool orderly = false;
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
  std::vector<GroupSpec> groups;
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
  void AddAuditor();

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
};

// Fills the run's figures from the world: trace hash and steps, simulated time, fiber resumes,
// events, Buggify coverage, and (with config.record_trace) the trace itself.
void RecordWorldStats(World& world, const RunConfig& config, RunReport* report);

}  // namespace apogee::sim
