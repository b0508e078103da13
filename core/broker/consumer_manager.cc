#include "core/broker/consumer_manager.h"

#include <set>
#include <utility>

#include "core/base/log.h"

namespace apogee::broker {

std::vector<std::string> ConsumerGroupInfo::ClientIds() const {
  std::vector<std::string> ids;
  ids.reserve(clients.size());
  for (const auto& [id, channel] : clients) ids.push_back(id);
  return ids;
}

const protocol::SubscriptionData* ConsumerGroupInfo::FindSubscription(
    std::string_view topic) const {
  auto it = subscriptions.find(std::string(topic));
  return it == subscriptions.end() ? nullptr : &it->second;
}

bool ConsumerManager::RegisterConsumer(const protocol::ConsumerData& data,
                                       const std::string& client_id,
                                       std::shared_ptr<RemotingConnection> connection,
                                       Instant now) {
  APOGEE_ASSERT(!data.group_name.empty());
  APOGEE_ASSERT(connection != nullptr);
  ConsumerGroupInfo& info = consumers_[data.group_name];
  info.group = data.group_name;
  info.consume_type = data.consume_type;
  info.message_model = data.message_model;
  info.consume_from_where = data.consume_from_where;
  info.last_update = now;

  bool changed = false;
  auto [it, inserted] = info.clients.try_emplace(client_id);
  if (inserted) {
    LOG_INFO("broker: consumer {} joined group {} from {}", client_id, data.group_name,
             connection->peer().ToString());
    changed = true;
  }
  it->second.client_id = client_id;
  it->second.connection = std::move(connection);
  it->second.last_update = now;

  // Subscriptions: add new topics, take newer versions, drop topics no longer listed.
  std::set<std::string> listed;
  for (const protocol::SubscriptionData& sub : data.subscription_data_set) {
    listed.insert(sub.topic);
    auto [s, added] = info.subscriptions.try_emplace(sub.topic, sub);
    if (added) {
      changed = true;
    } else if (sub.sub_version > s->second.sub_version) {
      s->second = sub;
    }
  }
  std::erase_if(info.subscriptions, [&](const auto& entry) {
    if (listed.count(entry.first) != 0) return false;
    LOG_INFO("broker: group {} no longer subscribes to {}", data.group_name, entry.first);
    changed = true;
    return true;
  });
  APOGEE_ASSERT(!info.clients.empty());
  if (changed) Notify(data.group_name);
  return changed;
}

void ConsumerManager::RegisterProducer(const std::string& group, const std::string& client_id,
                                       std::shared_ptr<RemotingConnection> connection,
                                       Instant now) {
  APOGEE_ASSERT(connection != nullptr);
  ClientChannel& channel = producers_[group][client_id];
  if (channel.connection == nullptr) {
    LOG_DEBUG("broker: producer {} joined group {}", client_id, group);
  }
  channel.client_id = client_id;
  channel.connection = std::move(connection);
  channel.last_update = now;
}

void ConsumerManager::UnregisterConsumer(const std::string& group, const std::string& client_id) {
  size_t removed = RemoveConsumers([&](const ConsumerGroupInfo& info, const ClientChannel& c) {
    return info.group == group && c.client_id == client_id;
  });
  if (removed > 0) LOG_INFO("broker: consumer {} left group {}", client_id, group);
}

void ConsumerManager::UnregisterProducer(const std::string& group, const std::string& client_id) {
  RemoveProducers([&](const std::string& g, const ClientChannel& c) {
    return g == group && c.client_id == client_id;
  });
}

void ConsumerManager::OnConnectionClosed(const RemotingConnection* connection) {
  auto on_it = [connection](const ClientChannel& c) { return c.connection.get() == connection; };
  size_t removed =
      RemoveConsumers([&](const ConsumerGroupInfo&, const ClientChannel& c) { return on_it(c); });
  removed += RemoveProducers([&](const std::string&, const ClientChannel& c) { return on_it(c); });
  if (removed > 0) LOG_INFO("broker: a closed connection took {} client registrations", removed);
}

size_t ConsumerManager::ScanExpired(Instant now, Duration expiry) {
  auto expired = [&](const ClientChannel& c) {
    return c.connection->closed() || now - c.last_update > expiry;
  };
  size_t removed = RemoveConsumers([&](const ConsumerGroupInfo& info, const ClientChannel& c) {
    if (!expired(c)) return false;
    LOG_WARN("broker: consumer {} of group {} expired (silent or disconnected)", c.client_id,
             info.group);
    return true;
  });
  removed +=
      RemoveProducers([&](const std::string&, const ClientChannel& c) { return expired(c); });
  return removed;
}

template <typename Pred>
size_t ConsumerManager::RemoveConsumers(Pred remove) {
  size_t removed = 0;
  std::vector<std::string> changed;
  for (auto& [group, info] : consumers_) {
    size_t n =
        std::erase_if(info.clients, [&](const auto& entry) { return remove(info, entry.second); });
    if (n == 0) continue;
    removed += n;
    changed.push_back(group);
  }
  for (const std::string& group : changed) {
    auto it = consumers_.find(group);
    if (it->second.clients.empty()) {
      LOG_INFO("broker: consumer group {} has no clients left; removed", group);
      consumers_.erase(it);
    }
    Notify(group);
  }
  return removed;
}

template <typename Pred>
size_t ConsumerManager::RemoveProducers(Pred remove) {
  size_t removed = 0;
  for (auto it = producers_.begin(); it != producers_.end();) {
    removed += std::erase_if(it->second,
                             [&](const auto& entry) { return remove(it->first, entry.second); });
    if (it->second.empty()) {
      it = producers_.erase(it);
    } else {
      ++it;
    }
  }
  return removed;
}

void ConsumerManager::Notify(const std::string& group) {
  std::vector<std::shared_ptr<RemotingConnection>> members;
  auto it = consumers_.find(group);
  if (it != consumers_.end()) {
    for (const auto& [id, channel] : it->second.clients) {
      if (!channel.connection->closed()) members.push_back(channel.connection);
    }
  }
  if (on_change_) on_change_(group, std::move(members));
}

const ConsumerGroupInfo* ConsumerManager::FindConsumerGroup(std::string_view group) const {
  auto it = consumers_.find(group);
  return it == consumers_.end() ? nullptr : &it->second;
}

std::vector<std::shared_ptr<RemotingConnection>> ConsumerManager::ProducerConnections(
    std::string_view group) const {
  std::vector<std::shared_ptr<RemotingConnection>> out;
  auto it = producers_.find(group);
  if (it == producers_.end()) return out;
  for (const auto& [id, channel] : it->second) {
    if (!channel.connection->closed()) out.push_back(channel.connection);
  }
  return out;
}

std::vector<std::string> ConsumerManager::ConsumerGroups() const {
  std::vector<std::string> groups;
  for (const auto& [name, info] : consumers_) groups.push_back(name);
  return groups;
}

}  // namespace apogee::broker
