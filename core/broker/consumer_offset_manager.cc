#include "core/broker/consumer_offset_manager.h"

#include <fmt/format.h>

#include <limits>
#include <utility>
#include <vector>

#include "core/base/log.h"
#include "core/protocol/fields.h"
#include "core/remoting/json.h"

namespace apogee::broker {

ConsumerOffsetManager::ConsumerOffsetManager(io::Env& env, std::string path)
    : env_(env), path_(std::move(path)), persisting_(env.scheduler.runtime()) {
  APOGEE_ASSERT(!path_.empty());
}

void ConsumerOffsetManager::Commit(std::string_view group, std::string_view topic, int32_t queue_id,
                                   int64_t offset) {
  if (offset < 0) return;
  int64_t& slot = table_[Key(std::string(topic), std::string(group))][queue_id];
  if (slot != offset) dirty_ = true;
  slot = offset;
  APOGEE_ASSERT(slot >= 0);
}

std::optional<int64_t> ConsumerOffsetManager::Query(std::string_view group, std::string_view topic,
                                                    int32_t queue_id) const {
  auto it = table_.find(Key(std::string(topic), std::string(group)));
  if (it == table_.end()) return std::nullopt;
  auto q = it->second.find(queue_id);
  if (q == it->second.end()) return std::nullopt;
  return q->second;
}

size_t ConsumerOffsetManager::ClampTo(
    const std::function<int64_t(std::string_view topic, int32_t queue_id)>& max_offset) {
  size_t lowered = 0;
  for (auto& [key, queues] : table_) {
    for (auto& [queue_id, offset] : queues) {
      int64_t max = std::max<int64_t>(max_offset(key.first, queue_id), 0);
      if (offset > max) {
        LOG_WARN("broker: offset of group {} on {}:{} lowered from {} to the queue's max {}",
                 key.second, key.first, queue_id, offset, max);
        offset = max;
        lowered++;
        dirty_ = true;
      }
    }
  }
  return lowered;
}

size_t ConsumerOffsetManager::size() const {
  size_t n = 0;
  for (const auto& [key, queues] : table_) n += queues.size();
  return n;
}

std::string ConsumerOffsetManager::ToJson() const {
  JsonValue table = JsonValue::Object();
  for (const auto& [key, queues] : table_) {
    JsonValue q = JsonValue::Object();
    for (const auto& [queue_id, offset] : queues)
      q.Add(fmt::format("{}", queue_id), JsonValue::Int(offset));
    table.Add(fmt::format("{}@{}", key.first, key.second), std::move(q));
  }
  JsonValue root = JsonValue::Object();
  root.Add("offsetTable", std::move(table));
  return WriteJson(root);
}

Status ConsumerOffsetManager::FromJson(std::string_view text) {
  auto bad = [&](std::string what) {
    return Status(ErrorCode::kCorruption, fmt::format("{}: {}", path_, what));
  };
  Result<JsonValue> parsed = ParseJson(text);
  if (!parsed.ok()) return bad(parsed.status().message());
  if (!parsed->is_object()) return bad("not a JSON object");
  std::map<Key, QueueOffsets> table;
  const JsonValue* offsets = parsed->Find("offsetTable");
  if (offsets != nullptr && !offsets->is_null()) {
    if (!offsets->is_object()) return bad("offsetTable is not an object");
    for (const JsonMember& m : offsets->members()) {
      size_t at = m.key.find('@');
      if (at == std::string::npos || at == 0 || at + 1 == m.key.size()) {
        return bad(fmt::format("key '{}' is not topic@group", m.key));
      }
      if (!m.value.is_object()) return bad(fmt::format("'{}' is not an object", m.key));
      QueueOffsets& queues = table[Key(m.key.substr(0, at), m.key.substr(at + 1))];
      for (const JsonMember& q : m.value.members()) {
        std::optional<int64_t> queue_id =
            protocol::ParseDecimal(q.key, 0, std::numeric_limits<int32_t>::max());
        int64_t offset = -1;
        if (q.value.is_number() && q.value.int64().has_value()) offset = *q.value.int64();
        if (!queue_id.has_value() || offset < 0) {
          return bad(fmt::format("'{}' queue '{}' has no valid offset", m.key, q.key));
        }
        queues[static_cast<int32_t>(*queue_id)] = offset;
      }
    }
  }
  table_ = std::move(table);
  return Status::Ok();
}

Status ConsumerOffsetManager::Load() {
  Result<bool> exists = env_.disk.Exists(path_);
  if (!exists.ok()) return exists.status();
  if (!*exists) {
    LOG_INFO("broker: no consumer offsets at {}; starting with none", path_);
    return Status::Ok();
  }
  APOGEE_ASSIGN_OR_RETURN(std::vector<uint8_t> data, env_.disk.ReadAll(path_));
  APOGEE_RETURN_IF_ERROR(
      FromJson(std::string_view(reinterpret_cast<const char*>(data.data()), data.size())));
  dirty_ = false;
  LOG_INFO("broker: loaded {} consumer offsets from {}", size(), path_);
  return Status::Ok();
}

Status ConsumerOffsetManager::Persist() {
  io::MutexLock lock(persisting_);
  if (!lock.ok()) return lock.status();
  // Changes made while the write runs stay dirty for the next Persist().
  dirty_ = false;
  std::string json = ToJson();
  Status s = env_.disk.WriteAtomically(
      path_, std::span(reinterpret_cast<const uint8_t*>(json.data()), json.size()));
  if (!s.ok()) {
    dirty_ = true;
    LOG_WARN("broker: persisting consumer offsets to {} failed: {}", path_, s.ToString());
  }
  return s;
}

}  // namespace apogee::broker
