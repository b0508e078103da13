#pragma once

// PullConsumer: RocketMQ's DefaultMQPullConsumer. The application chooses the queues and the
// offsets; the consumer pulls, and keeps offsets in a store it persists with the instance's
// timer (every persist_consumer_offset_interval) and at shutdown. There is no rebalance and no
// retry topic: the group is announced in heartbeats as CONSUME_ACTIVELY with the topics named
// by RegisterTopic().

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/client/client_instance.h"
#include "core/client/offset_store.h"
#include "core/client/pull_api.h"

namespace apogee::client {

using protocol::MessageModel;

struct PullConsumerConfig {
  std::string group = "DEFAULT_CONSUMER";
  MessageModel message_model = MessageModel::kClustering;
  Duration pull_timeout = 10s;  // [consumerPullTimeoutMillis]
  Duration broker_suspend_max = 20s;
  Duration consumer_timeout_when_suspend = 30s;
  std::string offset_store_dir = "consumer-offsets";  // broadcasting only
};

class PullConsumer final : public ConsumerMember {
 public:
  PullConsumer(std::shared_ptr<ClientInstance> instance, PullConsumerConfig config);
  // May yield.
  ~PullConsumer() override;
  PullConsumer(const PullConsumer&) = delete;
  PullConsumer& operator=(const PullConsumer&) = delete;

  // Announces interest in `topic` (heartbeats, route refresh). Before or after Start().
  void RegisterTopic(const std::string& topic) { topics_.insert(topic); }

  Status Start();
  // Persists offsets and unregisters. Idempotent. May yield.
  void Shutdown();

  // The readable queues of `topic`, sorted. May yield.
  Result<std::vector<MessageQueue>> FetchSubscribeMessageQueues(const std::string& topic);
  // Up to `max_nums` messages of `mq` from `offset` matching `expression` ("*" or tags with
  // "||"). Answers at once (no long poll). May yield.
  Result<PullResult> Pull(const MessageQueue& mq, const std::string& expression, int64_t offset,
                          int32_t max_nums);
  // The same, but the broker holds the request until a message arrives or its suspend time
  // passes. May yield.
  Result<PullResult> PullBlockIfNotFound(const MessageQueue& mq, const std::string& expression,
                                         int64_t offset, int32_t max_nums);
  // Sets the offset to commit for `mq` (persisted later).
  void UpdateConsumeOffset(const MessageQueue& mq, int64_t offset);
  // The stored offset of `mq` (memory first, then the store), kNoOffset when none. May yield.
  Result<int64_t> FetchConsumeOffset(const MessageQueue& mq, bool from_store);

  // ConsumerMember.
  const std::string& group() const override { return config_.group; }
  protocol::ConsumerData HeartbeatEntry() const override;
  std::set<std::string> Topics() const override { return topics_; }
  void DoRebalance() override {}
  void PersistOffsets() override;

 private:
  Result<PullResult> PullImpl(const MessageQueue& mq, const std::string& expression, int64_t offset,
                              int32_t max_nums, bool block);

  std::shared_ptr<ClientInstance> instance_;
  PullConsumerConfig config_;
  std::set<std::string> topics_;
  std::set<MessageQueue> used_;  // queues whose offsets were updated
  std::unique_ptr<OffsetStore> offset_store_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace apogee::client
