#include "core/nameserver/route_info_manager.h"

#include <iterator>

#include "core/base/assert.h"
#include "core/base/log.h"

namespace apogee::nameserver {

RouteInfoManager::RouteInfoManager(Duration broker_expiry) : broker_expiry_(broker_expiry) {
  APOGEE_ASSERT(broker_expiry > Duration::zero());
}

RouteInfoManager::RegisterResult RouteInfoManager::Register(
    const protocol::RegisterBrokerRequestHeader& header, const TopicConfigSerializeWrapper& topics,
    Instant now) {
  APOGEE_ASSERT(!header.broker_name.empty());
  APOGEE_ASSERT(!header.broker_addr.empty());
  APOGEE_ASSERT(!header.cluster_name.empty());
  APOGEE_ASSERT(header.broker_id >= 0);
  const std::string& name = header.broker_name;
  const std::string& addr = header.broker_addr;
  const int64_t id = header.broker_id;

  // An address is one process: drop it from any other slot it held (a slave promoted to
  // master, a process restarted under another name).
  RemoveAddrFromSlots(addr, name, id);

  auto [it, created] = broker_addr_table_.try_emplace(name);
  BrokerData& broker = it->second;
  if (created) {
    broker.cluster = header.cluster_name;
    broker.broker_name = name;
    LOG_INFO("new broker name {} in cluster {}", name, header.cluster_name);
  } else if (broker.cluster != header.cluster_name) {
    LOG_WARN("broker name {} moves from cluster {} to {}", name, broker.cluster,
             header.cluster_name);
    auto old_cluster = cluster_addr_table_.find(broker.cluster);
    APOGEE_ASSERT(old_cluster != cluster_addr_table_.end());
    old_cluster->second.erase(name);
    if (old_cluster->second.empty()) cluster_addr_table_.erase(old_cluster);
    broker.cluster = header.cluster_name;
  }
  cluster_addr_table_[header.cluster_name].insert(name);

  // A new address in an occupied slot replaces the process that held it.
  bool new_in_slot = true;
  if (auto slot = broker.broker_addrs.find(id); slot != broker.broker_addrs.end()) {
    new_in_slot = slot->second != addr;
    if (new_in_slot) {
      LOG_INFO("broker {} id {}: {} replaces {}", name, id, addr, slot->second);
      broker_live_table_.erase(slot->second);
    }
  }
  broker.broker_addrs[id] = addr;

  auto live = broker_live_table_.find(addr);
  const bool version_changed =
      live == broker_live_table_.end() || live->second.data_version != topics.data_version;
  broker_live_table_[addr] = BrokerLiveInfo{now, topics.data_version, header.ha_server_addr};

  RegisterResult result;
  if (id == protocol::kMasterId) {
    if (version_changed || new_in_slot) {
      ReplaceQueueData(name, topics);
      result.topics_updated = true;
    }
  } else if (auto master = broker.broker_addrs.find(protocol::kMasterId);
             master != broker.broker_addrs.end()) {
    result.master_addr = master->second;
    auto master_live = broker_live_table_.find(master->second);
    APOGEE_ASSERT(master_live != broker_live_table_.end());
    result.ha_server_addr = master_live->second.ha_server_addr;
  }
  CheckInvariants();
  APOGEE_ASSERT(broker_live_table_.at(addr).last_update == now);
  return result;
}

bool RouteInfoManager::Unregister(const protocol::UnregisterBrokerRequestHeader& header) {
  auto it = broker_addr_table_.find(header.broker_name);
  if (it == broker_addr_table_.end()) {
    LOG_INFO("unregister of unknown broker name {} ({})", header.broker_name, header.broker_addr);
    return false;
  }
  auto slot = it->second.broker_addrs.find(header.broker_id);
  if (slot == it->second.broker_addrs.end() || slot->second != header.broker_addr) {
    LOG_INFO("unregister of {} id {} at {}: that slot does not hold it", header.broker_name,
             header.broker_id, header.broker_addr);
    return false;
  }
  LOG_INFO("unregister broker {} id {} at {}", header.broker_name, header.broker_id,
           header.broker_addr);
  broker_live_table_.erase(header.broker_addr);
  RemoveAddrFromSlots(header.broker_addr, /*keep_name=*/"", /*keep_id=*/-1);
  CheckInvariants();
  APOGEE_ASSERT(!broker_live_table_.contains(header.broker_addr));
  return true;
}

std::optional<TopicRouteData> RouteInfoManager::PickupTopicRouteData(
    const std::string& topic) const {
  auto it = topic_queue_table_.find(topic);
  if (it == topic_queue_table_.end()) return std::nullopt;
  APOGEE_ASSERT(!it->second.empty());
  TopicRouteData route;
  for (const auto& [broker_name, queue_data] : it->second) {
    route.queue_datas.push_back(queue_data);
    auto broker = broker_addr_table_.find(broker_name);
    APOGEE_ASSERT(broker != broker_addr_table_.end(), "topic {} names unknown broker {}", topic,
                  broker_name);
    route.broker_datas.push_back(broker->second);
  }
  APOGEE_ASSERT(route.queue_datas.size() == route.broker_datas.size());
  return route;
}

ClusterInfo RouteInfoManager::GetClusterInfo() const {
  return ClusterInfo{broker_addr_table_, cluster_addr_table_};
}

std::vector<std::string> RouteInfoManager::ScanNotActiveBroker(Instant now) {
  std::vector<std::string> expired;
  for (const auto& [addr, live] : broker_live_table_) {
    if (now - live.last_update >= broker_expiry_) expired.push_back(addr);
  }
  for (const std::string& addr : expired) {
    LOG_WARN("broker {} silent for {:.3f} s (expiry {:.3f} s): dropped", addr,
             ToSeconds(now - broker_live_table_.at(addr).last_update), ToSeconds(broker_expiry_));
    broker_live_table_.erase(addr);
    RemoveAddrFromSlots(addr, /*keep_name=*/"", /*keep_id=*/-1);
  }
  CheckInvariants();
  for (const auto& [addr, live] : broker_live_table_) {
    APOGEE_ASSERT(now - live.last_update < broker_expiry_);
  }
  return expired;
}

void RouteInfoManager::RemoveAddrFromSlots(const std::string& addr, const std::string& keep_name,
                                           int64_t keep_id) {
  std::vector<std::string> emptied;
  for (auto& [name, broker] : broker_addr_table_) {
    for (auto slot = broker.broker_addrs.begin(); slot != broker.broker_addrs.end();) {
      if (slot->second == addr && !(name == keep_name && slot->first == keep_id)) {
        slot = broker.broker_addrs.erase(slot);
      } else {
        ++slot;
      }
    }
    // The kept name is about to get its slot back: it does not go through empty.
    if (broker.broker_addrs.empty() && name != keep_name) emptied.push_back(name);
  }
  for (const std::string& name : emptied) RemoveBrokerName(name);
}

void RouteInfoManager::RemoveBrokerName(const std::string& broker_name) {
  auto it = broker_addr_table_.find(broker_name);
  APOGEE_ASSERT(it != broker_addr_table_.end());
  APOGEE_ASSERT(it->second.broker_addrs.empty());
  LOG_INFO("broker name {} has no broker left: removed with its queue data", broker_name);
  auto cluster = cluster_addr_table_.find(it->second.cluster);
  APOGEE_ASSERT(cluster != cluster_addr_table_.end());
  cluster->second.erase(broker_name);
  if (cluster->second.empty()) cluster_addr_table_.erase(cluster);
  broker_addr_table_.erase(it);
  for (auto topic = topic_queue_table_.begin(); topic != topic_queue_table_.end();) {
    topic->second.erase(broker_name);
    topic = topic->second.empty() ? topic_queue_table_.erase(topic) : std::next(topic);
  }
}

void RouteInfoManager::ReplaceQueueData(const std::string& broker_name,
                                        const TopicConfigSerializeWrapper& topics) {
  // Topics by name, as RocketMQ reads them (a config without a name goes by its table key).
  std::map<std::string, const TopicConfig*> by_name;
  for (const auto& [key, config] : topics.topic_config_table) {
    by_name[config.topic_name.empty() ? key : config.topic_name] = &config;
  }
  for (auto topic = topic_queue_table_.begin(); topic != topic_queue_table_.end();) {
    if (!by_name.contains(topic->first)) topic->second.erase(broker_name);
    topic = topic->second.empty() ? topic_queue_table_.erase(topic) : std::next(topic);
  }
  for (const auto& [topic, config] : by_name) {
    topic_queue_table_[topic][broker_name] =
        QueueData{broker_name, config->read_queue_nums, config->write_queue_nums, config->perm,
                  config->topic_sys_flag};
  }
}

void RouteInfoManager::CheckInvariants() const {
  size_t addrs = 0;
  std::set<std::string> seen;
  for (const auto& [name, broker] : broker_addr_table_) {
    APOGEE_ASSERT(broker.broker_name == name);
    APOGEE_ASSERT(!broker.broker_addrs.empty(), "broker name {} has no address", name);
    auto cluster = cluster_addr_table_.find(broker.cluster);
    APOGEE_ASSERT(cluster != cluster_addr_table_.end());
    APOGEE_ASSERT(cluster->second.contains(name));
    for (const auto& [id, addr] : broker.broker_addrs) {
      APOGEE_ASSERT(seen.insert(addr).second, "address {} is in two slots", addr);
      APOGEE_ASSERT(broker_live_table_.contains(addr), "address {} has no live entry", addr);
      addrs++;
    }
  }
  APOGEE_ASSERT(addrs == broker_live_table_.size());
  for (const auto& [cluster, names] : cluster_addr_table_) {
    APOGEE_ASSERT(!names.empty(), "cluster {} is empty", cluster);
    for (const std::string& name : names) {
      auto broker = broker_addr_table_.find(name);
      APOGEE_ASSERT(broker != broker_addr_table_.end());
      APOGEE_ASSERT(broker->second.cluster == cluster);
    }
  }
  for (const auto& [topic, queues] : topic_queue_table_) {
    APOGEE_ASSERT(!queues.empty(), "topic {} has no queue data", topic);
    for (const auto& [name, queue_data] : queues) {
      APOGEE_ASSERT(queue_data.broker_name == name);
      APOGEE_ASSERT(broker_addr_table_.contains(name), "topic {} names unknown broker {}", topic,
                    name);
    }
  }
}

}  // namespace apogee::nameserver
