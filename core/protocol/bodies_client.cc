// Client bodies (bodies.h): subscriptions and heartbeats, consumer lists, message queues and
// their locks, name lists.

#include <fmt/format.h>

#include <array>
#include <utility>

#include "core/base/java_hash.h"
#include "core/protocol/bodies.h"

namespace apogee::protocol {

namespace {

// Enum names indexed by Java ordinal.
constexpr std::array<std::string_view, 2> kConsumeTypeNames = {"CONSUME_ACTIVELY",
                                                               "CONSUME_PASSIVELY"};
constexpr std::array<std::string_view, 2> kMessageModelNames = {"BROADCASTING", "CLUSTERING"};
constexpr std::array<std::string_view, 6> kConsumeFromWhereNames = {
    "CONSUME_FROM_LAST_OFFSET",  "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
    "CONSUME_FROM_MIN_OFFSET",   "CONSUME_FROM_MAX_OFFSET",
    "CONSUME_FROM_FIRST_OFFSET", "CONSUME_FROM_TIMESTAMP"};

template <typename E, size_t N>
std::string_view EnumName(const std::array<std::string_view, N>& names, E v) {
  auto i = static_cast<size_t>(v);
  APOGEE_ASSERT(i < N, "enum value {} out of range", i);
  return names[i];
}

template <typename E, size_t N>
Result<E> EnumFromName(const std::array<std::string_view, N>& names, std::string_view name,
                       std::string_view type) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<E>(i);
  }
  return Status(ErrorCode::kMalformed, fmt::format("'{}' is not a {}", name.substr(0, 64), type));
}

// Reads an enum member from its Java name or its Java ordinal; absent gives `fallback`.
template <typename E, size_t N>
E ReadEnum(JsonObjectReader& r, std::string_view key, const std::array<std::string_view, N>& names,
           std::string_view type, E fallback) {
  const JsonValue* m = r.Member(key);
  if (m == nullptr) return fallback;
  if (m->is_number()) {
    Result<int64_t> i = JsonToInt(*m, r.PathOf(key), 0, static_cast<int64_t>(N) - 1);
    if (!i.ok()) {
      r.Fail(i.status());
      return fallback;
    }
    return static_cast<E>(*i);
  }
  if (!m->is_string()) {
    r.Fail(JsonError(r.PathOf(key), fmt::format("a {} name was expected", type)));
    return fallback;
  }
  Result<E> e = EnumFromName<E>(names, m->string_value(), type);
  if (!e.ok()) {
    r.Fail(JsonError(r.PathOf(key), e.status().message()));
    return fallback;
  }
  return *e;
}

// Java's String.trim(): strips every char <= ' ' from both ends.
std::string_view JavaTrim(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ') s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ') s.remove_suffix(1);
  return s;
}

JsonValue QueueSetToJson(const std::set<MessageQueue>& queues) {
  JsonValue a = JsonValue::Array();
  for (const MessageQueue& q : queues) a.Append(q.ToJsonValue());
  return a;
}

void ReadQueueSet(JsonObjectReader& r, std::string_view key, std::set<MessageQueue>* out) {
  r.ReadEach<MessageQueue>(key, [&](MessageQueue q) { out->insert(std::move(q)); });
}

std::set<std::string> ReadStringSet(JsonObjectReader& r, std::string_view key) {
  std::vector<std::string> v = r.StringArray(key);
  return std::set<std::string>(std::make_move_iterator(v.begin()),
                               std::make_move_iterator(v.end()));
}

}  // namespace

std::string_view ToString(ConsumeType v) { return EnumName(kConsumeTypeNames, v); }
std::string_view ToString(MessageModel v) { return EnumName(kMessageModelNames, v); }
std::string_view ToString(ConsumeFromWhere v) { return EnumName(kConsumeFromWhereNames, v); }

Result<ConsumeType> ParseConsumeType(std::string_view name) {
  return EnumFromName<ConsumeType>(kConsumeTypeNames, name, "ConsumeType");
}
Result<MessageModel> ParseMessageModel(std::string_view name) {
  return EnumFromName<MessageModel>(kMessageModelNames, name, "MessageModel");
}
Result<ConsumeFromWhere> ParseConsumeFromWhere(std::string_view name) {
  return EnumFromName<ConsumeFromWhere>(kConsumeFromWhereNames, name, "ConsumeFromWhere");
}

// --- SubscriptionData ---

Result<SubscriptionData> BuildSubscriptionData(std::string topic, std::string_view sub_string,
                                               int64_t sub_version) {
  SubscriptionData s;
  s.topic = std::move(topic);
  s.sub_version = sub_version;
  // sub_string starts as "*" (assigning the literal again trips GCC 12's -Wrestrict).
  APOGEE_ASSERT(s.sub_string == kSubscribeAll);
  if (sub_string.empty() || sub_string == kSubscribeAll) return s;
  s.sub_string = std::string(sub_string);
  bool any_part = false;
  size_t pos = 0;
  while (pos <= sub_string.size()) {
    size_t end = sub_string.find("||", pos);
    if (end == std::string_view::npos) end = sub_string.size();
    std::string_view part = sub_string.substr(pos, end - pos);
    if (!part.empty()) any_part = true;
    std::string_view tag = JavaTrim(part);
    if (!tag.empty()) {
      s.tags_set.emplace(tag);
      s.code_set.insert(JavaStringHash(tag));
    }
    pos = end + 2;
  }
  // Java's split drops empty parts at the end; nothing left means the split failed.
  if (!any_part) {
    return Status(ErrorCode::kMalformed, fmt::format("subscription expression '{}' has no tags",
                                                     sub_string.substr(0, 64)));
  }
  return s;
}

JsonValue SubscriptionData::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  o.Add("classFilterMode", JsonBool(class_filter_mode));
  o.Add("topic", JsonStr(topic));
  o.Add("subString", JsonStr(sub_string));
  o.Add("tagsSet", JsonStringArray(tags_set));
  JsonValue codes = JsonValue::Array();
  for (int32_t c : code_set) codes.Append(JsonInt(c));
  o.Add("codeSet", std::move(codes));
  o.Add("subVersion", JsonInt(sub_version));
  o.Add("expressionType", JsonStr(expression_type));
  return o;
}

Result<SubscriptionData> SubscriptionData::FromJsonValue(const JsonValue& v,
                                                         const std::string& path) {
  JsonObjectReader r(v, path);
  SubscriptionData s;
  s.class_filter_mode = r.Bool("classFilterMode", false);
  s.topic = r.String("topic");
  s.sub_string = r.String("subString", kSubscribeAll);
  s.tags_set = ReadStringSet(r, "tagsSet");
  if (const JsonValue* codes = r.Array("codeSet"); codes != nullptr) {
    for (size_t i = 0; i < codes->items().size() && r.ok(); ++i) {
      Result<int32_t> c = JsonToInt32(codes->items()[i], r.ItemPath("codeSet", i));
      if (c.ok()) {
        s.code_set.insert(*c);
      } else {
        r.Fail(c.status());
      }
    }
  }
  s.sub_version = r.Int64("subVersion", 0);
  s.expression_type = r.String("expressionType", kExpressionTypeTag);
  if (!r.ok()) return r.status();
  return s;
}

// --- ConsumerData, ProducerData, HeartbeatData ---

JsonValue ConsumerData::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  o.Add("groupName", JsonStr(group_name));
  o.Add("consumeType", JsonStr(std::string(ToString(consume_type))));
  o.Add("messageModel", JsonStr(std::string(ToString(message_model))));
  o.Add("consumeFromWhere", JsonStr(std::string(ToString(consume_from_where))));
  JsonValue subs = JsonValue::Array();
  for (const SubscriptionData& s : subscription_data_set) subs.Append(s.ToJsonValue());
  o.Add("subscriptionDataSet", std::move(subs));
  o.Add("unitMode", JsonBool(unit_mode));
  return o;
}

Result<ConsumerData> ConsumerData::FromJsonValue(const JsonValue& v, const std::string& path) {
  JsonObjectReader r(v, path);
  ConsumerData c;
  c.group_name = r.String("groupName");
  c.consume_type =
      ReadEnum(r, "consumeType", kConsumeTypeNames, "ConsumeType", ConsumeType::kConsumePassively);
  c.message_model =
      ReadEnum(r, "messageModel", kMessageModelNames, "MessageModel", MessageModel::kClustering);
  c.consume_from_where = ReadEnum(r, "consumeFromWhere", kConsumeFromWhereNames, "ConsumeFromWhere",
                                  ConsumeFromWhere::kLastOffset);
  r.ReadEach<SubscriptionData>("subscriptionDataSet", [&](SubscriptionData s) {
    c.subscription_data_set.push_back(std::move(s));
  });
  c.unit_mode = r.Bool("unitMode", false);
  if (!r.ok()) return r.status();
  return c;
}

JsonValue ProducerData::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  o.Add("groupName", JsonStr(group_name));
  return o;
}

Result<ProducerData> ProducerData::FromJsonValue(const JsonValue& v, const std::string& path) {
  JsonObjectReader r(v, path);
  ProducerData p;
  p.group_name = r.String("groupName");
  if (!r.ok()) return r.status();
  return p;
}

JsonValue HeartbeatData::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  o.Add("clientID", JsonStr(client_id));
  JsonValue producers = JsonValue::Array();
  for (const ProducerData& p : producer_data_set) producers.Append(p.ToJsonValue());
  o.Add("producerDataSet", std::move(producers));
  JsonValue consumers = JsonValue::Array();
  for (const ConsumerData& c : consumer_data_set) consumers.Append(c.ToJsonValue());
  o.Add("consumerDataSet", std::move(consumers));
  return o;
}

Result<HeartbeatData> HeartbeatData::FromJsonValue(const JsonValue& v, const std::string& path) {
  JsonObjectReader r(v, path);
  HeartbeatData h;
  h.client_id = r.String("clientID");
  r.ReadEach<ProducerData>("producerDataSet",
                           [&](ProducerData p) { h.producer_data_set.push_back(std::move(p)); });
  r.ReadEach<ConsumerData>("consumerDataSet",
                           [&](ConsumerData c) { h.consumer_data_set.push_back(std::move(c)); });
  if (!r.ok()) return r.status();
  return h;
}

// --- ConsumerListBody ---

JsonValue ConsumerListBody::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  o.Add("consumerIdList", JsonStringArray(consumer_id_list));
  return o;
}

Result<ConsumerListBody> ConsumerListBody::FromJsonValue(const JsonValue& v,
                                                         const std::string& path) {
  JsonObjectReader r(v, path);
  ConsumerListBody b;
  b.consumer_id_list = r.StringArray("consumerIdList");
  if (!r.ok()) return r.status();
  return b;
}

// --- MessageQueue and locks ---

std::string MessageQueue::ToString() const {
  return fmt::format("MessageQueue [topic={}, brokerName={}, queueId={}]", topic, broker_name,
                     queue_id);
}

JsonValue MessageQueue::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  o.Add("topic", JsonStr(topic));
  o.Add("brokerName", JsonStr(broker_name));
  o.Add("queueId", JsonInt(queue_id));
  return o;
}

Result<MessageQueue> MessageQueue::FromJsonValue(const JsonValue& v, const std::string& path) {
  JsonObjectReader r(v, path);
  MessageQueue q;
  q.topic = r.String("topic");
  q.broker_name = r.String("brokerName");
  q.queue_id = r.Int32("queueId");
  if (!r.ok()) return r.status();
  return q;
}

JsonValue LockBatchRequestBody::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  o.Add("consumerGroup", JsonStr(consumer_group));
  o.Add("clientId", JsonStr(client_id));
  o.Add("mqSet", QueueSetToJson(mq_set));
  return o;
}

Result<LockBatchRequestBody> LockBatchRequestBody::FromJsonValue(const JsonValue& v,
                                                                 const std::string& path) {
  JsonObjectReader r(v, path);
  LockBatchRequestBody b;
  b.consumer_group = r.String("consumerGroup");
  b.client_id = r.String("clientId");
  ReadQueueSet(r, "mqSet", &b.mq_set);
  if (!r.ok()) return r.status();
  return b;
}

JsonValue LockBatchResponseBody::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  o.Add("lockOKMQSet", QueueSetToJson(lock_ok_mq_set));
  return o;
}

Result<LockBatchResponseBody> LockBatchResponseBody::FromJsonValue(const JsonValue& v,
                                                                   const std::string& path) {
  JsonObjectReader r(v, path);
  LockBatchResponseBody b;
  ReadQueueSet(r, "lockOKMQSet", &b.lock_ok_mq_set);
  if (!r.ok()) return r.status();
  return b;
}

JsonValue UnlockBatchRequestBody::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  o.Add("consumerGroup", JsonStr(consumer_group));
  o.Add("clientId", JsonStr(client_id));
  o.Add("mqSet", QueueSetToJson(mq_set));
  return o;
}

Result<UnlockBatchRequestBody> UnlockBatchRequestBody::FromJsonValue(const JsonValue& v,
                                                                     const std::string& path) {
  JsonObjectReader r(v, path);
  UnlockBatchRequestBody b;
  b.consumer_group = r.String("consumerGroup");
  b.client_id = r.String("clientId");
  ReadQueueSet(r, "mqSet", &b.mq_set);
  if (!r.ok()) return r.status();
  return b;
}

// --- Name lists ---

JsonValue GroupList::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  o.Add("groupList", JsonStringArray(group_list));
  return o;
}

Result<GroupList> GroupList::FromJsonValue(const JsonValue& v, const std::string& path) {
  JsonObjectReader r(v, path);
  GroupList g;
  g.group_list = ReadStringSet(r, "groupList");
  if (!r.ok()) return r.status();
  return g;
}

JsonValue TopicList::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  o.Add("topicList", JsonStringArray(topic_list));
  if (broker_addr.has_value()) o.Add("brokerAddr", JsonStr(*broker_addr));
  return o;
}

Result<TopicList> TopicList::FromJsonValue(const JsonValue& v, const std::string& path) {
  JsonObjectReader r(v, path);
  TopicList t;
  t.topic_list = ReadStringSet(r, "topicList");
  t.broker_addr = r.OptString("brokerAddr");
  if (!r.ok()) return r.status();
  return t;
}

}  // namespace apogee::protocol
