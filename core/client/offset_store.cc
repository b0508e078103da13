#include "core/client/offset_store.h"

#include <fmt/format.h>

#include <optional>
#include <vector>

#include "core/base/log.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"
#include "core/protocol/json_fields.h"

namespace apogee::client {

namespace req = protocol::request;
namespace rsp = protocol::response;

void OffsetStore::UpdateOffset(const MessageQueue& mq, int64_t offset, bool increase_only) {
  APOGEE_ASSERT(offset >= 0, "offset {} of {}", offset, mq.ToString());
  auto [it, inserted] = offsets_.emplace(mq, offset);
  if (inserted) return;
  if (!increase_only || offset > it->second) it->second = offset;
}

std::optional<int64_t> OffsetStore::Memory(const MessageQueue& mq) const {
  auto it = offsets_.find(mq);
  if (it == offsets_.end()) return std::nullopt;
  return it->second;
}

// --- Remote ---

Result<int64_t> RemoteOffsetStore::ReadOffset(const MessageQueue& mq, ReadOffsetType type) {
  if (type != ReadOffsetType::kStore) {
    std::optional<int64_t> m = Memory(mq);
    if (m.has_value()) return *m;
    if (type == ReadOffsetType::kMemory) return kNoOffset;
  }
  APOGEE_ASSIGN_OR_RETURN(int64_t stored, Query(mq));
  if (stored >= 0) UpdateOffset(mq, stored, false);
  return stored;
}

Result<int64_t> RemoteOffsetStore::Query(const MessageQueue& mq) {
  APOGEE_ASSIGN_OR_RETURN(std::string addr,
                          instance_.MasterAddressOrRefresh(mq.broker_name, mq.topic));
  protocol::QueryConsumerOffsetRequestHeader h{group_, mq.topic, mq.queue_id};
  protocol::ExtFields f;
  h.Encode(f);
  APOGEE_ASSIGN_OR_RETURN(
      RemotingCommand r, instance_.Invoke(addr, protocol::MakeRequest(req::kQueryConsumerOffset, f),
                                          instance_.config().rpc_timeout));
  if (r.code == rsp::kQueryNotFound) return kNoOffset;
  if (r.code != rsp::kSuccess) return ResponseError(r, "QUERY_CONSUMER_OFFSET");
  APOGEE_ASSIGN_OR_RETURN(protocol::OffsetResponseHeader oh,
                          protocol::OffsetResponseHeader::Decode(r.ext_fields));
  return oh.offset;
}

Status RemoteOffsetStore::Update(const MessageQueue& mq, int64_t offset) {
  APOGEE_ASSIGN_OR_RETURN(std::string addr,
                          instance_.MasterAddressOrRefresh(mq.broker_name, mq.topic));
  protocol::UpdateConsumerOffsetRequestHeader h{group_, mq.topic, mq.queue_id, offset};
  protocol::ExtFields f;
  h.Encode(f);
  const Instant sent = instance_.env().clock.Now();
  Result<RemotingCommand> r = instance_.Invoke(
      addr, protocol::MakeRequest(req::kUpdateConsumerOffset, f), instance_.config().rpc_timeout);
  if (instance_.config().on_offset_commit) {
    instance_.config().on_offset_commit({group_, mq.topic, mq.broker_name, mq.queue_id, offset,
                                         sent, r.ok() && r->code == rsp::kSuccess});
  }
  if (!r.ok()) return r.status();
  if (r->code != rsp::kSuccess) return ResponseError(*r, "UPDATE_CONSUMER_OFFSET");
  return Status::Ok();
}

void RemoteOffsetStore::PersistAll(const std::set<MessageQueue>& mqs) {
  std::vector<MessageQueue> queues;  // copied: updates yield
  for (const auto& [mq, offset] : offsets_) {
    if (mqs.contains(mq)) queues.push_back(mq);
  }
  for (const MessageQueue& mq : queues) {
    // The offset as it is now, not as it was when the round began: each update yields (for up
    // to rpc_timeout when a broker is unreachable), and meanwhile pulls move the offset on and
    // commit it; a stale value sent after them would move the broker's offset backwards.
    std::optional<int64_t> offset = Memory(mq);
    if (!offset.has_value()) continue;  // forgotten meanwhile
    Status s = Update(mq, *offset);
    if (!s.ok()) LOG_INFO("offsets of {}: {}: {}", group_, mq.ToString(), s.ToString());
  }
  for (auto it = offsets_.begin(); it != offsets_.end();) {
    it = mqs.contains(it->first) ? std::next(it) : offsets_.erase(it);
  }
}

void RemoteOffsetStore::Persist(const MessageQueue& mq) {
  std::optional<int64_t> m = Memory(mq);
  if (!m.has_value()) return;
  Status s = Update(mq, *m);
  if (!s.ok()) LOG_INFO("offsets of {}: {}: {}", group_, mq.ToString(), s.ToString());
}

// --- Local ---

LocalOffsetStore::LocalOffsetStore(io::Env& env, const std::string& dir,
                                   const std::string& client_id, const std::string& group)
    : env_(env), dir_(io::JoinPath(io::JoinPath(dir, client_id), group)) {
  path_ = io::JoinPath(dir_, "offsets.json");
}

Status LocalOffsetStore::Load() {
  APOGEE_ASSIGN_OR_RETURN(bool exists, env_.disk.Exists(path_));
  if (!exists) return Status::Ok();
  APOGEE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, env_.disk.ReadAll(path_));
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  Result<JsonValue> v = ParseJson(text);
  if (!v.ok()) return Status(ErrorCode::kCorruption, path_ + ": " + v.status().message());
  protocol::JsonObjectReader root(*v, "offsets");
  const JsonValue* table = root.Array("offsetTable");
  if (table != nullptr) {
    for (size_t i = 0; i < table->items().size(); ++i) {
      protocol::JsonObjectReader e(table->items()[i], root.ItemPath("offsetTable", i));
      MessageQueue mq{e.String("topic"), e.String("brokerName"), e.Int32("queueId")};
      int64_t offset = e.Int64("offset");
      if (!e.status().ok()) return Status(ErrorCode::kCorruption, e.status().message());
      if (offset >= 0) offsets_[mq] = offset;
    }
  }
  if (!root.status().ok()) return Status(ErrorCode::kCorruption, root.status().message());
  return Status::Ok();
}

Result<int64_t> LocalOffsetStore::ReadOffset(const MessageQueue& mq, ReadOffsetType) {
  // Memory was loaded from the file and only this client writes it: the two agree.
  return Memory(mq).value_or(kNoOffset);
}

Status LocalOffsetStore::Write() {
  JsonValue table = JsonValue::Array();
  for (const auto& [mq, offset] : offsets_) {
    JsonValue e = JsonValue::Object();
    e.Add("topic", JsonValue::String(mq.topic));
    e.Add("brokerName", JsonValue::String(mq.broker_name));
    e.Add("queueId", JsonValue::Int(mq.queue_id));
    e.Add("offset", JsonValue::Int(offset));
    table.Append(std::move(e));
  }
  JsonValue root = JsonValue::Object();
  root.Add("offsetTable", std::move(table));
  std::string text = WriteJson(root);
  APOGEE_RETURN_IF_ERROR(env_.disk.MakeDirs(dir_));
  return env_.disk.WriteAtomically(
      path_, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

void LocalOffsetStore::PersistAll(const std::set<MessageQueue>&) {
  Status s = Write();
  if (!s.ok()) LOG_WARN("offsets: writing {}: {}", path_, s.ToString());
}

void LocalOffsetStore::Persist(const MessageQueue&) { PersistAll({}); }

}  // namespace apogee::client
