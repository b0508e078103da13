#pragma once

// TopicManager: the broker's topic table (RocketMQ's TopicConfigManager). Each topic has a
// TopicConfig (queue counts, permission bits, filter type); the table carries a DataVersion that
// changes with every change, so a nameserver can tell a stale registration from a fresh one.
//
// Persistence: store_root/config/topics.json holds the TopicConfigSerializeWrapper JSON
// ({"topicConfigTable":{...},"dataVersion":{...}}), written with io::Disk::WriteAtomically after
// every change (temp file, sync, rename, directory sync): a crash keeps the old or the new table.
// A failed write leaves the change in memory (the broker keeps serving it) and marks the table
// dirty; the next change or the periodic flush retries.
//
// System topics, created at start unless the file already has them (RocketMQ's constructor):
//   TBW102 (the auto-create template, perm READ|WRITE|INHERIT, default_topic_queue_nums queues)
//     only when auto_create_topic is on;
//   SCHEDULE_TOPIC_XXXX with 18 queues (one per delay level);
//   the cluster name (perm READ|WRITE|INHERIT, 16 queues) and the broker name (perm
//     READ|WRITE|INHERIT, 1 queue), which let clients find the broker by name.
//
// Invariants: every config in the table has topic_name equal to its key; queue counts >= 0;
// persisting_ serializes writers of the file.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/status.h"
#include "core/broker/broker_config.h"
#include "core/io/env.h"
#include "core/io/sync.h"
#include "core/protocol/bodies.h"

namespace apogee::broker {

// RocketMQ's queue count of SCHEDULE_TOPIC_XXXX: one queue per delay level.
inline constexpr int32_t kScheduleTopicQueueNums = 18;
// Queues of a %RETRY%group topic [retryQueueNums] and of a %DLQ%group topic [DLQ_NUMS_PER_GROUP].
inline constexpr int32_t kRetryQueueNums = 1;
inline constexpr int32_t kDlqQueueNums = 1;
// Longest topic name [TopicValidator.TOPIC_MAX_LENGTH].
inline constexpr size_t kTopicNameBytesMax = 127;

// Why a topic name cannot be used (TopicValidator.validateTopic): empty, longer than
// kTopicNameBytesMax, a character outside [%|a-zA-Z0-9_-], or the TBW102 template itself.
// OK otherwise.
Status ValidateTopicName(std::string_view topic);
// Topics producers may never send to directly (TopicValidator.isNotAllowedSendTopic):
// SCHEDULE_TOPIC_XXXX and the transaction system topics.
bool IsNotAllowedSendTopic(std::string_view topic);

class TopicManager {
 public:
  // `path` is the file relative to the node's disk root.
  TopicManager(io::Env& env, const BrokerConfig& config, std::string path);

  // Reads the file (absent: an empty table), then adds the system topics it lacks and persists
  // if it added any. A file that does not parse is kCorruption. May yield.
  Status Load();
  // Writes the table durably. May yield.
  Status Persist();

  // A copy of the topic's config (a copy: the table may change while the caller yields).
  std::optional<protocol::TopicConfig> Find(std::string_view topic) const;

  // UPDATE_AND_CREATE_TOPIC: creates or replaces `config`, bumps the data version and persists.
  // REQUIRES: ValidateTopicName(config.topic_name) is OK. May yield.
  Status Update(const protocol::TopicConfig& config);

  // The send path's auto-create (createTopicInSendMessageMethod): creates `topic` from the
  // template `default_topic` when that template exists and is inheritable (TBW102 counts as
  // inheritable only while auto_create_topic is on), with min(client_queue_nums, template's
  // write queues) queues and the template's perm without INHERIT. Returns the topic's config
  // (existing or new), or nullopt when it may not be created. May yield.
  std::optional<protocol::TopicConfig> CreateForSend(std::string_view topic,
                                                     std::string_view default_topic,
                                                     int32_t client_queue_nums,
                                                     int32_t topic_sys_flag);
  // createTopicInSendMessageBackMethod: the topic's config, creating it with `queue_nums`
  // queues and `perm` if absent (retry and dead-letter topics). May yield.
  protocol::TopicConfig CreateIfAbsent(std::string_view topic, int32_t queue_nums, int32_t perm,
                                       int32_t topic_sys_flag);

  // Every topic and the data version: the body of a registration.
  protocol::TopicConfigSerializeWrapper Snapshot() const;
  const protocol::DataVersion& data_version() const { return data_version_; }
  size_t size() const { return table_.size(); }
  bool dirty() const { return dirty_; }

  // Called after a topic was created or changed (the broker re-registers at once).
  void set_on_change(std::function<void()> on_change) { on_change_ = std::move(on_change); }

 private:
  void Put(protocol::TopicConfig config);
  void NextVersion();
  void AddSystemTopics(bool* added);
  void Changed();

  io::Env& env_;
  const BrokerConfig& config_;
  std::string path_;
  std::map<std::string, protocol::TopicConfig, std::less<>> table_;
  protocol::DataVersion data_version_;
  bool dirty_ = false;
  io::Mutex persisting_;
  std::function<void()> on_change_;
};

}  // namespace apogee::broker
