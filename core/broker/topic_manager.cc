#include "core/broker/topic_manager.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "core/base/log.h"
#include "core/protocol/codes.h"

namespace apogee::broker {

using protocol::TopicConfig;

Status ValidateTopicName(std::string_view topic) {
  if (topic.empty()) return Status(ErrorCode::kInvalidArgument, "The specified topic is blank.");
  if (topic.size() > kTopicNameBytesMax) {
    return Status(
        ErrorCode::kInvalidArgument,
        fmt::format("The specified topic is longer than topic max length {}.", kTopicNameBytesMax));
  }
  for (char c : topic) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '%' || c == '|' || c == '_' || c == '-';
    if (!ok) {
      return Status(ErrorCode::kInvalidArgument,
                    "The specified topic contains illegal characters, allowing only "
                    "^[%|a-zA-Z0-9_-]+$");
    }
  }
  if (topic == protocol::kDefaultTopic) {
    return Status(ErrorCode::kInvalidArgument,
                  "The specified topic is conflict with AUTO_CREATE_TOPIC_KEY_TOPIC.");
  }
  return Status::Ok();
}

bool IsNotAllowedSendTopic(std::string_view topic) {
  return topic == protocol::kScheduleTopic || topic == "RMQ_SYS_TRANS_HALF_TOPIC" ||
         topic == "RMQ_SYS_TRANS_OP_HALF_TOPIC" || topic == "TRANS_CHECK_MAX_TIME_TOPIC";
}

TopicManager::TopicManager(io::Env& env, const BrokerConfig& config, std::string path)
    : env_(env), config_(config), path_(std::move(path)), persisting_(env.scheduler.runtime()) {}

void TopicManager::Put(TopicConfig config) {
  APOGEE_ASSERT(!config.topic_name.empty());
  APOGEE_ASSERT(config.read_queue_nums >= 0);
  APOGEE_ASSERT(config.write_queue_nums >= 0);
  std::string name = config.topic_name;
  table_[name] = std::move(config);
}

void TopicManager::NextVersion() {
  data_version_.timestamp = ToMillis(env_.clock.WallNow());
  data_version_.counter++;
}

void TopicManager::AddSystemTopics(bool* added) {
  auto add = [&](std::string name, int32_t queues, int32_t perm) {
    if (table_.count(name) != 0) return;
    TopicConfig c;
    c.topic_name = std::move(name);
    c.read_queue_nums = queues;
    c.write_queue_nums = queues;
    c.perm = perm;
    Put(std::move(c));
    *added = true;
  };
  const int32_t rw = protocol::kPermRead | protocol::kPermWrite;
  if (config_.auto_create_topic) {
    add(protocol::kDefaultTopic, config_.default_topic_queue_nums, rw | protocol::kPermInherit);
  }
  add(protocol::kScheduleTopic, kScheduleTopicQueueNums, rw);
  add(config_.cluster_name, protocol::kDefaultReadQueueNums, rw | protocol::kPermInherit);
  add(config_.broker_name, 1, rw | protocol::kPermInherit);
}

Status TopicManager::Load() {
  Result<bool> exists = env_.disk.Exists(path_);
  if (!exists.ok()) return exists.status();
  if (*exists) {
    APOGEE_ASSIGN_OR_RETURN(std::vector<uint8_t> data, env_.disk.ReadAll(path_));
    auto wrapper = protocol::TopicConfigSerializeWrapper::FromJson(
        std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
    if (!wrapper.ok()) {
      return Status(ErrorCode::kCorruption,
                    fmt::format("{}: {}", path_, wrapper.status().message()));
    }
    for (auto& [name, config] : wrapper->topic_config_table) {
      TopicConfig c = config;
      c.topic_name = name;
      c.read_queue_nums = std::max(c.read_queue_nums, 0);
      c.write_queue_nums = std::max(c.write_queue_nums, 0);
      Put(std::move(c));
    }
    data_version_ = wrapper->data_version;
    LOG_INFO("broker: loaded {} topics from {}", table_.size(), path_);
  }
  bool added = false;
  AddSystemTopics(&added);
  if (!added) return Status::Ok();
  NextVersion();
  return Persist();
}

Status TopicManager::Persist() {
  io::MutexLock lock(persisting_);
  if (!lock.ok()) return lock.status();
  dirty_ = false;
  std::string json = Snapshot().ToJson();
  Status s = env_.disk.WriteAtomically(
      path_, std::span(reinterpret_cast<const uint8_t*>(json.data()), json.size()));
  if (!s.ok()) {
    dirty_ = true;
    LOG_WARN("broker: persisting topics to {} failed: {}", path_, s.ToString());
  }
  return s;
}

std::optional<TopicConfig> TopicManager::Find(std::string_view topic) const {
  auto it = table_.find(topic);
  if (it == table_.end()) return std::nullopt;
  return it->second;
}

void TopicManager::Changed() {
  if (on_change_) on_change_();
}

Status TopicManager::Update(const TopicConfig& config) {
  APOGEE_ASSERT(!config.topic_name.empty());
  auto old = Find(config.topic_name);
  LOG_INFO("broker: {} topic {} (read {} write {} perm {})", old ? "updating" : "creating",
           config.topic_name, config.read_queue_nums, config.write_queue_nums, config.perm);
  Put(config);
  NextVersion();
  Status s = Persist();
  Changed();
  return s;
}

std::optional<TopicConfig> TopicManager::CreateForSend(std::string_view topic,
                                                       std::string_view default_topic,
                                                       int32_t client_queue_nums,
                                                       int32_t topic_sys_flag) {
  if (auto existing = Find(topic)) return existing;
  auto base = Find(default_topic);
  if (!base.has_value()) {
    LOG_WARN("broker: cannot create topic {}: the default topic {} does not exist", topic,
             default_topic);
    return std::nullopt;
  }
  int32_t base_perm = base->perm;
  // With auto-create off, TBW102 (if an old table still has it) no longer hands down its perm.
  if (default_topic == protocol::kDefaultTopic && !config_.auto_create_topic) {
    base_perm = protocol::kPermRead | protocol::kPermWrite;
  }
  if ((base_perm & protocol::kPermInherit) == 0) {
    LOG_WARN("broker: cannot create topic {}: the default topic {} (perm {}) is not inheritable",
             topic, default_topic, base_perm);
    return std::nullopt;
  }
  TopicConfig c;
  c.topic_name = std::string(topic);
  int32_t queues = std::max(std::min(client_queue_nums, base->write_queue_nums), 0);
  c.read_queue_nums = queues;
  c.write_queue_nums = queues;
  c.perm = base_perm & ~protocol::kPermInherit;
  c.topic_sys_flag = topic_sys_flag;
  c.topic_filter_type = base->topic_filter_type;
  LOG_INFO("broker: auto-creating topic {} from {} with {} queues, perm {}", topic, default_topic,
           queues, c.perm);
  Put(c);
  NextVersion();
  Persist().IgnoreError();  // logged; the topic is served from memory and retried later
  Changed();
  return c;
}

TopicConfig TopicManager::CreateIfAbsent(std::string_view topic, int32_t queue_nums, int32_t perm,
                                         int32_t topic_sys_flag) {
  if (auto existing = Find(topic)) return *existing;
  TopicConfig c;
  c.topic_name = std::string(topic);
  c.read_queue_nums = queue_nums;
  c.write_queue_nums = queue_nums;
  c.perm = perm;
  c.topic_sys_flag = topic_sys_flag;
  LOG_INFO("broker: creating topic {} with {} queues, perm {}", topic, queue_nums, perm);
  Put(c);
  NextVersion();
  Persist().IgnoreError();  // logged; the topic is served from memory and retried later
  Changed();
  return c;
}

protocol::TopicConfigSerializeWrapper TopicManager::Snapshot() const {
  protocol::TopicConfigSerializeWrapper w;
  for (const auto& [name, config] : table_) w.topic_config_table.emplace(name, config);
  w.data_version = data_version_;
  return w;
}

}  // namespace apogee::broker
