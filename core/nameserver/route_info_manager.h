#pragma once

// RouteInfoManager: the nameserver's whole state, the route table. It knows which brokers are
// alive, how they group into broker names (a master and its slaves) and clusters, and which
// broker names hold queues of which topic. It is a plain data structure: no fibers, no I/O, no
// clock of its own (every call that needs the time is handed `now`, a monotonic instant), so it
// is unit-tested directly and the NameServer node only decodes requests into calls on it.
//
// Semantics (RocketMQ 4.x RouteInfoManager, with the differences named):
//   - Register: the broker's address joins its broker name under id `broker_id` (0 = master)
//     and the name joins its cluster. An address belongs to one (name, id) only: registering it
//     elsewhere moves it, and a new address in an occupied (name, id) slot replaces the old one.
//     A master's topic table replaces that broker name's queue data when its data version
//     differs from the last one registered from that address (or when it is new, or has just
//     become the master); an unchanged version only refreshes liveness. RocketMQ 4.x only adds
//     and overwrites queue data here, leaving topics the broker dropped until the broker expires;
//     we replace the set. A slave's topic table is ignored; a slave learns its master's address.
//   - Unregister: removes the (name, id) slot if it holds that address; a broker name with no
//     address left leaves its cluster and every topic (topics left with no queue data vanish).
//   - ScanNotActiveBroker(now): every address whose last registration is broker_expiry or more
//     before `now` is removed as by Unregister. (RocketMQ drops strictly after 120 s; the 1 ms
//     difference is ours, so that "silent for 120 s" reads the same in code and docs.)
//
// Determinism: every table is a std::map keyed by names or addresses; outputs are sorted.
//
// Invariants (checked after every change):
//   - broker_addr_table: each entry's key is its broker_name, it has at least one address, and
//     cluster_addr_table[cluster] holds the name; each address appears in exactly one slot of the
//     whole table and has an entry in broker_live_table, and broker_live_table has no other.
//   - cluster_addr_table: no empty set; each name in it is in broker_addr_table with that cluster.
//   - topic_queue_table: no topic without queue data; each QueueData is keyed by its broker_name,
//     which is in broker_addr_table.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/base/time.h"
#include "core/protocol/bodies.h"
#include "core/protocol/headers.h"

namespace apogee::nameserver {

// The route table keeps and answers with the protocol's own body types.
using protocol::BrokerData;
using protocol::ClusterInfo;
using protocol::DataVersion;
using protocol::QueueData;
using protocol::TopicConfig;
using protocol::TopicConfigSerializeWrapper;
using protocol::TopicRouteData;

class RouteInfoManager {
 public:
  struct BrokerLiveInfo {
    Instant last_update;       // monotonic time of the last registration
    DataVersion data_version;  // of the topic table in that registration
    std::string ha_server_addr;
    bool operator==(const BrokerLiveInfo& other) const = default;
  };

  // What a registering broker is told (RegisterBrokerResponseHeader): for a slave, its master's
  // address and HA address when the master is registered; nothing for a master.
  struct RegisterResult {
    std::optional<std::string> master_addr;
    std::optional<std::string> ha_server_addr;
    bool topics_updated = false;  // the topic table replaced this broker name's queue data
  };

  // REQUIRES: broker_expiry > 0.
  explicit RouteInfoManager(Duration broker_expiry);

  // Registers (or refreshes) the broker described by `header` with its topic table `topics`,
  // at `now`. REQUIRES: broker_name, broker_addr and cluster_name are not empty; broker_id >= 0
  // (the handler checks these and answers an error otherwise).
  RegisterResult Register(const protocol::RegisterBrokerRequestHeader& header,
                          const TopicConfigSerializeWrapper& topics, Instant now);

  // Removes the broker `header` names. Returns false (and changes nothing) when that slot does
  // not hold header.broker_addr.
  bool Unregister(const protocol::UnregisterBrokerRequestHeader& header);

  // The route of `topic`: its queue data (by broker name) and the broker data of those names.
  // nullopt when no live broker holds the topic.
  std::optional<TopicRouteData> PickupTopicRouteData(const std::string& topic) const;

  // Every broker name with its addresses, and every cluster with its broker names.
  ClusterInfo GetClusterInfo() const;

  // Drops every broker whose last registration is at least broker_expiry before `now` (with
  // its queue data, and topics left empty). Returns the dropped addresses, sorted.
  std::vector<std::string> ScanNotActiveBroker(Instant now);

  Duration broker_expiry() const { return broker_expiry_; }
  const std::map<std::string, BrokerData>& broker_addr_table() const { return broker_addr_table_; }
  const std::map<std::string, std::set<std::string>>& cluster_addr_table() const {
    return cluster_addr_table_;
  }
  // topic -> broker name -> queue data.
  const std::map<std::string, std::map<std::string, QueueData>>& topic_queue_table() const {
    return topic_queue_table_;
  }
  // broker address -> liveness.
  const std::map<std::string, BrokerLiveInfo>& broker_live_table() const {
    return broker_live_table_;
  }

 private:
  // Removes `addr` from every slot except (keep_name, keep_id) (pass an empty keep_name to
  // remove it everywhere); broker names left empty, except keep_name, are removed. Does not
  // touch the live table.
  void RemoveAddrFromSlots(const std::string& addr, const std::string& keep_name, int64_t keep_id);
  // Removes a broker name: from its cluster, and its queue data from every topic.
  void RemoveBrokerName(const std::string& broker_name);
  // Makes `topics` the queue data of `broker_name`.
  void ReplaceQueueData(const std::string& broker_name, const TopicConfigSerializeWrapper& topics);
  void CheckInvariants() const;

  Duration broker_expiry_;
  std::map<std::string, BrokerData> broker_addr_table_;              // by broker name
  std::map<std::string, std::set<std::string>> cluster_addr_table_;  // cluster -> broker names
  std::map<std::string, std::map<std::string, QueueData>> topic_queue_table_;
  std::map<std::string, BrokerLiveInfo> broker_live_table_;  // by broker address
};

}  // namespace apogee::nameserver
