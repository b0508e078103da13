#include "core/store/message_record.h"

#include <fmt/format.h>

#include <cstring>

#include "core/base/bytes.h"
#include "core/base/crc32.h"
#include "core/base/java_hash.h"

namespace apogee::store {

uint64_t RecordSizeOf(const MessageToStore& m) {
  return StoredRecordSize(m.body.size(), m.topic.size(),
                          m.properties.size() + RecordCrcPropertyBytes(m.properties.size()));
}

Status ValidateMessage(const MessageToStore& message, uint32_t message_bytes_max) {
  if (message.topic.empty()) return Status(ErrorCode::kInvalidArgument, "empty topic");
  if (message.topic.size() > kTopicBytesMax) {
    return Status(ErrorCode::kInvalidArgument, fmt::format("topic of {} bytes exceeds {}",
                                                           message.topic.size(), kTopicBytesMax));
  }
  if (message.properties.size() > kPropertiesBytesMax - kRecordCrcPropertyBytesMax) {
    return Status(ErrorCode::kResourceExhausted,
                  fmt::format("properties of {} bytes exceed {}", message.properties.size(),
                              kPropertiesBytesMax - kRecordCrcPropertyBytesMax));
  }
  if ((message.sys_flag & (kSysFlagBornHostV6 | kSysFlagStoreHostV6)) != 0) {
    return Status(ErrorCode::kInvalidArgument, "IPv6 hosts are not supported");
  }
  uint64_t size = RecordSizeOf(message);
  if (size > message_bytes_max) {
    return Status(
        ErrorCode::kInvalidArgument,
        fmt::format("record of {} bytes exceeds the limit of {}", size, message_bytes_max));
  }
  return Status::Ok();
}

void EncodeRecord(const MessageToStore& m, const RecordPlacement& at, std::span<uint8_t> out) {
  uint64_t size = RecordSizeOf(m);
  APOGEE_ASSERT(out.size() == size, "record buffer of {} bytes for a {}-byte record", out.size(),
                size);
  APOGEE_ASSERT(!m.topic.empty());
  APOGEE_ASSERT(m.topic.size() <= kTopicBytesMax);
  APOGEE_ASSERT(m.properties.size() <= kPropertiesBytesMax - kRecordCrcPropertyBytesMax);
  uint8_t* p = out.data();
  PutU32(p + kOffTotalSize, static_cast<uint32_t>(size));
  PutU32(p + kOffMagic, kMessageMagic);
  PutU32(p + kOffBodyCrc, MaskedCrc32(m.body));
  PutU32(p + kOffQueueId, static_cast<uint32_t>(m.queue_id));
  PutU32(p + kOffFlag, static_cast<uint32_t>(m.flag));
  PutU64(p + kOffQueueOffset, static_cast<uint64_t>(at.queue_offset));
  PutU64(p + kOffPhysicalOffset, static_cast<uint64_t>(at.physical_offset));
  PutU32(p + kOffSysFlag, static_cast<uint32_t>(m.sys_flag));
  PutU64(p + kOffBornTimestamp, static_cast<uint64_t>(m.born_timestamp_ms));
  PutU32(p + kOffBornHost, m.born_ipv4);
  PutU32(p + kOffBornHost + 4, static_cast<uint32_t>(m.born_port));
  PutU64(p + kOffStoreTimestamp, static_cast<uint64_t>(at.store_timestamp_ms));
  PutU32(p + kOffStoreHost, at.store_ipv4);
  PutU32(p + kOffStoreHost + 4, static_cast<uint32_t>(at.store_port));
  PutU32(p + kOffReconsumeTimes, static_cast<uint32_t>(m.reconsume_times));
  PutU64(p + kOffPreparedOffset, static_cast<uint64_t>(m.prepared_transaction_offset));
  size_t at_byte = kOffBodyLength;
  PutU32(p + at_byte, static_cast<uint32_t>(m.body.size()));
  at_byte += 4;
  if (!m.body.empty()) std::memcpy(p + at_byte, m.body.data(), m.body.size());
  at_byte += m.body.size();
  p[at_byte++] = static_cast<uint8_t>(m.topic.size());
  std::memcpy(p + at_byte, m.topic.data(), m.topic.size());
  at_byte += m.topic.size();
  size_t props_len = m.properties.size() + RecordCrcPropertyBytes(m.properties.size());
  PutU16(p + at_byte, static_cast<uint16_t>(props_len));
  at_byte += 2;
  if (!m.properties.empty()) {
    std::memcpy(p + at_byte, m.properties.data(), m.properties.size());
    at_byte += m.properties.size();
    p[at_byte++] = static_cast<uint8_t>(kPropertySeparator);
  }
  std::memcpy(p + at_byte, kRecordCrcProperty.data(), kRecordCrcProperty.size());
  at_byte += kRecordCrcProperty.size();
  p[at_byte++] = static_cast<uint8_t>(kNameValueSeparator);
  APOGEE_ASSERT(at_byte + kRecordCrcDigits == size);
  // The CRC covers every byte before its own digits.
  uint32_t crc = Crc32(std::span<const uint8_t>(p, at_byte));
  for (int i = static_cast<int>(kRecordCrcDigits) - 1; i >= 0; i--) {
    p[at_byte + static_cast<size_t>(i)] = static_cast<uint8_t>('0' + crc % 10);
    crc /= 10;
  }
}

void EncodeBlankRecord(uint32_t remaining_bytes, std::span<uint8_t> out) {
  APOGEE_ASSERT(remaining_bytes >= kBlankRecordBytes);
  APOGEE_ASSERT(out.size() >= kBlankRecordBytes);
  PutU32(out.data(), remaining_bytes);
  PutU32(out.data() + 4, kBlankMagic);
}

namespace {

DecodedRecord Corrupt(std::string error) {
  DecodedRecord r;
  r.kind = RecordKind::kCorrupt;
  r.error = std::move(error);
  return r;
}

DecodedRecord Incomplete(uint32_t size) {
  DecodedRecord r;
  r.kind = RecordKind::kIncomplete;
  r.size = size;
  return r;
}

}  // namespace

DecodedRecord DecodeRecord(std::span<const uint8_t> data, int64_t physical_offset,
                           uint32_t message_bytes_max, bool verify_crc) {
  if (data.size() < kBlankRecordBytes) return Incomplete(0);
  const uint8_t* p = data.data();
  uint32_t size = GetU32(p + kOffTotalSize);
  uint32_t magic = GetU32(p + kOffMagic);
  if (magic == kBlankMagic) {
    if (size < kBlankRecordBytes) return Corrupt(fmt::format("blank record of {} bytes", size));
    DecodedRecord r;
    r.kind = RecordKind::kBlank;
    r.size = size;
    return r;
  }
  if (magic != kMessageMagic) return Corrupt(fmt::format("bad magic {:#010x}", magic));
  if (size < kRecordFixedBytes || size > message_bytes_max) {
    return Corrupt(
        fmt::format("total size {} outside [{}, {}]", size, kRecordFixedBytes, message_bytes_max));
  }
  if (data.size() < size) return Incomplete(size);

  RecordView v;
  v.total_size = size;
  v.body_crc = GetU32(p + kOffBodyCrc);
  v.queue_id = static_cast<int32_t>(GetU32(p + kOffQueueId));
  v.flag = static_cast<int32_t>(GetU32(p + kOffFlag));
  v.queue_offset = static_cast<int64_t>(GetU64(p + kOffQueueOffset));
  v.physical_offset = static_cast<int64_t>(GetU64(p + kOffPhysicalOffset));
  v.sys_flag = static_cast<int32_t>(GetU32(p + kOffSysFlag));
  v.born_timestamp_ms = static_cast<int64_t>(GetU64(p + kOffBornTimestamp));
  v.born_ipv4 = GetU32(p + kOffBornHost);
  v.born_port = static_cast<int32_t>(GetU32(p + kOffBornHost + 4));
  v.store_timestamp_ms = static_cast<int64_t>(GetU64(p + kOffStoreTimestamp));
  v.store_ipv4 = GetU32(p + kOffStoreHost);
  v.store_port = static_cast<int32_t>(GetU32(p + kOffStoreHost + 4));
  v.reconsume_times = static_cast<int32_t>(GetU32(p + kOffReconsumeTimes));
  v.prepared_transaction_offset = static_cast<int64_t>(GetU64(p + kOffPreparedOffset));
  if (v.physical_offset != physical_offset) {
    return Corrupt(
        fmt::format("record at {} claims offset {}", physical_offset, v.physical_offset));
  }
  if ((v.sys_flag & (kSysFlagBornHostV6 | kSysFlagStoreHostV6)) != 0) {
    return Corrupt(fmt::format("sysFlag {:#x} claims IPv6 hosts", v.sys_flag));
  }
  if (v.queue_offset < 0) return Corrupt(fmt::format("queue offset {}", v.queue_offset));

  // Variable part: every length must fit exactly in TOTALSIZE.
  uint64_t body_len = GetU32(p + kOffBodyLength);
  uint64_t at = kOffBodyLength + 4;
  if (body_len > size - kRecordFixedBytes) {
    return Corrupt(fmt::format("body length {} does not fit a {}-byte record", body_len, size));
  }
  v.body = std::span<const uint8_t>(p + at, body_len);
  at += body_len;
  uint64_t topic_len = p[at];
  at += 1;
  if (topic_len == 0 || at + topic_len + 2 > size) {
    return Corrupt(fmt::format("topic length {} does not fit", topic_len));
  }
  v.topic = std::string_view(reinterpret_cast<const char*>(p + at), topic_len);
  at += topic_len;
  uint64_t props_len = GetU16(p + at);
  at += 2;
  if (at + props_len != size) {
    return Corrupt(
        fmt::format("lengths add up to {} bytes, TOTALSIZE says {}", at + props_len, size));
  }
  // The properties end with the CRC property: [\x02] __CRC32# \x01 dddddddddd.
  std::string_view props(reinterpret_cast<const char*>(p + at), props_len);
  constexpr size_t kSuffixBytes = 8 + 1 + kRecordCrcDigits;
  if (props.size() < kSuffixBytes ||
      props.substr(props.size() - kSuffixBytes, 8) != kRecordCrcProperty ||
      props[props.size() - kRecordCrcDigits - 1] != kNameValueSeparator) {
    return Corrupt("the record CRC property is missing");
  }
  size_t user = props.size() - kSuffixBytes;
  if (user > 0 && props[user - 1] != kPropertySeparator) {
    return Corrupt("the record CRC property is not a property of its own");
  }
  v.properties = props.substr(0, user == 0 ? 0 : user - 1);
  if (verify_crc) {
    // The record CRC covers the body and the BODYCRC field, which the encoder computed from
    // the body: checking it is enough, and saves a second pass over the body.
    uint64_t stored = 0;
    for (size_t i = props.size() - kRecordCrcDigits; i < props.size(); i++) {
      char c = props[i];
      if (c < '0' || c > '9') return Corrupt("the record CRC is not a number");
      stored = stored * 10 + static_cast<uint64_t>(c - '0');
    }
    uint32_t whole = Crc32(std::span<const uint8_t>(p, size - kRecordCrcDigits));
    if (stored != whole) {
      return Corrupt(fmt::format("record CRC {:#010x}, record says {:#x}", whole, stored));
    }
  }
  DecodedRecord r;
  r.kind = RecordKind::kMessage;
  r.size = size;
  r.view = v;
  return r;
}

std::optional<std::string_view> FindProperty(std::string_view properties, std::string_view key) {
  std::optional<std::string_view> found;
  size_t pos = 0;
  while (pos < properties.size()) {
    size_t end = properties.find(kPropertySeparator, pos);
    if (end == std::string_view::npos) end = properties.size();
    std::string_view pair = properties.substr(pos, end - pos);
    size_t sep = pair.find(kNameValueSeparator);
    if (sep != std::string_view::npos && pair.substr(0, sep) == key) found = pair.substr(sep + 1);
    pos = end + 1;
  }
  return found;
}

std::vector<std::pair<std::string_view, std::string_view>> ParseProperties(
    std::string_view properties) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  size_t pos = 0;
  while (pos < properties.size()) {
    size_t end = properties.find(kPropertySeparator, pos);
    if (end == std::string_view::npos) end = properties.size();
    std::string_view pair = properties.substr(pos, end - pos);
    size_t sep = pair.find(kNameValueSeparator);
    if (sep != std::string_view::npos) out.emplace_back(pair.substr(0, sep), pair.substr(sep + 1));
    pos = end + 1;
  }
  return out;
}

std::string EncodeProperties(const std::vector<std::pair<std::string, std::string>>& properties) {
  std::string out;
  for (const auto& [key, value] : properties) {
    if (!out.empty()) out.push_back(kPropertySeparator);
    out += key;
    out.push_back(kNameValueSeparator);
    out += value;
  }
  return out;
}

int64_t TagsCode(std::string_view properties) {
  auto tags = FindProperty(properties, kPropertyTags);
  if (!tags.has_value() || tags->empty()) return 0;
  return JavaStringHash(*tags);
}

std::string MakeOffsetMsgId(uint32_t store_ipv4, int32_t store_port, int64_t commit_log_offset) {
  // By hand rather than with fmt: every message a broker stores or a consumer decodes gets one.
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string id(32, '0');
  auto put = [&id](size_t at, uint64_t v, size_t digits) {
    for (size_t i = 0; i < digits; i++) id[at + digits - 1 - i] = kHex[(v >> (4 * i)) & 0xF];
  };
  put(0, store_ipv4, 8);
  put(8, static_cast<uint32_t>(store_port), 8);
  put(16, static_cast<uint64_t>(commit_log_offset), 16);
  APOGEE_ASSERT(id.size() == 32);
  return id;
}

Result<OffsetMsgId> ParseOffsetMsgId(std::string_view id) {
  if (id.size() != 32) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("offsetMsgId of {} characters, want 32", id.size()));
  }
  uint8_t raw[16];
  for (size_t i = 0; i < 16; i++) {
    int v = 0;
    for (size_t j = 0; j < 2; j++) {
      char c = id[2 * i + j];
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                       : -1;
      if (d < 0) return Status(ErrorCode::kInvalidArgument, "offsetMsgId is not hexadecimal");
      v = v * 16 + d;
    }
    raw[i] = static_cast<uint8_t>(v);
  }
  OffsetMsgId out;
  out.store_ipv4 = GetU32(raw);
  out.store_port = static_cast<int32_t>(GetU32(raw + 4));
  out.commit_log_offset = static_cast<int64_t>(GetU64(raw + 8));
  return out;
}

MessageToStore CopyOfRecord(const RecordView& record, std::string_view topic, int32_t queue_id,
                            std::string_view properties) {
  MessageToStore copy;
  copy.topic = topic;
  copy.queue_id = queue_id;
  copy.flag = record.flag;
  copy.body = record.body;
  copy.properties = properties;
  copy.sys_flag = record.sys_flag;
  copy.born_timestamp_ms = record.born_timestamp_ms;
  copy.born_ipv4 = record.born_ipv4;
  copy.born_port = record.born_port;
  copy.reconsume_times = record.reconsume_times;
  copy.prepared_transaction_offset = record.prepared_transaction_offset;
  return copy;
}

}  // namespace apogee::store
