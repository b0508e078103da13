#pragma once

// Messages as clients see them, and the binary bodies that carry them: the SEND_BATCH_MESSAGE
// body a producer sends, and the stored records a PULL_MESSAGE, QUERY_MESSAGE or
// VIEW_MESSAGE_BY_ID answer carries (/work/shared/rocketmq-protocol.md sections 3 and 4).

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace apogee::protocol {

// Property names (MessageConst.java) that the broker and the clients read or write.
namespace property {
inline constexpr char kTags[] = "TAGS";
inline constexpr char kKeys[] = "KEYS";         // space separated
inline constexpr char kUniqKey[] = "UNIQ_KEY";  // the client's message id
inline constexpr char kWait[] = "WAIT";         // "false": answer before the flush
inline constexpr char kDelay[] = "DELAY";       // delay level, 1-based
inline constexpr char kRetryTopic[] = "RETRY_TOPIC";
inline constexpr char kRealTopic[] = "REAL_TOPIC";
inline constexpr char kRealQueueId[] = "REAL_QID";
inline constexpr char kOriginMessageId[] = "ORIGIN_MESSAGE_ID";
inline constexpr char kReconsumeTime[] = "RECONSUME_TIME";
inline constexpr char kMaxReconsumeTimes[] = "MAX_RECONSUME_TIMES";
inline constexpr char kMinOffset[] = "MIN_OFFSET";
inline constexpr char kMaxOffset[] = "MAX_OFFSET";
inline constexpr char kTransactionPrepared[] = "TRAN_MSG";  // "true" on a half message
inline constexpr char kProducerGroup[] = "PGROUP";
inline constexpr char kConsumeStartTime[] = "CONSUME_START_TIME";
inline constexpr char kCluster[] = "CLUSTER";
inline constexpr char kTransactionCheckTimes[] = "TRANSACTION_CHECK_TIMES";
inline constexpr char kCheckImmunityTimeInSeconds[] = "CHECK_IMMUNITY_TIME_IN_SECONDS";
inline constexpr char kTransactionPreparedQueueOffset[] = "TRAN_PREPARED_QUEUE_OFFSET";
inline constexpr char kTransactionId[] = "__transactionId__";
// The store's own record CRC property (store::kRecordCrcProperty) never reaches a Message.
}  // namespace property

struct Message {
  std::string topic;
  int32_t flag = 0;
  std::map<std::string, std::string> properties;
  std::vector<uint8_t> body;

  // The property's value, or "" when absent.
  std::string Property(std::string_view name) const;
  bool HasProperty(std::string_view name) const;
  void SetProperty(std::string name, std::string value);
  void ClearProperty(std::string_view name);

  std::string Tags() const { return Property(property::kTags); }
  void SetTags(std::string tags) { SetProperty(property::kTags, std::move(tags)); }
  std::string Keys() const { return Property(property::kKeys); }
  // The keys, split on spaces (empty words dropped).
  std::vector<std::string> KeyList() const;
  void SetKeys(std::string keys) { SetProperty(property::kKeys, std::move(keys)); }
  // Joins `keys` with spaces.
  void SetKeys(const std::vector<std::string>& keys);
  std::string UniqKey() const { return Property(property::kUniqKey); }
  void SetUniqKey(std::string id) { SetProperty(property::kUniqKey, std::move(id)); }
  // The delay level, or 0 when absent or not a number (as the broker treats it).
  int32_t DelayLevel() const;
  // Level 0 removes the property.
  void SetDelayLevel(int32_t level);
  // False only when WAIT is "false": the producer does not wait for the flush.
  bool WaitStoreMsgOk() const;

  bool operator==(const Message& other) const = default;
};

// A message as it comes out of the store.
struct MessageExt : Message {
  int32_t queue_id = 0;
  int32_t store_size = 0;
  int64_t queue_offset = 0;
  int32_t sys_flag = 0;
  int64_t born_timestamp = 0;  // ms
  uint32_t born_ipv4 = 0;
  int32_t born_port = 0;
  int64_t store_timestamp = 0;  // ms
  uint32_t store_ipv4 = 0;
  int32_t store_port = 0;
  std::string msg_id;         // UNIQ_KEY when present, else offset_msg_id
  std::string offset_msg_id;  // store host + commit log offset, in hex
  int64_t commit_log_offset = 0;
  int32_t body_crc = 0;
  int32_t reconsume_times = 0;
  int64_t prepared_transaction_offset = 0;

  // "a.b.c.d:port".
  std::string BornHost() const;
  std::string StoreHost() const;

  bool operator==(const MessageExt& other) const = default;
};

// The largest record DecodeMessages accepts: a frame cannot hold more.
inline constexpr uint32_t kDecodedRecordBytesMax = 16 * 1024 * 1024;

// Decodes the stored records of a PULL_MESSAGE, QUERY_MESSAGE or VIEW_MESSAGE_BY_ID answer,
// back to back, verifying each record's magic, lengths and CRC. The store's CRC property is not
// part of the decoded properties. Bodies are returned as stored (a compressed body, sysFlag bit
// 0x1, stays compressed). On any bad or truncated record returns kCorruption naming its byte
// position in `body`; never reads outside `body`.
Result<std::vector<MessageExt>> DecodeMessages(std::span<const uint8_t> body);

// --- SEND_BATCH_MESSAGE body: per message, big-endian ---
//   int32 total (this field included) | int32 magic (0) | int32 body CRC (0) | int32 flag |
//   int32 body length | body | int16 properties length | properties
inline constexpr size_t kBatchItemFixedBytes = 4 + 4 + 4 + 4 + 4 + 2;
inline constexpr size_t kBatchPropertiesBytesMax = 32'767;  // int16 length

// Encodes the messages of a batch (their topics are not part of it: the header carries one).
// REQUIRES: each message's encoded properties fit kBatchPropertiesBytesMax, its body fits an
// int32 length, and no property name or value contains \x01 or \x02.
std::vector<uint8_t> EncodeBatch(const std::vector<Message>& messages);

// Decodes a batch body; the messages have no topic. kMalformed on any length that does not fit
// (a total below the fixed part or beyond the bytes left, a negative length, lengths that do not
// add up to the total); never reads outside `body`. The magic and CRC words are not checked, as
// RocketMQ does not check them. An empty body is an empty batch.
Result<std::vector<Message>> DecodeBatch(std::span<const uint8_t> body);

// Properties as the send header's `properties` field carries them: name\x01value\x02...
// (sorted by name). Decoding skips pairs without \x01 and tolerates a trailing \x02; a repeated
// name keeps its last value.
std::string EncodeMessageProperties(const std::map<std::string, std::string>& properties);
std::map<std::string, std::string> DecodeMessageProperties(std::string_view text);

}  // namespace apogee::protocol
