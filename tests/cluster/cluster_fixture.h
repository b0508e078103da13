#pragma once

// ClusterTest: a fixture for simulator integration tests. It builds a sim::Cluster (nameservers,
// brokers, and whatever producers and groups its spec names) in a World of its own, and lets a
// test add clients it drives itself: push consumers with their own subscription, listener answer
// and consume time, started, stopped cleanly or crashed on demand; producers that send the
// messages the test queues for them; nodes running any client code.
//
// Everything the nodes see is recorded into the fixture, never asserted inside the world: every
// send and delivery into history_ (sim/cluster/history.h), every listener call with its extent
// into calls_. The test body runs the world forward (RunFor, RunUntil) and asserts on those
// records between runs, so every check is in virtual time and a run is a function of the seed.
//
// Hosts: the fixture's clients are 10.0.4.N, in the order they are added.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/base/log.h"
#include "core/broker/broker.h"
#include "core/client/client_instance.h"
#include "core/client/producer.h"
#include "core/client/push_consumer.h"
#include "sim/cluster/cluster.h"
#include "sim/cluster/history.h"
#include "sim/world.h"

namespace apogee::cluster_test {

using namespace std::chrono_literals;
using client::ConsumeConcurrentlyStatus;
using protocol::MessageExt;
using protocol::MessageQueue;
using sim::NodeId;

// One call of a consumer's listener: which consumer, which queue, from when to when.
struct ListenerCall {
  std::string consumer;  // node name
  MessageQueue mq;
  Instant start{};
  Instant end{};
  // False when the node died inside the call (its end is the moment it was unwound), or while
  // the call is still running (end is then unset).
  bool finished = false;
  bool ended = false;
};

struct ConsumerSpec {
  std::string group{};
  std::string topic{};  // empty: the cluster's topic
  std::string expression = "*";
  bool broadcasting = false;
  bool orderly = false;
  // Each listener call sleeps this long inside the listener, so calls have an extent in time.
  Duration consume_time = Duration::zero();
  // Concurrent mode: the answer for each batch (called after it is recorded); unset: success.
  std::function<ConsumeConcurrentlyStatus(const std::vector<MessageExt>&)> concurrent_status{};
  // Adjust the consumer's and its client instance's config after the fixture filled them in.
  std::function<void(client::PushConsumerConfig&)> tune{};
  std::function<void(client::ClientConfig&)> tune_client{};
};

class ClusterTest : public ::testing::Test {
 protected:
  // Unwinds the world (its nodes write into the records below) before anything else goes.
  ~ClusterTest() override;

  // Builds the world and the cluster; brokers report themselves to broker(). Nothing runs yet.
  void Build(sim::ClusterSpec spec, uint64_t seed = 1);
  // Starts nameservers and brokers, runs `settle`, then starts the spec's own clients.
  void Start(Duration settle = 2s) { cluster_->Start(settle); }

  // A push consumer node, not started (world().Start(id) starts it). It records every delivery
  // into history_ and every listener call into calls_, and shuts down cleanly after
  // StopConsumer(id). The group is added to history_.groups on first use.
  NodeId AddConsumer(const std::string& name, ConsumerSpec spec);
  // Asks the consumer to shut down cleanly; done once Stopped(id) (run the world meanwhile).
  void StopConsumer(NodeId id) { stop_requested_.insert(id); }
  bool Stopped(NodeId id) const { return stopped_.count(id) > 0; }
  // The running consumer of that node, or nullptr (not started yet, shut down or crashed).
  client::PushConsumer* consumer(NodeId id);

  // A producer node, started at once: it sends the messages Send() queues, one at a time
  // (synchronously, in order), recording each in history_ by its KEYS.
  NodeId AddProducer(const std::string& name);
  // REQUIRES: msg has KEYS unique in the run.
  void Send(NodeId producer, protocol::Message msg) { outbox_[producer].push_back(std::move(msg)); }
  // True once every message queued for `producer` has an outcome.
  bool SendsDone(NodeId producer) const;

  // A node running `body` with a client instance of its own (not started).
  NodeId AddClientNode(
      const std::string& name,
      std::function<void(io::Env& env, std::shared_ptr<client::ClientInstance>)> body);

  // The running broker `index` (0 = broker-a), or nullptr while it is down.
  broker::Broker* broker(int index);

  // Runs `fn` on a fiber outside every node (it may yield, as store reads do) and runs the world
  // until it returned; false when it did not within `limit`.
  bool RunInController(const std::function<void()>& fn, Duration limit = 10s);
  // The records of broker `index`'s queue from `from` (at most 1024), decoded. REQUIRES: the
  // broker is up.
  std::vector<MessageExt> StoredMessages(int index, const std::string& topic, int32_t queue,
                                         int64_t from = 0);

  // Runs the world until `done` holds (checked every `step`) or `limit` passed; whether it held.
  bool RunUntil(const std::function<bool()>& done, Duration limit, Duration step = 100ms);
  void RunFor(Duration d) { world_->RunFor(d); }
  Instant Now() { return world_->Now(); }

  sim::World& world() { return *world_; }
  sim::Cluster& cluster() { return *cluster_; }

  // Deliveries of `key` to `group` (every consumer), in order.
  std::vector<const sim::Delivery*> DeliveriesOf(const std::string& group,
                                                 const std::string& key) const;
  // The send of `key`, or nullptr.
  const sim::SendOp* SendOf(const std::string& key) const;

  // Records: declared before the world, so they outlive its nodes.
  sim::History history_;
  std::vector<ListenerCall> calls_;

 private:
  client::ClientConfig ClientConfigFor(const std::string& host, const std::string& name) const;
  std::string NextHost() { return fmt::format("10.0.4.{}", next_host_++); }

  std::map<NodeId, client::PushConsumer*> live_consumers_;
  std::set<NodeId> stop_requested_;
  std::set<NodeId> stopped_;
  std::map<NodeId, std::deque<protocol::Message>> outbox_;
  std::map<NodeId, size_t> in_flight_;  // sends taken from the outbox, not yet answered
  std::map<int, broker::Broker*> brokers_;
  LogLevel saved_log_level_ = GetLogLevel();
  int next_host_ = 1;
  std::unique_ptr<sim::Cluster> cluster_;
  std::unique_ptr<sim::World> world_;
};

// Pairs of listener calls of different consumers on the same queue that overlap in time (a
// call's [start, end) against every call that started later), described; empty when none.
// REQUIRES: `calls` in start order (as ClusterTest records them), every call ended.
std::vector<std::string> OverlappingCalls(const std::vector<ListenerCall>& calls);
// How often a queue's consecutive calls (in start order) changed consumer, summed over queues.
size_t Handovers(const std::vector<ListenerCall>& calls);

// Virtual time of a stored timestamp (ms of a simulated wall clock without clock faults).
Instant FromWallMs(int64_t wall_ms);
int64_t Ms(Duration d);

}  // namespace apogee::cluster_test
