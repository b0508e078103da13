#include "core/protocol/message.h"

#include <fmt/format.h>

#include <limits>

#include "core/base/bytes.h"
#include "core/protocol/fields.h"
#include "core/store/message_record.h"

namespace apogee::protocol {

namespace {

std::string HostString(uint32_t ipv4, int32_t port) {
  return fmt::format("{}.{}.{}.{}:{}", ipv4 >> 24, (ipv4 >> 16) & 0xFF, (ipv4 >> 8) & 0xFF,
                     ipv4 & 0xFF, port);
}

Status BatchError(size_t at, std::string_view what) {
  return Status(ErrorCode::kMalformed, fmt::format("batch message at byte {}: {}", at, what));
}

}  // namespace

// --- Message ---

std::string Message::Property(std::string_view name) const {
  auto it = properties.find(std::string(name));
  return it == properties.end() ? std::string() : it->second;
}

bool Message::HasProperty(std::string_view name) const {
  return properties.count(std::string(name)) != 0;
}

void Message::SetProperty(std::string name, std::string value) {
  properties.insert_or_assign(std::move(name), std::move(value));
}

void Message::ClearProperty(std::string_view name) { properties.erase(std::string(name)); }

std::vector<std::string> Message::KeyList() const {
  std::vector<std::string> out;
  std::string keys = Keys();
  store::ForEachKey(keys, [&](std::string_view k) { out.emplace_back(k); });
  return out;
}

void Message::SetKeys(const std::vector<std::string>& keys) {
  std::string joined;
  for (const std::string& k : keys) {
    if (!joined.empty()) joined.push_back(' ');
    joined += k;
  }
  SetKeys(std::move(joined));
}

int32_t Message::DelayLevel() const {
  auto it = properties.find(property::kDelay);
  if (it == properties.end()) return 0;
  return static_cast<int32_t>(ParseDecimal(it->second, std::numeric_limits<int32_t>::min(),
                                           std::numeric_limits<int32_t>::max())
                                  .value_or(0));
}

void Message::SetDelayLevel(int32_t level) {
  if (level == 0) {
    ClearProperty(property::kDelay);
  } else {
    SetProperty(property::kDelay, fmt::format("{}", level));
  }
}

bool Message::WaitStoreMsgOk() const {
  auto it = properties.find(property::kWait);
  return it == properties.end() || it->second != "false";
}

std::string MessageExt::BornHost() const { return HostString(born_ipv4, born_port); }
std::string MessageExt::StoreHost() const { return HostString(store_ipv4, store_port); }

// --- Properties ---

std::string EncodeMessageProperties(const std::map<std::string, std::string>& properties) {
  std::string out;
  for (const auto& [name, value] : properties) {
    if (!out.empty()) out.push_back(store::kPropertySeparator);
    out += name;
    out.push_back(store::kNameValueSeparator);
    out += value;
  }
  return out;
}

std::map<std::string, std::string> DecodeMessageProperties(std::string_view text) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : store::ParseProperties(text)) {
    out.insert_or_assign(std::string(name), std::string(value));
  }
  return out;
}

// --- Stored records ---

Result<std::vector<MessageExt>> DecodeMessages(std::span<const uint8_t> body) {
  std::vector<MessageExt> out;
  size_t at = 0;
  while (at < body.size()) {
    std::span<const uint8_t> rest = body.subspan(at);
    // A record names its own commit log offset; DecodeRecord checks the record against the
    // offset it was read from, which an answer body does not tell, so pass the one it claims.
    int64_t claimed = 0;
    if (rest.size() >= store::kOffPhysicalOffset + 8) {
      claimed = static_cast<int64_t>(GetU64(rest.data() + store::kOffPhysicalOffset));
    }
    store::DecodedRecord d = store::DecodeRecord(rest, claimed, kDecodedRecordBytesMax, true);
    if (d.kind != store::RecordKind::kMessage) {
      std::string why = d.kind == store::RecordKind::kIncomplete ? "truncated"
                        : d.kind == store::RecordKind::kBlank    ? "a blank record"
                                                                 : d.error;
      return Status(ErrorCode::kCorruption,
                    fmt::format("message record at byte {} of {}: {}", at, body.size(), why));
    }
    APOGEE_ASSERT(d.size > 0);
    APOGEE_ASSERT(d.size <= rest.size());
    const store::RecordView& v = d.view;
    MessageExt m;
    m.topic = std::string(v.topic);
    m.flag = v.flag;
    m.properties = DecodeMessageProperties(v.properties);
    m.body.assign(v.body.begin(), v.body.end());
    m.queue_id = v.queue_id;
    m.store_size = static_cast<int32_t>(v.total_size);
    m.queue_offset = v.queue_offset;
    m.sys_flag = v.sys_flag;
    m.born_timestamp = v.born_timestamp_ms;
    m.born_ipv4 = v.born_ipv4;
    m.born_port = v.born_port;
    m.store_timestamp = v.store_timestamp_ms;
    m.store_ipv4 = v.store_ipv4;
    m.store_port = v.store_port;
    m.commit_log_offset = v.physical_offset;
    m.body_crc = static_cast<int32_t>(v.body_crc);
    m.reconsume_times = v.reconsume_times;
    m.prepared_transaction_offset = v.prepared_transaction_offset;
    m.offset_msg_id = store::MakeOffsetMsgId(v.store_ipv4, v.store_port, v.physical_offset);
    std::string uniq = m.UniqKey();
    m.msg_id = uniq.empty() ? m.offset_msg_id : std::move(uniq);
    out.push_back(std::move(m));
    at += d.size;
  }
  APOGEE_ASSERT(at == body.size());
  return out;
}

// --- Batch bodies ---

std::vector<uint8_t> EncodeBatch(const std::vector<Message>& messages) {
  std::vector<uint8_t> out;
  ByteWriter w(&out);
  for (const Message& m : messages) {
    std::string props = EncodeMessageProperties(m.properties);
    APOGEE_ASSERT(props.size() <= kBatchPropertiesBytesMax, "properties of {} bytes", props.size());
    uint64_t total = kBatchItemFixedBytes + m.body.size() + props.size();
    APOGEE_ASSERT(total <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max()),
                  "batch message of {} bytes", total);
    size_t start = w.size();
    w.I32(static_cast<int32_t>(total));
    w.I32(0);  // magic: RocketMQ leaves it zero in a batch
    w.I32(0);  // body CRC: likewise; the broker computes it
    w.I32(m.flag);
    w.I32(static_cast<int32_t>(m.body.size()));
    w.Bytes(m.body);
    w.U16(static_cast<uint16_t>(props.size()));
    w.Bytes(props);
    APOGEE_ASSERT(w.size() - start == total);
  }
  return out;
}

Result<std::vector<Message>> DecodeBatch(std::span<const uint8_t> body) {
  std::vector<Message> out;
  size_t at = 0;
  while (at < body.size()) {
    size_t left = body.size() - at;
    if (left < kBatchItemFixedBytes) {
      return BatchError(at, fmt::format("{} bytes left, a message needs at least {}", left,
                                        kBatchItemFixedBytes));
    }
    const uint8_t* p = body.data() + at;
    auto total = static_cast<int32_t>(GetU32(p));
    if (total < static_cast<int32_t>(kBatchItemFixedBytes) || static_cast<size_t>(total) > left) {
      return BatchError(
          at, fmt::format("total size {} outside [{}, {}]", total, kBatchItemFixedBytes, left));
    }
    // Both lengths must fit the total exactly; computed in 64 bits so no sum wraps.
    auto body_len = static_cast<int32_t>(GetU32(p + 16));
    int64_t room = total - static_cast<int64_t>(kBatchItemFixedBytes);
    if (body_len < 0 || body_len > room) {
      return BatchError(
          at, fmt::format("body length {} does not fit a {}-byte message", body_len, total));
    }
    size_t props_at = 20 + static_cast<size_t>(body_len);
    auto props_len = static_cast<int16_t>(GetU16(p + props_at));
    if (props_len < 0 || static_cast<int64_t>(props_len) != room - body_len) {
      return BatchError(at, fmt::format("properties length {} with a {}-byte body does not make "
                                        "a {}-byte message",
                                        props_len, body_len, total));
    }
    Message m;
    m.flag = static_cast<int32_t>(GetU32(p + 12));
    m.body.assign(p + 20, p + props_at);
    m.properties = DecodeMessageProperties(
        std::string_view(reinterpret_cast<const char*>(p + props_at + 2), props_len));
    out.push_back(std::move(m));
    at += static_cast<size_t>(total);
  }
  APOGEE_ASSERT(at == body.size());
  return out;
}

}  // namespace apogee::protocol
