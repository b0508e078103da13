#pragma once

// ClientInstance: what the producers and consumers of one client id share (RocketMQ's
// MQClientInstance): the connections (one RemotingClient), the route cache, heartbeats, the
// rebalance and offset-persist timers, and the answer to the broker's
// NOTIFY_CONSUMER_IDS_CHANGED and CHECK_TRANSACTION_STATE.
//
// Fibers (spawned by Start(), joined by Shutdown()):
//   route-refresh  every poll_name_server_interval: routes of every topic in use, from the
//                  nameservers (tried in turn from a random start; an error moves to the next);
//   heartbeat      every heartbeat_broker_interval: HEART_BEAT to every broker of the routes;
//   rebalance      every rebalance_interval, and at once when a broker notifies that a group's
//                  consumers changed: DoRebalance() of every consumer;
//   persist        every persist_consumer_offset_interval: PersistOffsets() of every consumer.
// Calls into members (rebalance, persist) hold members_mu_, so a member that unregisters waits
// for the call in progress and is never called afterwards.
//
// Invariants:
//   - publish_infos_ entries are never erased (pointers handed out stay valid for the
//     instance's life); their contents are replaced when a route changes.
//   - broker_addrs_ is the union of the brokers of routes_.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/client/client_config.h"
#include "core/client/route.h"
#include "core/io/env.h"
#include "core/io/sync.h"
#include "core/protocol/bodies.h"
#include "core/protocol/message.h"
#include "core/protocol/transaction_headers.h"
#include "core/remoting/remoting_server.h"

namespace apogee::client {

// What the instance asks of a consumer registered on it.
class ConsumerMember {
 public:
  virtual ~ConsumerMember() = default;
  virtual const std::string& group() const = 0;
  // The consumer's entry in heartbeats.
  virtual protocol::ConsumerData HeartbeatEntry() const = 0;
  // Topics whose routes the consumer needs.
  virtual std::set<std::string> Topics() const = 0;
  // Recomputes the consumer's queues. May yield.
  virtual void DoRebalance() = 0;
  // Pushes the consumer's offsets to their store. May yield.
  virtual void PersistOffsets() = 0;
};

// Answers the broker's CHECK_TRANSACTION_STATE for one producer group: `broker_addr` is where
// the check came from (the END_TRANSACTION goes back there), `message` the half message under
// its real topic. Must not yield (spawn the work).
using TransactionCheckHandler = std::function<void(
    const std::string& broker_addr, const protocol::CheckTransactionStateRequestHeader& header,
    protocol::MessageExt message)>;

// A broker's answer other than SUCCESS as a Status naming the code and the remark:
// 17/22/24/26 kNotFound, 2/14/215 kBusy, 3/16 kUnsupported, 13/23 kInvalidArgument, else
// kInternal.
Status ResponseError(const RemotingCommand& response, std::string_view what);

class ClientInstance {
 public:
  ClientInstance(io::Env& env, ClientConfig config);
  // Shuts down if running. May yield.
  ~ClientInstance();
  ClientInstance(const ClientInstance&) = delete;
  ClientInstance& operator=(const ClientInstance&) = delete;

  // Starts the timer fibers. Idempotent while running.
  void Start();
  // Stops and joins the fibers and closes every connection. Idempotent. May yield.
  void Shutdown();
  bool running() const { return running_; }

  // --- Members ---
  // Fails with kAlreadyExists when the group is registered already.
  Status RegisterProducer(const std::string& group);
  // Sends UNREGISTER_CLIENT for the group to every broker. May yield.
  void UnregisterProducer(const std::string& group);
  // The handler of CHECK_TRANSACTION_STATE for `group` (a transactional producer); an empty one
  // removes it. Checks for a group without a handler are logged and dropped.
  void SetTransactionCheckHandler(const std::string& group, TransactionCheckHandler handler);
  // REQUIRES: `consumer` outlives its registration.
  Status RegisterConsumer(ConsumerMember* consumer);
  // Waits for a rebalance or persist in progress on it, then sends UNREGISTER_CLIENT. May yield.
  void UnregisterConsumer(const std::string& group);
  size_t member_count() const { return producers_.size() + consumers_.size(); }

  // --- Routes ---
  // Fetches the topic's route from the nameservers and updates every table derived from it.
  // kNotFound when the nameservers do not know the topic. May yield.
  Status UpdateRoute(const std::string& topic);
  // The publish info of `topic`, fetched first if not cached (the pointer stays valid for the
  // instance's life). kNotFound when the topic has no writable queue. May yield.
  // With a `default_topic` (the producer's createTopicKey, TBW102), a topic the nameservers do
  // not know is sent to through the default topic's route instead, as RocketMQ's producer does:
  // the brokers that allow auto-creation create the topic on its first message. Its queues per
  // broker are min(default_queue_nums, the default topic's write queues). The next route
  // refresh replaces that route by the topic's own once a broker has registered it.
  Result<TopicPublishInfo*> PublishInfo(const std::string& topic,
                                        const std::string& default_topic = {},
                                        int32_t default_queue_nums = 4);
  // The readable queues of `topic`, sorted; fetched first if not cached. May yield.
  Result<std::vector<MessageQueue>> SubscribeQueues(const std::string& topic);
  // The master address of a broker group, if a cached route names it.
  std::optional<std::string> MasterAddress(const std::string& broker_name) const;
  // The same, refreshing `topic`'s route once when it is not known. May yield.
  Result<std::string> MasterAddressOrRefresh(const std::string& broker_name,
                                             const std::string& topic);
  // The client ids of `group`'s consumers, sorted, asked of a broker of `topic`. May yield.
  Result<std::vector<std::string>> FindConsumerIds(const std::string& topic,
                                                   const std::string& group);

  // --- Requests ---
  // Connects (or reuses the connection) and invokes; `timeout` covers both. May yield.
  Result<RemotingCommand> Invoke(const std::string& addr, RemotingCommand request,
                                 Duration timeout);
  Status InvokeOneway(const std::string& addr, RemotingCommand request);

  // Sends HEART_BEAT to every broker of the cached routes (masters only when no consumer is
  // registered). May yield.
  void SendHeartbeatToAllBrokers();
  // Makes the rebalance fiber run now.
  void WakeRebalance() { rebalance_wakeup_.Set(); }

  io::Env& env() const { return env_; }
  const ClientConfig& config() const { return config_; }
  const std::string& client_id() const { return client_id_; }

 private:
  Result<TopicRouteData> FetchRoute(const std::string& topic);
  void ApplyRoute(const std::string& topic, const TopicRouteData& route);
  void RebuildBrokerAddrs();
  void UnregisterFromBrokers(const std::optional<std::string>& producer_group,
                             const std::optional<std::string>& consumer_group);
  std::optional<RemotingCommand> HandleServerRequest(
      const std::shared_ptr<RemotingConnection>& from, RemotingCommand request);
  void HandleCheckTransactionState(const std::shared_ptr<RemotingConnection>& from,
                                   const RemotingCommand& request);
  // Waits `interval` or until shutdown; false at shutdown. May yield.
  bool SleepOrStop(Duration interval);
  void RouteLoop();
  void HeartbeatLoop();
  void RebalanceLoop();
  void PersistLoop();
  std::vector<ConsumerMember*> Consumers() const;

  io::Env& env_;
  ClientConfig config_;
  std::string client_id_;
  size_t namesrv_index_ = 0;  // where the next route fetch starts
  bool running_ = false;
  bool stopping_ = false;
  io::Event stop_;
  io::Event rebalance_wakeup_;
  io::Mutex route_mu_;    // one nameserver fetch at a time
  io::Mutex members_mu_;  // held while calling into consumers
  std::set<std::string> producers_;
  std::map<std::string, ConsumerMember*> consumers_;               // by group
  std::map<std::string, TransactionCheckHandler> check_handlers_;  // by producer group
  std::map<std::string, TopicRouteData> routes_;
  std::map<std::string, TopicPublishInfo> publish_infos_;
  std::map<std::string, std::vector<MessageQueue>> subscribe_queues_;
  std::map<std::string, std::map<int64_t, std::string>> broker_addrs_;  // name -> id -> addr
  std::vector<io::FiberHandle> fibers_;
  // Last: destroyed first, so no handler runs on a half-destroyed instance.
  RemotingClient remoting_;
};

}  // namespace apogee::client
