#pragma once

// ClientConfig: what every RocketMQ client of one process shares (RocketMQ's ClientConfig), with
// RocketMQ's defaults. A ClientInstance is built from one; producers and consumers built on that
// instance share its connections, its route cache and its timers.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/base/time.h"

namespace apogee::client {

// A consumer offset commit, as told to ClientConfig::on_offset_commit.
struct OffsetCommitEvent {
  std::string group;
  std::string topic;
  std::string broker_name;
  int32_t queue_id = 0;
  int64_t offset = 0;
  Instant sent{};      // when the request left (the broker applies it on arrival)
  bool acked = false;  // the broker answered it (otherwise it may or may not have been applied)
};

struct ClientConfig {
  // Nameserver addresses, "host:port" each. REQUIRES: not empty when routes are needed.
  std::vector<std::string> namesrv_addrs;
  // The client id is "{client_ip}@{instance_name}": brokers tell consumers of one group apart
  // by it, so two clients of a group must not share both.
  std::string client_ip = "127.0.0.1";
  std::string instance_name = "DEFAULT";

  // Route refresh from the nameservers [pollNameServerInterval].
  Duration poll_name_server_interval = 30s;
  // Heartbeats to every broker of the cached routes [heartbeatBrokerInterval].
  Duration heartbeat_broker_interval = 30s;
  // Consumer offsets pushed to the brokers (or the local file) [persistConsumerOffsetInterval].
  Duration persist_consumer_offset_interval = 5s;
  // Rebalance of every push consumer, besides the broker's notifications [rebalance interval].
  Duration rebalance_interval = 20s;
  // Timeout of administrative requests (routes, heartbeats, offsets, locks).
  Duration rpc_timeout = 3s;
  // Time allowed to open a connection.
  Duration connect_timeout = 3s;

  // An observer for tests and the simulator's history: told of each consumer offset commit
  // this client sent to a broker (UPDATE_CONSUMER_OFFSET, or a pull carrying commitOffset) once
  // its answer came or it failed. It never changes what the client does. Empty: nobody told.
  std::function<void(const OffsetCommitEvent&)> on_offset_commit;

  std::string ClientId() const { return client_ip + "@" + instance_name; }
};

}  // namespace apogee::client
