#pragma once

// BrokerContext: the state every part of a running broker shares: configuration, the store,
// the topic, offset and client registries, long polling, and the fibers the broker spawned.
//
// Ownership: the Broker handle and every fiber the broker spawns hold a shared_ptr to it, and
// request handlers lock a weak_ptr for the length of one request. So when the node is killed
// its fibers unwind in any order and the context (with the wait queues fibers park on) goes
// only after the last of them; after a clean Shutdown() nothing but the handle holds it.
//
// Invariants: `ready` is set once the store is open and the tables are loaded, and handlers
// serve requests only while it is; `shutting_down` only ever goes from false to true.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/broker/broker_config.h"
#include "core/broker/consumer_manager.h"
#include "core/broker/consumer_offset_manager.h"
#include "core/broker/pull_hold_service.h"
#include "core/broker/queue_lock_manager.h"
#include "core/broker/schedule_service.h"
#include "core/broker/topic_manager.h"
#include "core/broker/transaction_service.h"
#include "core/io/env.h"
#include "core/io/sync.h"
#include "core/remoting/remoting_server.h"
#include "core/store/message_store.h"

namespace apogee::broker {

// Short-lived fibers the broker spawns (answers to parked pulls, notifications, registration
// calls); Shutdown joins them before it closes what they use.
class TaskSet {
 public:
  explicit TaskSet(io::Scheduler& scheduler) : scheduler_(scheduler) {}
  void Spawn(std::string name, std::function<void()> fn);
  // Waits for every task, including tasks spawned meanwhile. May yield.
  void JoinAll();
  size_t running() const;

 private:
  io::Scheduler& scheduler_;
  std::vector<io::FiberHandle> fibers_;
};

struct RegistrationStats {
  uint64_t rounds = 0;  // registration rounds (one request to every nameserver each)
  uint64_t ok = 0;      // requests answered SUCCESS
  uint64_t failed = 0;  // requests that failed or were answered otherwise
};

struct BrokerContext : std::enable_shared_from_this<BrokerContext> {
  BrokerContext(io::Env& env_in, BrokerConfig config_in);

  io::Env& env;
  BrokerConfig config;
  // announce_host:port, the address the broker registers and writes into offsetMsgIds.
  io::Address announce;
  uint32_t announce_ipv4 = 0;

  std::shared_ptr<store::MessageStore> store;
  std::unique_ptr<TopicManager> topics;
  std::unique_ptr<ConsumerOffsetManager> offsets;
  std::unique_ptr<ConsumerManager> consumers;
  std::unique_ptr<PullHoldService> hold;
  // Delayed messages: SEND_MESSAGE hands every single message to schedule->Prepare(), which
  // moves a DELAY level > 0 into SCHEDULE_TOPIC_XXXX.
  std::shared_ptr<ScheduleService> schedule;
  // Transactional messages: SEND_MESSAGE stores half messages through PrepareHalf(),
  // END_TRANSACTION resolves them, and its check fiber asks producers about the rest.
  std::shared_ptr<TransactionService> transactions;
  std::unique_ptr<QueueLockManager> locks;  // LOCK_BATCH_MQ / UNLOCK_BATCH_MQ
  std::unique_ptr<RemotingServer> server;
  std::unique_ptr<RemotingClient> namesrv_client;  // registration requests
  RegistrationStats registration;

  TaskSet tasks;
  // One task per connection that sent a heartbeat: it waits for the connection to end and then
  // unregisters its clients. They end when the server closes the connections.
  TaskSet watchers;
  std::set<const RemotingConnection*> watched;  // looked up, never iterated
  bool ready = false;
  bool shutting_down = false;
  // Set at shutdown: wakes the periodic fibers.
  io::Event stop;
  // Set to make the registration fiber register at once (a topic changed).
  io::Event register_now;

  // The store's max offset of a queue (-1 when it has none).
  int64_t MaxOffset(std::string_view topic, int32_t queue_id) const {
    return store->MaxOffset(topic, queue_id);
  }
  // "announce_host:port".
  std::string BrokerAddr() const { return announce.ToString(); }
};

// The IPv4 address in dotted form as a big-endian integer (10.0.0.1 -> 0x0A000001), or nullopt.
std::optional<uint32_t> ParseIpv4(std::string_view host);

}  // namespace apogee::broker
