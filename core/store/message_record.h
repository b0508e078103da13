#pragma once

// The stored message record: RocketMQ 4.x's layout, byte for byte, so a pull answer is the
// records copied straight out of the commit log (see docs/storage-format.md).
//
//   offset  field                         type
//   0       TOTALSIZE                     int32   whole record, this field included
//   4       MAGICCODE                     int32   kMessageMagic (kBlankMagic: end of segment)
//   8       BODYCRC                       int32   CRC32(body) & 0x7FFFFFFF
//   12      QUEUEID                       int32
//   16      FLAG                          int32
//   20      QUEUEOFFSET                   int64   index in the consume queue
//   28      PHYSICALOFFSET                int64   byte offset of this record in the commit log
//   36      SYSFLAG                       int32
//   40      BORNTIMESTAMP                 int64   ms
//   48      BORNHOST                      4-byte IPv4 + int32 port
//   56      STORETIMESTAMP                int64   ms
//   64      STOREHOSTADDRESS              4-byte IPv4 + int32 port
//   72      RECONSUMETIMES                int32
//   76      PREPARED_TRANSACTION_OFFSET   int64
//   84      BODY                          int32 length + bytes
//   ..      TOPIC                         uint8 length + bytes
//   ..      PROPERTIES                    int16 length + bytes
//
// All integers are big-endian. Apogee stores IPv4 hosts only: the IPv6 sysFlag bits are never
// written, and a record that claims them is rejected as corrupt.
//
// Whole-record CRC: BODYCRC covers the body only (as in RocketMQ), so a torn sector or a
// flipped bit in the header, topic or properties would go unseen. Apogee therefore ends every
// record's properties with one more property, `__CRC32#` = ten decimal digits (zero-padded) of
// CRC32 over every byte of the record before those digits (RocketMQ 5's PROPERTY_CRC32 has the
// same shape). A 4.x client sees it as one more user property. Decoding with verify_crc checks
// the record CRC (which covers the body and BODYCRC too), the magic, that TOTALSIZE is within
// limits and equals the sum of the field lengths, and that PHYSICALOFFSET names the position the
// record was read from; readers through a consume queue also check QUEUEID and QUEUEOFFSET.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/status.h"

namespace apogee::store {

inline constexpr uint32_t kMessageMagic = 0xDAA320A7;
inline constexpr uint32_t kBlankMagic = 0xCBD43194;
// A segment always keeps room for the blank record that ends it [END_FILE_MIN_BLANK_LENGTH].
inline constexpr uint32_t kBlankRecordBytes = 8;
// Everything but the body, topic and properties bytes: 84 fixed + 4 + 1 + 2 length fields.
inline constexpr uint32_t kRecordFixedBytes = 91;
inline constexpr uint32_t kTopicBytesMax = 127;          // uint8 length, Java Byte.MAX_VALUE
inline constexpr uint32_t kPropertiesBytesMax = 32'767;  // int16 length, Java Short.MAX_VALUE
inline constexpr std::string_view kRecordCrcProperty = "__CRC32#";
inline constexpr uint32_t kRecordCrcDigits = 10;
// The bytes the CRC property adds: "\x02" (when there are other properties) + name + "\x01" +
// digits. Producers' properties may use kPropertiesBytesMax minus the largest of these.
inline constexpr uint32_t kRecordCrcPropertyBytesMax = 1 + 8 + 1 + kRecordCrcDigits;

// Field offsets within a record.
inline constexpr size_t kOffTotalSize = 0;
inline constexpr size_t kOffMagic = 4;
inline constexpr size_t kOffBodyCrc = 8;
inline constexpr size_t kOffQueueId = 12;
inline constexpr size_t kOffFlag = 16;
inline constexpr size_t kOffQueueOffset = 20;
inline constexpr size_t kOffPhysicalOffset = 28;
inline constexpr size_t kOffSysFlag = 36;
inline constexpr size_t kOffBornTimestamp = 40;
inline constexpr size_t kOffBornHost = 48;
inline constexpr size_t kOffStoreTimestamp = 56;
inline constexpr size_t kOffStoreHost = 64;
inline constexpr size_t kOffReconsumeTimes = 72;
inline constexpr size_t kOffPreparedOffset = 76;
inline constexpr size_t kOffBodyLength = 84;

// Message sysFlag bits.
inline constexpr int32_t kSysFlagCompressed = 0x1;
inline constexpr int32_t kSysFlagMultiTags = 0x2;
inline constexpr int32_t kSysFlagTransactionPrepared = 0x4;
inline constexpr int32_t kSysFlagTransactionCommit = 0x8;
inline constexpr int32_t kSysFlagTransactionRollback = 0xC;
inline constexpr int32_t kSysFlagTransactionMask = 0xC;
inline constexpr int32_t kSysFlagBornHostV6 = 0x10;
inline constexpr int32_t kSysFlagStoreHostV6 = 0x20;

// What a producer hands the store; the store adds offsets, store time and store host.
struct MessageToStore {
  std::string_view topic;
  int32_t queue_id = 0;
  int32_t flag = 0;
  std::span<const uint8_t> body;
  std::string_view properties;  // encoded: key\x01value\x02...
  int32_t sys_flag = 0;
  int64_t born_timestamp_ms = 0;
  uint32_t born_ipv4 = 0;
  int32_t born_port = 0;
  int32_t reconsume_times = 0;
  int64_t prepared_transaction_offset = 0;
};

// A decoded record. Views point into the bytes it was decoded from.
struct RecordView {
  uint32_t total_size = 0;
  uint32_t body_crc = 0;
  int32_t queue_id = 0;
  int32_t flag = 0;
  int64_t queue_offset = 0;
  int64_t physical_offset = 0;
  int32_t sys_flag = 0;
  int64_t born_timestamp_ms = 0;
  uint32_t born_ipv4 = 0;
  int32_t born_port = 0;
  int64_t store_timestamp_ms = 0;
  uint32_t store_ipv4 = 0;
  int32_t store_port = 0;
  int32_t reconsume_times = 0;
  int64_t prepared_transaction_offset = 0;
  std::span<const uint8_t> body;
  std::string_view topic;
  std::string_view properties;  // the producer's properties, without the CRC property
};

// The size of a record with these field lengths, `properties_bytes` including the CRC
// property. No limits are checked here.
inline uint64_t StoredRecordSize(size_t body_bytes, size_t topic_bytes, size_t properties_bytes) {
  return uint64_t{kRecordFixedBytes} + body_bytes + topic_bytes + properties_bytes;
}
// The size of the CRC property after `properties_bytes` of producer properties.
inline uint32_t RecordCrcPropertyBytes(size_t properties_bytes) {
  return properties_bytes == 0 ? kRecordCrcPropertyBytesMax - 1 : kRecordCrcPropertyBytesMax;
}

// The size of the record the store writes for `message` (its CRC property included).
uint64_t RecordSizeOf(const MessageToStore& message);

// Why a message cannot be stored, or OK. Mirrors RocketMQ's MESSAGE_ILLEGAL and
// PROPERTIES_SIZE_EXCEEDED checks: empty or over-long topic, properties over kPropertiesBytesMax
// (kResourceExhausted), a record over message_bytes_max (kInvalidArgument), IPv6 flags.
Status ValidateMessage(const MessageToStore& message, uint32_t message_bytes_max);

// Where the store puts a record and what it stamps on it.
struct RecordPlacement {
  int64_t queue_offset = 0;
  int64_t physical_offset = 0;
  int64_t store_timestamp_ms = 0;
  uint32_t store_ipv4 = 0;
  int32_t store_port = 0;
};

// A message that stores `record` again under `topic` and `queue_id` with `properties`: the body,
// flag, sys flag, born timestamp and host, reconsume times and prepared transaction offset are
// the record's. How the broker moves a message (a delayed message reaching its topic, a retry).
// Views: the result points into `record`'s bytes and into `topic` and `properties`.
MessageToStore CopyOfRecord(const RecordView& record, std::string_view topic, int32_t queue_id,
                            std::string_view properties);

// Writes the record, with its CRC property, into `out`, which must be RecordSizeOf() bytes.
// REQUIRES: ValidateMessage(message, ...) is OK.
void EncodeRecord(const MessageToStore& message, const RecordPlacement& placement,
                  std::span<uint8_t> out);

// The blank record that fills the rest of a segment: [remaining bytes, kBlankMagic].
void EncodeBlankRecord(uint32_t remaining_bytes, std::span<uint8_t> out);

enum class RecordKind : uint8_t {
  kMessage,     // a valid record; `view` is set
  kBlank,       // the end-of-segment blank record; `size` is what it covers
  kIncomplete,  // fewer bytes than the record needs: at the end of the log, a torn tail
  kCorrupt,     // bad magic, size, lengths, offset or CRC; `error` says which
};

struct DecodedRecord {
  RecordKind kind = RecordKind::kCorrupt;
  uint32_t size = 0;  // bytes the record covers (message or blank)
  RecordView view;
  std::string error;
};

// Decodes and validates the record at the start of `data`, which was read from commit log
// offset `physical_offset`. `verify_crc` recomputes the record CRC (recovery and every read do; the
// writer's own dispatch, which just encoded the bytes, may skip it).
DecodedRecord DecodeRecord(std::span<const uint8_t> data, int64_t physical_offset,
                           uint32_t message_bytes_max, bool verify_crc);

// --- Properties: key\x01value\x02key\x01value (a trailing \x02 is tolerated) ---

inline constexpr char kNameValueSeparator = '\x01';
inline constexpr std::string_view kPropertyTags = "TAGS";
inline constexpr std::string_view kPropertyKeys = "KEYS";  // space separated
inline constexpr std::string_view kPropertyUniqKey = "UNIQ_KEY";
inline constexpr std::string_view kPropertyWait = "WAIT";  // "false": do not wait for the flush
inline constexpr char kPropertySeparator = '\x02';

// The value of `key`, if present. Later duplicates win, as in Java's HashMap.
std::optional<std::string_view> FindProperty(std::string_view properties, std::string_view key);
// Every key and value in order. Malformed pairs (no \x01) are skipped.
std::vector<std::pair<std::string_view, std::string_view>> ParseProperties(
    std::string_view properties);
std::string EncodeProperties(const std::vector<std::pair<std::string, std::string>>& properties);

// Calls fn(word) for each non-empty space-separated word of a KEYS value, in order.
template <typename F>
void ForEachKey(std::string_view keys, F fn) {
  size_t pos = 0;
  while (pos < keys.size()) {
    size_t end = keys.find(' ', pos);
    if (end == std::string_view::npos) end = keys.size();
    if (end > pos) fn(keys.substr(pos, end - pos));
    pos = end + 1;
  }
}

// Half and rolled-back transaction messages are stored in the log but never reach a consume
// queue (and take no queue offset).
inline bool IsConsumable(int32_t sys_flag) {
  int32_t tx = sys_flag & kSysFlagTransactionMask;
  return tx != kSysFlagTransactionPrepared && tx != kSysFlagTransactionRollback;
}

// Tag hash code for the consume queue: Java String.hashCode() of TAGS, 0 without tags.
int64_t TagsCode(std::string_view properties);

// --- offsetMsgId: uppercase hex of store IPv4 (4) + store port (int32) + commit log offset ---

std::string MakeOffsetMsgId(uint32_t store_ipv4, int32_t store_port, int64_t commit_log_offset);
struct OffsetMsgId {
  uint32_t store_ipv4 = 0;
  int32_t store_port = 0;
  int64_t commit_log_offset = 0;
};
// kInvalidArgument unless it is 32 hex digits.
Result<OffsetMsgId> ParseOffsetMsgId(std::string_view id);

}  // namespace apogee::store
