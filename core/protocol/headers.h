#pragma once

// The request and response headers of the RocketMQ requests Apogee speaks
// (/work/shared/rocketmq-protocol.md section 3). Each struct is one Java *Header class: Decode
// reads it from a command's extFields (required fields missing or malformed give
// kInvalidArgument naming the field; unknown fields are ignored), Encode writes every field it
// holds, optional ones only when set.

#include <cstdint>
#include <optional>
#include <string>

#include "core/base/status.h"
#include "core/protocol/fields.h"
#include "core/remoting/command.h"

namespace apogee::protocol {

// A request command with `code` and extFields `fields` (JSON header, language CPP... as set).
RemotingCommand MakeRequest(int32_t code, ExtFields fields = {}, std::vector<uint8_t> body = {});
// A response (not yet matched to an opaque: the connection does that) with `code` and `remark`.
RemotingCommand MakeResponseCommand(int32_t code, std::string remark = {}, ExtFields fields = {});

// SEND_MESSAGE (long names), SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE (short names a..n).
struct SendMessageRequestHeader {
  std::string producer_group;
  std::string topic;
  std::string default_topic = "TBW102";
  int32_t default_topic_queue_nums = 4;
  int32_t queue_id = 0;
  int32_t sys_flag = 0;
  int64_t born_timestamp = 0;
  int32_t flag = 0;
  std::string properties;  // key\x01value\x02...
  int32_t reconsume_times = 0;
  bool unit_mode = false;
  bool batch = false;
  std::optional<int32_t> max_reconsume_times;
  std::optional<std::string> broker_name;

  // Reads long names for SEND_MESSAGE and short names for the other two codes.
  static Result<SendMessageRequestHeader> Decode(const RemotingCommand& request);
  // Writes short names when `short_names` (V2 and batch), long names otherwise.
  void Encode(ExtFields& fields, bool short_names) const;
};

struct SendMessageResponseHeader {
  std::string msg_id;  // the offsetMsgId
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  std::optional<std::string> transaction_id;

  static Result<SendMessageResponseHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

struct PullMessageRequestHeader {
  std::string consumer_group;
  std::string topic;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  int32_t max_msg_nums = 32;
  int32_t sys_flag = 0;
  int64_t commit_offset = 0;
  int64_t suspend_timeout_millis = 0;
  std::optional<std::string> subscription;
  int64_t sub_version = 0;
  std::optional<std::string> expression_type;

  static Result<PullMessageRequestHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

struct PullMessageResponseHeader {
  int64_t suggest_which_broker_id = 0;
  int64_t next_begin_offset = 0;
  int64_t min_offset = 0;
  int64_t max_offset = 0;

  static Result<PullMessageResponseHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

// QUERY_CONSUMER_OFFSET.
struct QueryConsumerOffsetRequestHeader {
  std::string consumer_group;
  std::string topic;
  int32_t queue_id = 0;

  static Result<QueryConsumerOffsetRequestHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

// UPDATE_CONSUMER_OFFSET.
struct UpdateConsumerOffsetRequestHeader {
  std::string consumer_group;
  std::string topic;
  int32_t queue_id = 0;
  int64_t commit_offset = 0;

  static Result<UpdateConsumerOffsetRequestHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

// GET_MAX_OFFSET and GET_MIN_OFFSET.
struct QueueRequestHeader {
  std::string topic;
  int32_t queue_id = 0;

  static Result<QueueRequestHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

// SEARCH_OFFSET_BY_TIMESTAMP.
struct SearchOffsetRequestHeader {
  std::string topic;
  int32_t queue_id = 0;
  int64_t timestamp = 0;  // ms since the epoch

  static Result<SearchOffsetRequestHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

// The answer of QUERY_CONSUMER_OFFSET, GET_MAX/MIN_OFFSET and SEARCH_OFFSET_BY_TIMESTAMP.
struct OffsetResponseHeader {
  int64_t offset = 0;

  static Result<OffsetResponseHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

// GET_CONSUMER_LIST_BY_GROUP and NOTIFY_CONSUMER_IDS_CHANGED.
struct ConsumerGroupHeader {
  std::string consumer_group;

  static Result<ConsumerGroupHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

// CONSUMER_SEND_MSG_BACK.
struct ConsumerSendMsgBackRequestHeader {
  int64_t offset = 0;  // commit log offset of the message
  std::string group;
  int32_t delay_level = 0;
  std::optional<std::string> origin_msg_id;
  std::optional<std::string> origin_topic;
  bool unit_mode = false;
  std::optional<int32_t> max_reconsume_times;

  static Result<ConsumerSendMsgBackRequestHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

// UNREGISTER_CLIENT.
struct UnregisterClientRequestHeader {
  std::string client_id;
  std::optional<std::string> producer_group;
  std::optional<std::string> consumer_group;

  static Result<UnregisterClientRequestHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

// UPDATE_AND_CREATE_TOPIC.
struct CreateTopicRequestHeader {
  std::string topic;
  std::string default_topic = "TBW102";
  int32_t read_queue_nums = 16;
  int32_t write_queue_nums = 16;
  int32_t perm = 6;
  std::string topic_filter_type = "SINGLE_TAG";
  int32_t topic_sys_flag = 0;
  bool order = false;

  static Result<CreateTopicRequestHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

// GET_ROUTEINFO_BY_TOPIC.
struct GetRouteInfoRequestHeader {
  std::string topic;

  static Result<GetRouteInfoRequestHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

// REGISTER_BROKER (the body is a RegisterBrokerBody).
struct RegisterBrokerRequestHeader {
  std::string broker_name;
  std::string broker_addr;
  std::string cluster_name;
  std::string ha_server_addr;
  int64_t broker_id = 0;
  bool compressed = false;
  std::optional<int32_t> body_crc32;

  static Result<RegisterBrokerRequestHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

struct RegisterBrokerResponseHeader {
  std::optional<std::string> ha_server_addr;
  std::optional<std::string> master_addr;

  static Result<RegisterBrokerResponseHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

// UNREGISTER_BROKER.
struct UnregisterBrokerRequestHeader {
  std::string broker_name;
  std::string broker_addr;
  std::string cluster_name;
  int64_t broker_id = 0;

  static Result<UnregisterBrokerRequestHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

// QUERY_MESSAGE: up to max_num messages whose KEYS or UNIQ_KEY is `key`, stored in
// [begin_timestamp, end_timestamp].
struct QueryMessageRequestHeader {
  std::string topic;
  std::string key;
  int32_t max_num = 32;
  int64_t begin_timestamp = 0;
  int64_t end_timestamp = 0;

  static Result<QueryMessageRequestHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

struct QueryMessageResponseHeader {
  int64_t index_last_update_timestamp = 0;
  int64_t index_last_update_phyoffset = 0;

  static Result<QueryMessageResponseHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

// VIEW_MESSAGE_BY_ID: the commit log offset decoded from an offsetMsgId.
struct ViewMessageRequestHeader {
  int64_t offset = 0;

  static Result<ViewMessageRequestHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

}  // namespace apogee::protocol
