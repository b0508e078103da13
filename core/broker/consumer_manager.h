#pragma once

// ConsumerManager: the broker's registry of client groups (RocketMQ's ConsumerManager and
// ProducerManager), fed by HEART_BEAT and UNREGISTER_CLIENT.
//
// Per consumer group: its clients (client id, the connection the heartbeat came on, the time of
// its last heartbeat), the subscriptions (topic -> SubscriptionData), and the consume type,
// message model and consume-from-where of the latest heartbeat. Per producer group: its clients.
//
// Membership changes (a client joins or leaves a group, its subscriptions gain or lose a topic,
// it unregisters, its connection closes, or it stays silent longer than client_expiry) are
// reported through the change listener with the group and the connections of the members that
// remain, so the broker can send each of them NOTIFY_CONSUMER_IDS_CHANGED. The registry itself
// never yields: the listener is called synchronously and must not block (the broker spawns the
// notifications).
//
// Invariants: a group in consumers_ has at least one client; each client id appears once per
// group; every iteration is in name order.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/time.h"
#include "core/protocol/bodies.h"
#include "core/remoting/remoting_connection.h"

namespace apogee::broker {

struct ClientChannel {
  std::string client_id;
  std::shared_ptr<RemotingConnection> connection;
  Instant last_update{};
};

struct ConsumerGroupInfo {
  std::string group;
  std::map<std::string, ClientChannel> clients;                     // by client id
  std::map<std::string, protocol::SubscriptionData> subscriptions;  // by topic
  protocol::ConsumeType consume_type = protocol::ConsumeType::kConsumePassively;
  protocol::MessageModel message_model = protocol::MessageModel::kClustering;
  protocol::ConsumeFromWhere consume_from_where = protocol::ConsumeFromWhere::kLastOffset;
  Instant last_update{};

  // Client ids in order (GET_CONSUMER_LIST_BY_GROUP).
  std::vector<std::string> ClientIds() const;
  const protocol::SubscriptionData* FindSubscription(std::string_view topic) const;
};

class ConsumerManager {
 public:
  // Called when a group's membership changed; `members` are the connections of its remaining
  // clients (empty when the group is gone).
  using ChangeListener = std::function<void(
      const std::string& group, std::vector<std::shared_ptr<RemotingConnection>> members)>;

  explicit ConsumerManager(ChangeListener on_change) : on_change_(std::move(on_change)) {}

  // Records a consumer heartbeat of `client_id` for `data`'s group, on `connection`. Returns
  // true when membership or subscriptions changed (the listener was called).
  bool RegisterConsumer(const protocol::ConsumerData& data, const std::string& client_id,
                        std::shared_ptr<RemotingConnection> connection, Instant now);
  void RegisterProducer(const std::string& group, const std::string& client_id,
                        std::shared_ptr<RemotingConnection> connection, Instant now);

  // UNREGISTER_CLIENT: removes `client_id` from the groups named (either may be absent).
  void UnregisterConsumer(const std::string& group, const std::string& client_id);
  void UnregisterProducer(const std::string& group, const std::string& client_id);

  // Removes every client registered on `connection` (it closed).
  void OnConnectionClosed(const RemotingConnection* connection);
  // Removes every client whose last heartbeat is older than `expiry` or whose connection has
  // closed; returns how many were removed.
  size_t ScanExpired(Instant now, Duration expiry);

  const ConsumerGroupInfo* FindConsumerGroup(std::string_view group) const;
  // The connections of a producer group's clients, in client id order.
  std::vector<std::shared_ptr<RemotingConnection>> ProducerConnections(
      std::string_view group) const;
  std::vector<std::string> ConsumerGroups() const;
  size_t producer_group_count() const { return producers_.size(); }

 private:
  using Clients = std::map<std::string, ClientChannel>;  // by client id
  // Removes the consumer clients `remove` says so; notifies each changed group.
  template <typename Pred>
  size_t RemoveConsumers(Pred remove);
  template <typename Pred>
  size_t RemoveProducers(Pred remove);
  void Notify(const std::string& group);

  ChangeListener on_change_;
  std::map<std::string, ConsumerGroupInfo, std::less<>> consumers_;
  std::map<std::string, Clients, std::less<>> producers_;
};

}  // namespace apogee::broker
