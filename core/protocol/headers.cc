#include "core/protocol/headers.h"

#include "core/protocol/codes.h"

namespace apogee::protocol {

namespace {

// Finishes a Decode: the header when every field read well, the reader's first problem otherwise.
template <typename T>
Result<T> Finish(const FieldReader& r, T header) {
  if (!r.status().ok()) return r.status();
  return header;
}

}  // namespace

RemotingCommand MakeRequest(int32_t code, ExtFields fields, std::vector<uint8_t> body) {
  RemotingCommand cmd;
  cmd.code = code;
  cmd.language = LanguageCode::kCpp;
  cmd.version = 373;  // V4_9_4, what current 4.x clients announce
  // The ROCKETMQ binary header (rocketmq.serialize.type=ROCKETMQ in a Java client): every 4.x
  // broker and nameserver reads it and answers in kind, and it costs a fraction of JSON to
  // write and read. Servers still take JSON from clients that send it.
  cmd.serialize_type = SerializeType::kRocketmq;
  cmd.ext_fields = std::move(fields);
  cmd.body = std::move(body);
  return cmd;
}

RemotingCommand MakeResponseCommand(int32_t code, std::string remark, ExtFields fields) {
  RemotingCommand cmd;
  cmd.code = code;
  cmd.language = LanguageCode::kCpp;
  cmd.version = 373;
  cmd.flag = kFlagResponse;
  if (!remark.empty()) cmd.remark = std::move(remark);
  cmd.ext_fields = std::move(fields);
  return cmd;
}

Result<SendMessageRequestHeader> SendMessageRequestHeader::Decode(const RemotingCommand& request) {
  FieldReader r(request.ext_fields);
  SendMessageRequestHeader h;
  const bool s = request.code != request::kSendMessage;
  h.producer_group = r.String(s ? "a" : "producerGroup");
  h.topic = r.String(s ? "b" : "topic");
  h.default_topic = r.String(s ? "c" : "defaultTopic");
  h.default_topic_queue_nums = r.Int32(s ? "d" : "defaultTopicQueueNums");
  h.queue_id = r.Int32(s ? "e" : "queueId");
  h.sys_flag = r.Int32(s ? "f" : "sysFlag");
  h.born_timestamp = r.Int64(s ? "g" : "bornTimestamp");
  h.flag = r.Int32(s ? "h" : "flag");
  h.properties = r.OptString(s ? "i" : "properties").value_or("");
  h.reconsume_times = r.OptInt32(s ? "j" : "reconsumeTimes").value_or(0);
  h.unit_mode = r.OptBool(s ? "k" : "unitMode").value_or(false);
  h.max_reconsume_times = r.OptInt32(s ? "l" : "maxReconsumeTimes");
  h.batch = r.OptBool(s ? "m" : "batch").value_or(false);
  h.broker_name = r.OptString(s ? "n" : "brokerName");
  return Finish(r, std::move(h));
}

void SendMessageRequestHeader::Encode(ExtFields& f, bool s) const {
  SetField(f, s ? "a" : "producerGroup", producer_group);
  SetField(f, s ? "b" : "topic", topic);
  SetField(f, s ? "c" : "defaultTopic", default_topic);
  SetField(f, s ? "d" : "defaultTopicQueueNums", default_topic_queue_nums);
  SetField(f, s ? "e" : "queueId", queue_id);
  SetField(f, s ? "f" : "sysFlag", sys_flag);
  SetField(f, s ? "g" : "bornTimestamp", born_timestamp);
  SetField(f, s ? "h" : "flag", flag);
  SetField(f, s ? "i" : "properties", properties);
  SetField(f, s ? "j" : "reconsumeTimes", reconsume_times);
  SetField(f, s ? "k" : "unitMode", unit_mode);
  SetOptField(f, s ? "l" : "maxReconsumeTimes", max_reconsume_times);
  SetField(f, s ? "m" : "batch", batch);
  SetOptField(f, s ? "n" : "brokerName", broker_name);
}

Result<SendMessageResponseHeader> SendMessageResponseHeader::Decode(const ExtFields& fields) {
  FieldReader r(fields);
  SendMessageResponseHeader h;
  h.msg_id = r.String("msgId");
  h.queue_id = r.Int32("queueId");
  h.queue_offset = r.Int64("queueOffset");
  h.transaction_id = r.OptString("transactionId");
  return Finish(r, std::move(h));
}

void SendMessageResponseHeader::Encode(ExtFields& f) const {
  SetField(f, "msgId", msg_id);
  SetField(f, "queueId", queue_id);
  SetField(f, "queueOffset", queue_offset);
  SetOptField(f, "transactionId", transaction_id);
}

Result<PullMessageRequestHeader> PullMessageRequestHeader::Decode(const ExtFields& fields) {
  FieldReader r(fields);
  PullMessageRequestHeader h;
  h.consumer_group = r.String("consumerGroup");
  h.topic = r.String("topic");
  h.queue_id = r.Int32("queueId");
  h.queue_offset = r.Int64("queueOffset");
  h.max_msg_nums = r.Int32("maxMsgNums");
  h.sys_flag = r.Int32("sysFlag");
  h.commit_offset = r.Int64("commitOffset");
  h.suspend_timeout_millis = r.Int64("suspendTimeoutMillis");
  h.subscription = r.OptString("subscription");
  h.sub_version = r.Int64("subVersion");
  h.expression_type = r.OptString("expressionType");
  return Finish(r, std::move(h));
}

void PullMessageRequestHeader::Encode(ExtFields& f) const {
  // In key order: every pull sends one, and each field then appends to the sorted extFields.
  SetField(f, "commitOffset", commit_offset);
  SetField(f, "consumerGroup", consumer_group);
  SetOptField(f, "expressionType", expression_type);
  SetField(f, "maxMsgNums", max_msg_nums);
  SetField(f, "queueId", queue_id);
  SetField(f, "queueOffset", queue_offset);
  SetField(f, "subVersion", sub_version);
  SetOptField(f, "subscription", subscription);
  SetField(f, "suspendTimeoutMillis", suspend_timeout_millis);
  SetField(f, "sysFlag", sys_flag);
  SetField(f, "topic", topic);
}

Result<PullMessageResponseHeader> PullMessageResponseHeader::Decode(const ExtFields& fields) {
  FieldReader r(fields);
  PullMessageResponseHeader h;
  h.suggest_which_broker_id = r.Int64("suggestWhichBrokerId");
  h.next_begin_offset = r.Int64("nextBeginOffset");
  h.min_offset = r.Int64("minOffset");
  h.max_offset = r.Int64("maxOffset");
  return Finish(r, h);
}

void PullMessageResponseHeader::Encode(ExtFields& f) const {
  // In key order, so each field appends (see PullMessageRequestHeader::Encode).
  SetField(f, "maxOffset", max_offset);
  SetField(f, "minOffset", min_offset);
  SetField(f, "nextBeginOffset", next_begin_offset);
  SetField(f, "suggestWhichBrokerId", suggest_which_broker_id);
}

Result<QueryConsumerOffsetRequestHeader> QueryConsumerOffsetRequestHeader::Decode(
    const ExtFields& fields) {
  FieldReader r(fields);
  QueryConsumerOffsetRequestHeader h;
  h.consumer_group = r.String("consumerGroup");
  h.topic = r.String("topic");
  h.queue_id = r.Int32("queueId");
  return Finish(r, std::move(h));
}

void QueryConsumerOffsetRequestHeader::Encode(ExtFields& f) const {
  SetField(f, "consumerGroup", consumer_group);
  SetField(f, "topic", topic);
  SetField(f, "queueId", queue_id);
}

Result<UpdateConsumerOffsetRequestHeader> UpdateConsumerOffsetRequestHeader::Decode(
    const ExtFields& fields) {
  FieldReader r(fields);
  UpdateConsumerOffsetRequestHeader h;
  h.consumer_group = r.String("consumerGroup");
  h.topic = r.String("topic");
  h.queue_id = r.Int32("queueId");
  h.commit_offset = r.Int64("commitOffset");
  return Finish(r, std::move(h));
}

void UpdateConsumerOffsetRequestHeader::Encode(ExtFields& f) const {
  SetField(f, "consumerGroup", consumer_group);
  SetField(f, "topic", topic);
  SetField(f, "queueId", queue_id);
  SetField(f, "commitOffset", commit_offset);
}

Result<QueueRequestHeader> QueueRequestHeader::Decode(const ExtFields& fields) {
  FieldReader r(fields);
  QueueRequestHeader h;
  h.topic = r.String("topic");
  h.queue_id = r.Int32("queueId");
  return Finish(r, std::move(h));
}

void QueueRequestHeader::Encode(ExtFields& f) const {
  SetField(f, "topic", topic);
  SetField(f, "queueId", queue_id);
}

Result<SearchOffsetRequestHeader> SearchOffsetRequestHeader::Decode(const ExtFields& fields) {
  FieldReader r(fields);
  SearchOffsetRequestHeader h;
  h.topic = r.String("topic");
  h.queue_id = r.Int32("queueId");
  h.timestamp = r.Int64("timestamp");
  return Finish(r, std::move(h));
}

void SearchOffsetRequestHeader::Encode(ExtFields& f) const {
  SetField(f, "topic", topic);
  SetField(f, "queueId", queue_id);
  SetField(f, "timestamp", timestamp);
}

Result<OffsetResponseHeader> OffsetResponseHeader::Decode(const ExtFields& fields) {
  FieldReader r(fields);
  OffsetResponseHeader h;
  h.offset = r.Int64("offset");
  return Finish(r, h);
}

void OffsetResponseHeader::Encode(ExtFields& f) const { SetField(f, "offset", offset); }

Result<ConsumerGroupHeader> ConsumerGroupHeader::Decode(const ExtFields& fields) {
  FieldReader r(fields);
  ConsumerGroupHeader h;
  h.consumer_group = r.String("consumerGroup");
  return Finish(r, std::move(h));
}

void ConsumerGroupHeader::Encode(ExtFields& f) const {
  SetField(f, "consumerGroup", consumer_group);
}

Result<ConsumerSendMsgBackRequestHeader> ConsumerSendMsgBackRequestHeader::Decode(
    const ExtFields& fields) {
  FieldReader r(fields);
  ConsumerSendMsgBackRequestHeader h;
  h.offset = r.Int64("offset");
  h.group = r.String("group");
  h.delay_level = r.Int32("delayLevel");
  h.origin_msg_id = r.OptString("originMsgId");
  h.origin_topic = r.OptString("originTopic");
  h.unit_mode = r.OptBool("unitMode").value_or(false);
  h.max_reconsume_times = r.OptInt32("maxReconsumeTimes");
  return Finish(r, std::move(h));
}

void ConsumerSendMsgBackRequestHeader::Encode(ExtFields& f) const {
  SetField(f, "offset", offset);
  SetField(f, "group", group);
  SetField(f, "delayLevel", delay_level);
  SetOptField(f, "originMsgId", origin_msg_id);
  SetOptField(f, "originTopic", origin_topic);
  SetField(f, "unitMode", unit_mode);
  SetOptField(f, "maxReconsumeTimes", max_reconsume_times);
}

Result<UnregisterClientRequestHeader> UnregisterClientRequestHeader::Decode(
    const ExtFields& fields) {
  FieldReader r(fields);
  UnregisterClientRequestHeader h;
  h.client_id = r.String("clientID");
  h.producer_group = r.OptString("producerGroup");
  h.consumer_group = r.OptString("consumerGroup");
  return Finish(r, std::move(h));
}

void UnregisterClientRequestHeader::Encode(ExtFields& f) const {
  SetField(f, "clientID", client_id);
  SetOptField(f, "producerGroup", producer_group);
  SetOptField(f, "consumerGroup", consumer_group);
}

Result<CreateTopicRequestHeader> CreateTopicRequestHeader::Decode(const ExtFields& fields) {
  FieldReader r(fields);
  CreateTopicRequestHeader h;
  h.topic = r.String("topic");
  h.default_topic = r.String("defaultTopic");
  h.read_queue_nums = r.Int32("readQueueNums");
  h.write_queue_nums = r.Int32("writeQueueNums");
  h.perm = r.Int32("perm");
  h.topic_filter_type = r.String("topicFilterType");
  h.topic_sys_flag = r.OptInt32("topicSysFlag").value_or(0);
  h.order = r.OptBool("order").value_or(false);
  return Finish(r, std::move(h));
}

void CreateTopicRequestHeader::Encode(ExtFields& f) const {
  SetField(f, "topic", topic);
  SetField(f, "defaultTopic", default_topic);
  SetField(f, "readQueueNums", read_queue_nums);
  SetField(f, "writeQueueNums", write_queue_nums);
  SetField(f, "perm", perm);
  SetField(f, "topicFilterType", topic_filter_type);
  SetField(f, "topicSysFlag", topic_sys_flag);
  SetField(f, "order", order);
}

Result<GetRouteInfoRequestHeader> GetRouteInfoRequestHeader::Decode(const ExtFields& fields) {
  FieldReader r(fields);
  GetRouteInfoRequestHeader h;
  h.topic = r.String("topic");
  return Finish(r, std::move(h));
}

void GetRouteInfoRequestHeader::Encode(ExtFields& f) const { SetField(f, "topic", topic); }

Result<RegisterBrokerRequestHeader> RegisterBrokerRequestHeader::Decode(const ExtFields& fields) {
  FieldReader r(fields);
  RegisterBrokerRequestHeader h;
  h.broker_name = r.String("brokerName");
  h.broker_addr = r.String("brokerAddr");
  h.cluster_name = r.String("clusterName");
  h.ha_server_addr = r.String("haServerAddr");
  h.broker_id = r.Int64("brokerId");
  h.compressed = r.OptBool("compressed").value_or(false);
  h.body_crc32 = r.OptInt32("bodyCrc32");
  return Finish(r, std::move(h));
}

void RegisterBrokerRequestHeader::Encode(ExtFields& f) const {
  SetField(f, "brokerName", broker_name);
  SetField(f, "brokerAddr", broker_addr);
  SetField(f, "clusterName", cluster_name);
  SetField(f, "haServerAddr", ha_server_addr);
  SetField(f, "brokerId", broker_id);
  SetField(f, "compressed", compressed);
  SetOptField(f, "bodyCrc32", body_crc32);
}

Result<RegisterBrokerResponseHeader> RegisterBrokerResponseHeader::Decode(const ExtFields& fields) {
  FieldReader r(fields);
  RegisterBrokerResponseHeader h;
  h.ha_server_addr = r.OptString("haServerAddr");
  h.master_addr = r.OptString("masterAddr");
  return Finish(r, std::move(h));
}

void RegisterBrokerResponseHeader::Encode(ExtFields& f) const {
  SetOptField(f, "haServerAddr", ha_server_addr);
  SetOptField(f, "masterAddr", master_addr);
}

Result<UnregisterBrokerRequestHeader> UnregisterBrokerRequestHeader::Decode(
    const ExtFields& fields) {
  FieldReader r(fields);
  UnregisterBrokerRequestHeader h;
  h.broker_name = r.String("brokerName");
  h.broker_addr = r.String("brokerAddr");
  h.cluster_name = r.String("clusterName");
  h.broker_id = r.Int64("brokerId");
  return Finish(r, std::move(h));
}

void UnregisterBrokerRequestHeader::Encode(ExtFields& f) const {
  SetField(f, "brokerName", broker_name);
  SetField(f, "brokerAddr", broker_addr);
  SetField(f, "clusterName", cluster_name);
  SetField(f, "brokerId", broker_id);
}

Result<QueryMessageRequestHeader> QueryMessageRequestHeader::Decode(const ExtFields& fields) {
  FieldReader r(fields);
  QueryMessageRequestHeader h;
  h.topic = r.String("topic");
  h.key = r.String("key");
  h.max_num = r.Int32("maxNum");
  h.begin_timestamp = r.Int64("beginTimestamp");
  h.end_timestamp = r.Int64("endTimestamp");
  return Finish(r, std::move(h));
}

void QueryMessageRequestHeader::Encode(ExtFields& f) const {
  SetField(f, "topic", topic);
  SetField(f, "key", key);
  SetField(f, "maxNum", max_num);
  SetField(f, "beginTimestamp", begin_timestamp);
  SetField(f, "endTimestamp", end_timestamp);
}

Result<QueryMessageResponseHeader> QueryMessageResponseHeader::Decode(const ExtFields& fields) {
  FieldReader r(fields);
  QueryMessageResponseHeader h;
  h.index_last_update_timestamp = r.Int64("indexLastUpdateTimestamp");
  h.index_last_update_phyoffset = r.Int64("indexLastUpdatePhyoffset");
  return Finish(r, h);
}

void QueryMessageResponseHeader::Encode(ExtFields& f) const {
  SetField(f, "indexLastUpdateTimestamp", index_last_update_timestamp);
  SetField(f, "indexLastUpdatePhyoffset", index_last_update_phyoffset);
}

Result<ViewMessageRequestHeader> ViewMessageRequestHeader::Decode(const ExtFields& fields) {
  FieldReader r(fields);
  ViewMessageRequestHeader h;
  h.offset = r.Int64("offset");
  return Finish(r, h);
}

void ViewMessageRequestHeader::Encode(ExtFields& f) const { SetField(f, "offset", offset); }

}  // namespace apogee::protocol
