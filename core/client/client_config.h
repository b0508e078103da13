#pragma once

// ClientConfig: what every RocketMQ client of one process shares (RocketMQ's ClientConfig), with
// RocketMQ's defaults. A ClientInstance is built from one; producers and consumers built on that
// instance share its connections, its route cache and its timers.

#include <string>
#include <vector>

#include "core/base/time.h"

namespace apogee::client {

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

  std::string ClientId() const { return client_ip + "@" + instance_name; }
};

}  // namespace apogee::client
