#pragma once

// The JSON bodies of RocketMQ 4.x requests and answers: route data, broker registration,
// heartbeats, queue locks and name lists (/work/shared/rocketmq-protocol.md section 3).
//
// Every body type has
//   std::string ToJson() const                    standard JSON, quoted keys, member names as
//                                                 fastjson writes them for the Java class;
//   static Result<T> FromJson(std::string_view)   kMalformed naming the offending member by path
//                                                 ("HeartbeatData.consumerDataSet[0].messageModel:
//                                                 ...") when the text is not such a body;
// and the JsonValue forms the two are built on, for nesting.
//
// Reading is as tolerant as fastjson is with what real clients send (see json_fields.h): numbers
// as strings and back, bare numeric map keys (`{0:"addr"}`), unknown and null members, absent
// optional members (they keep the Java field's default). Enums are written as their Java names
// and read from the name or from the Java ordinal, which rocketmq-client-cpp sends. Values are
// checked for type and range only: whether a queue count makes sense is the handler's call.

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/protocol/codes.h"
#include "core/protocol/json_fields.h"
#include "core/remoting/json.h"

namespace apogee::protocol {

// Declares the JSON members of a body type T.
#define APOGEE_JSON_BODY(T)                                                           \
  JsonValue ToJsonValue() const;                                                      \
  static Result<T> FromJsonValue(const JsonValue& v, const std::string& path);        \
  std::string ToJson() const { return WriteJson(ToJsonValue()); }                     \
  static Result<T> FromJson(std::string_view text) { return ParseBody<T>(text, #T); } \
  bool operator==(const T& other) const = default

// Parses `text` as a JSON object and decodes it with T::FromJsonValue, `name` as the root path.
template <typename T>
Result<T> ParseBody(std::string_view text, std::string_view name);

// --- Topics and broker registration ---

inline constexpr int32_t kDefaultReadQueueNums = 16;
inline constexpr int32_t kDefaultWriteQueueNums = 16;
inline constexpr char kTopicFilterSingleTag[] = "SINGLE_TAG";
inline constexpr char kTopicFilterMultiTag[] = "MULTI_TAG";

// TopicConfig.java: one topic as a broker keeps it.
struct TopicConfig {
  std::string topic_name;                                 // "topicName"
  int32_t read_queue_nums = kDefaultReadQueueNums;        // "readQueueNums"
  int32_t write_queue_nums = kDefaultWriteQueueNums;      // "writeQueueNums"
  int32_t perm = kPermRead | kPermWrite;                  // "perm"
  std::string topic_filter_type = kTopicFilterSingleTag;  // "topicFilterType"
  int32_t topic_sys_flag = 0;                             // "topicSysFlag"
  bool order = false;                                     // "order"
  APOGEE_JSON_BODY(TopicConfig);
};

// DataVersion.java: when a broker's topic table last changed.
struct DataVersion {
  int64_t timestamp = 0;  // ms
  int64_t counter = 0;
  APOGEE_JSON_BODY(DataVersion);
};

// TopicConfigSerializeWrapper.java. A table entry without "topicName" takes its key.
struct TopicConfigSerializeWrapper {
  std::map<std::string, TopicConfig> topic_config_table;  // "topicConfigTable"
  DataVersion data_version;                               // "dataVersion"
  APOGEE_JSON_BODY(TopicConfigSerializeWrapper);
};

// RegisterBrokerBody.java, the body of REGISTER_BROKER (uncompressed form).
struct RegisterBrokerBody {
  TopicConfigSerializeWrapper topic_config_serialize_wrapper;  // "topicConfigSerializeWrapper"
  std::vector<std::string> filter_server_list;                 // "filterServerList"
  APOGEE_JSON_BODY(RegisterBrokerBody);
};

// --- Routes (GET_ROUTEINFO_BY_TOPIC, GET_BROKER_CLUSTER_INFO) ---

// QueueData.java: a topic's queues on one broker. RocketMQ 4.x names the flag member
// "topicSynFlag" (sic; 5.x renamed it "topicSysFlag"): it is written under the 4.x name, and
// either name is read.
struct QueueData {
  std::string broker_name;
  int32_t read_queue_nums = 0;
  int32_t write_queue_nums = 0;
  int32_t perm = 0;
  int32_t topic_sys_flag = 0;
  APOGEE_JSON_BODY(QueueData);
};

// BrokerData.java: one broker group; brokerAddrs maps broker id (0 = master) to "ip:port".
struct BrokerData {
  std::string cluster;
  std::string broker_name;
  std::map<int64_t, std::string> broker_addrs;
  // The master's address, if the group has one.
  std::optional<std::string> MasterAddr() const;
  APOGEE_JSON_BODY(BrokerData);
};

// TopicRouteData.java, the answer to GET_ROUTEINFO_BY_TOPIC.
struct TopicRouteData {
  std::optional<std::string> order_topic_conf;                          // "orderTopicConf"
  std::vector<QueueData> queue_datas;                                   // "queueDatas"
  std::vector<BrokerData> broker_datas;                                 // "brokerDatas"
  std::map<std::string, std::vector<std::string>> filter_server_table;  // "filterServerTable"
  APOGEE_JSON_BODY(TopicRouteData);
};

// ClusterInfo.java, the answer to GET_BROKER_CLUSTER_INFO.
struct ClusterInfo {
  std::map<std::string, BrokerData> broker_addr_table;              // broker name -> group
  std::map<std::string, std::set<std::string>> cluster_addr_table;  // cluster -> broker names
  APOGEE_JSON_BODY(ClusterInfo);
};

// --- Heartbeats (HEART_BEAT) ---

inline constexpr char kSubscribeAll[] = "*";
inline constexpr char kExpressionTypeTag[] = "TAG";

// SubscriptionData.java: what one consumer group takes from one topic.
struct SubscriptionData {
  std::string topic;
  std::string sub_string = kSubscribeAll;            // "subString"
  std::set<std::string> tags_set;                    // "tagsSet"
  std::set<int32_t> code_set;                        // "codeSet": Java hash codes of the tags
  int64_t sub_version = 0;                           // "subVersion"
  std::string expression_type = kExpressionTypeTag;  // "expressionType"
  bool class_filter_mode = false;                    // "classFilterMode"
  APOGEE_JSON_BODY(SubscriptionData);
};

// The subscription a Java client builds for `sub_string` (FilterAPI.buildSubscriptionData):
// "*" or empty subscribes to everything; otherwise the expression is split on "||", each part
// trimmed, and every non-empty tag goes to tags_set with its Java String.hashCode() in code_set.
// An expression made of separators only ("||") is kMalformed, as the Java client refuses it.
// `sub_version` is the client's clock reading (Java uses currentTimeMillis).
Result<SubscriptionData> BuildSubscriptionData(std::string topic, std::string_view sub_string,
                                               int64_t sub_version);

// The enums carry their Java ordinals: rocketmq-client-cpp sends those instead of names.
enum class ConsumeType : int32_t { kConsumeActively = 0, kConsumePassively = 1 };
enum class MessageModel : int32_t { kBroadcasting = 0, kClustering = 1 };
enum class ConsumeFromWhere : int32_t {
  kLastOffset = 0,
  kLastOffsetAndFromMinWhenBootFirst = 1,  // deprecated in Java, still accepted
  kMinOffset = 2,                          // deprecated
  kMaxOffset = 3,                          // deprecated
  kFirstOffset = 4,
  kTimestamp = 5,
};

// Java names ("CONSUME_PASSIVELY", "CLUSTERING", "CONSUME_FROM_LAST_OFFSET", ...).
std::string_view ToString(ConsumeType v);
std::string_view ToString(MessageModel v);
std::string_view ToString(ConsumeFromWhere v);
// From the Java name; anything else is kMalformed.
Result<ConsumeType> ParseConsumeType(std::string_view name);
Result<MessageModel> ParseMessageModel(std::string_view name);
Result<ConsumeFromWhere> ParseConsumeFromWhere(std::string_view name);

// ConsumerData.java: one consumer group of a client.
struct ConsumerData {
  std::string group_name;                                               // "groupName"
  ConsumeType consume_type = ConsumeType::kConsumePassively;            // "consumeType"
  MessageModel message_model = MessageModel::kClustering;               // "messageModel"
  ConsumeFromWhere consume_from_where = ConsumeFromWhere::kLastOffset;  // "consumeFromWhere"
  std::vector<SubscriptionData> subscription_data_set;                  // "subscriptionDataSet"
  bool unit_mode = false;                                               // "unitMode"
  APOGEE_JSON_BODY(ConsumerData);
};

// ProducerData.java: one producer group of a client.
struct ProducerData {
  std::string group_name;  // "groupName"
  APOGEE_JSON_BODY(ProducerData);
};

// HeartbeatData.java, the body of HEART_BEAT.
struct HeartbeatData {
  std::string client_id;                        // "clientID"
  std::vector<ProducerData> producer_data_set;  // "producerDataSet"
  std::vector<ConsumerData> consumer_data_set;  // "consumerDataSet"
  APOGEE_JSON_BODY(HeartbeatData);
};

// --- Consumer groups, queues and locks ---

// GetConsumerListByGroupResponseBody.java.
struct ConsumerListBody {
  std::vector<std::string> consumer_id_list;  // "consumerIdList"
  APOGEE_JSON_BODY(ConsumerListBody);
};

// MessageQueue.java: ordered by topic, then broker name, then queue id, as Java compares them.
struct MessageQueue {
  std::string topic;
  std::string broker_name;  // "brokerName"
  int32_t queue_id = 0;     // "queueId"
  // "MessageQueue [topic=T, brokerName=broker-a, queueId=3]", as Java prints it.
  std::string ToString() const;
  auto operator<=>(const MessageQueue& other) const = default;
  APOGEE_JSON_BODY(MessageQueue);
};

// LockBatchRequestBody.java, the body of LOCK_BATCH_MQ.
struct LockBatchRequestBody {
  std::string consumer_group;     // "consumerGroup"
  std::string client_id;          // "clientId"
  std::set<MessageQueue> mq_set;  // "mqSet"
  APOGEE_JSON_BODY(LockBatchRequestBody);
};

// LockBatchResponseBody.java: the queues the lock was granted for.
struct LockBatchResponseBody {
  std::set<MessageQueue> lock_ok_mq_set;  // "lockOKMQSet"
  APOGEE_JSON_BODY(LockBatchResponseBody);
};

// UnlockBatchRequestBody.java, the body of UNLOCK_BATCH_MQ.
struct UnlockBatchRequestBody {
  std::string consumer_group;     // "consumerGroup"
  std::string client_id;          // "clientId"
  std::set<MessageQueue> mq_set;  // "mqSet"
  APOGEE_JSON_BODY(UnlockBatchRequestBody);
};

// GroupList.java.
struct GroupList {
  std::set<std::string> group_list;  // "groupList"
  APOGEE_JSON_BODY(GroupList);
};

// TopicList.java.
struct TopicList {
  std::set<std::string> topic_list;        // "topicList"
  std::optional<std::string> broker_addr;  // "brokerAddr"
  APOGEE_JSON_BODY(TopicList);
};

#undef APOGEE_JSON_BODY

// --- Implementation of the template above ---

template <typename T>
Result<T> ParseBody(std::string_view text, std::string_view name) {
  APOGEE_ASSIGN_OR_RETURN(JsonValue v, ParseJsonObject(text, name));
  return T::FromJsonValue(v, std::string(name));
}

}  // namespace apogee::protocol
