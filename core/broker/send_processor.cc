// SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320): RocketMQ's
// SendMessageProcessor. Checks, in RocketMQ's order: the header decodes; the broker is writeable;
// the topic name is valid and not a system topic closed to producers; the topic exists or may be
// auto-created from its default topic (a %RETRY% topic is created with one queue); the topic is
// writeable; the queue id is below max(read, write queues) (a negative one picks a random write
// queue). Then the message goes to the store and the store's PutStatus becomes the answer's
// code, as SendMessageProcessor.handlePutMessageResult maps it.

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/base/log.h"
#include "core/broker/processors.h"
#include "core/broker/send_back.h"
#include "core/broker/transaction_service.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"
#include "core/protocol/message.h"
#include "core/store/message_record.h"

namespace apogee::broker {

namespace {

using protocol::SendMessageRequestHeader;
namespace response = protocol::response;

// Where a message is stored.
struct Destination {
  std::string topic;
  int32_t queue_id = 0;
  std::string properties;  // encoded key\x01value\x02...
};

// A message ready for the store, owning the bytes MessageToStore points at.
struct Outgoing {
  Destination where;
  std::vector<uint8_t> body;
  int32_t flag = 0;
};

// The answer's code and remark for a put that did not succeed (handlePutMessageResult).
std::pair<int32_t, std::string> PutFailure(const store::PutResult& r) {
  switch (r.status) {
    case store::PutStatus::kOk:
      break;
    case store::PutStatus::kFlushDiskTimeout:
      return {response::kFlushDiskTimeout, "flush disk timeout"};
    case store::PutStatus::kMessageIllegal:
    case store::PutStatus::kPropertiesSizeExceeded:
      return {response::kMessageIllegal,
              fmt::format("the message is illegal, maybe msg body or properties length not "
                          "matched: {}",
                          r.error)};
    case store::PutStatus::kServiceNotAvailable:
    case store::PutStatus::kDiskFull:
      return {
          response::kServiceNotAvailable,
          fmt::format("service not available now, maybe disk full or shutting down: {}", r.error)};
    case store::PutStatus::kOsPageCacheBusy:
      // RocketMQ answers SYSTEM_ERROR here (a retryable code for producers), not SYSTEM_BUSY.
      return {response::kSystemError,
              "[PC_SYNCHRONIZED]broker busy, start flow control for a while"};
  }
  return {response::kSystemError, fmt::format("UNKNOWN_ERROR: {}", r.error)};
}

// The properties without `key`.
std::string WithoutProperty(std::string_view properties, std::string_view key) {
  std::vector<std::pair<std::string, std::string>> kept;
  for (const auto& [k, v] : store::ParseProperties(properties)) {
    if (k != key) kept.emplace_back(std::string(k), std::string(v));
  }
  return store::EncodeProperties(kept);
}

// Where each record of a batch starts, from the first record's offset and the record sizes:
// records follow each other except where the next one would not leave room for the blank record
// at its segment's end; it then starts the next segment (CommitLog::Append's rule).
std::vector<int64_t> BatchOffsets(int64_t first, const std::vector<uint64_t>& sizes,
                                  uint64_t segment_bytes) {
  std::vector<int64_t> offsets;
  auto seg = static_cast<int64_t>(segment_bytes);
  int64_t at = first;
  for (size_t i = 0; i < sizes.size(); i++) {
    auto size = static_cast<int64_t>(sizes[i]);
    int64_t segment_end = at / seg * seg + seg;
    if (i > 0 && at + size + static_cast<int64_t>(store::kBlankRecordBytes) > segment_end) {
      at = segment_end;
    }
    offsets.push_back(at);
    at += size;
  }
  return offsets;
}

// Resolves the topic config, auto-creating it when allowed. Sets *error on refusal.
std::optional<protocol::TopicConfig> ResolveTopic(BrokerContext& ctx,
                                                  const SendMessageRequestHeader& h,
                                                  const Connection& connection,
                                                  RemotingCommand* error,
                                                  const RemotingCommand& request) {
  if (auto c = ctx.topics->Find(h.topic)) return c;
  // RocketMQ's unit-mode sys flags are not modeled; topics are created with flag 0.
  LOG_INFO("broker: topic {} does not exist (producer {})", h.topic, connection->peer().ToString());
  auto c = ctx.topics->CreateForSend(h.topic, h.default_topic, h.default_topic_queue_nums, 0);
  if (!c.has_value() && h.topic.starts_with(protocol::kRetryGroupTopicPrefix)) {
    c = ctx.topics->CreateIfAbsent(h.topic, kRetryQueueNums,
                                   protocol::kPermRead | protocol::kPermWrite, 0);
  }
  if (!c.has_value()) {
    *error = Reply(request, response::kTopicNotExist,
                   fmt::format("topic[{}] not exist, apply first please!", h.topic));
  }
  return c;
}

// A single message to a %RETRY%group topic that was reconsumed too often goes to %DLQ%group
// (SendMessageProcessor.handleRetryAndDLQ), without its delay level.
void RetryToDlq(BrokerContext& ctx, const SendMessageRequestHeader& h, Outgoing* out) {
  if (!h.topic.starts_with(protocol::kRetryGroupTopicPrefix)) return;
  std::string group = h.topic.substr(std::string_view(protocol::kRetryGroupTopicPrefix).size());
  int32_t max = h.max_reconsume_times.value_or(ctx.config.max_reconsume_times);
  if (h.reconsume_times < max) return;
  std::string dlq = DlqTopicOf(group);
  ctx.topics->CreateIfAbsent(dlq, kDlqQueueNums, protocol::kPermWrite, 0);
  LOG_INFO("broker: message of {} reconsumed {} times (max {}): to {}", h.topic, h.reconsume_times,
           max, dlq);
  out->where.topic = dlq;
  out->where.queue_id = 0;
  out->where.properties = WithoutProperty(out->where.properties, protocol::property::kDelay);
}

store::MessageToStore ToStore(const Outgoing& m, const SendMessageRequestHeader& h,
                              const Connection& connection, int32_t sys_flag) {
  store::MessageToStore s;
  s.topic = m.where.topic;
  s.queue_id = m.where.queue_id;
  s.flag = m.flag;
  s.body = m.body;
  s.properties = m.where.properties;
  s.sys_flag = sys_flag;
  s.born_timestamp_ms = h.born_timestamp;
  s.born_ipv4 = ParseIpv4(connection->peer().host).value_or(0);
  s.born_port = connection->peer().port;
  s.reconsume_times = h.reconsume_times;
  return s;
}

}  // namespace

Response HandleSendMessage(BrokerContext& ctx, const Connection& connection,
                           const RemotingCommand& request) {
  APOGEE_ASSERT(request.code == protocol::request::kSendMessage ||
                request.code == protocol::request::kSendMessageV2 ||
                request.code == protocol::request::kSendBatchMessage);
  auto decoded = SendMessageRequestHeader::Decode(request);
  if (!decoded.ok()) return Reply(request, response::kSystemError, decoded.status().message());
  const SendMessageRequestHeader& h = *decoded;
  const bool batch = request.code == protocol::request::kSendBatchMessage || h.batch;

  if (!protocol::IsWriteable(ctx.config.broker_permission)) {
    return Reply(request, response::kNoPermission,
                 fmt::format("the broker[{}] sending message is forbidden", ctx.BrokerAddr()));
  }
  if (Status s = ValidateTopicName(h.topic); !s.ok()) {
    return Reply(request, response::kSystemError, s.message());
  }
  if (IsNotAllowedSendTopic(h.topic)) {
    return Reply(request, response::kNoPermission,
                 fmt::format("Sending message to topic[{}] is forbidden.", h.topic));
  }
  RemotingCommand error;
  std::optional<protocol::TopicConfig> topic = ResolveTopic(ctx, h, connection, &error, request);
  if (!topic.has_value()) return error;
  if (!protocol::IsWriteable(topic->perm)) {
    return Reply(request, response::kNoPermission,
                 fmt::format("the topic[{}] sending message is forbidden", h.topic));
  }
  int32_t queue_id = h.queue_id;
  if (queue_id >= std::max(topic->write_queue_nums, topic->read_queue_nums)) {
    return Reply(request, response::kSystemError,
                 fmt::format("request queueId[{}] is illegal, topic {} has {} write and {} read "
                             "queues; producer {}",
                             queue_id, h.topic, topic->write_queue_nums, topic->read_queue_nums,
                             connection->peer().ToString()));
  }
  if (queue_id < 0) {
    if (topic->write_queue_nums <= 0) {
      return Reply(request, response::kSystemError,
                   fmt::format("topic {} has no write queues", h.topic));
    }
    queue_id = static_cast<int32_t>(
        ctx.env.random.Uniform(static_cast<uint64_t>(topic->write_queue_nums)));
  }
  int32_t sys_flag = h.sys_flag;
  if (topic->topic_filter_type == protocol::kTopicFilterMultiTag) {
    sys_flag |= store::kSysFlagMultiTags;
  }

  // The messages to store.
  std::vector<Outgoing> messages;
  if (!batch) {
    Outgoing m;
    m.where = Destination{h.topic, queue_id, h.properties};
    m.body = request.body;
    m.flag = h.flag;
    RetryToDlq(ctx, h, &m);
    messages.push_back(std::move(m));
  } else {
    if (h.topic.starts_with(protocol::kRetryGroupTopicPrefix)) {
      return Reply(request, response::kMessageIllegal,
                   fmt::format("batch request does not support retry group {}", h.topic));
    }
    auto items = protocol::DecodeBatch(request.body);
    if (!items.ok()) return Reply(request, response::kSystemError, items.status().message());
    if (items->empty()) return Reply(request, response::kMessageIllegal, "empty batch");
    for (protocol::Message& item : *items) {
      if (item.DelayLevel() > 0) {
        return Reply(request, response::kMessageIllegal, "a batch may not carry delayed messages");
      }
      Outgoing m;
      m.where = Destination{h.topic, queue_id, protocol::EncodeMessageProperties(item.properties)};
      m.body = std::move(item.body);
      m.flag = item.flag;
      messages.push_back(std::move(m));
    }
  }

  std::vector<store::MessageToStore> to_store;
  for (const Outgoing& m : messages) to_store.push_back(ToStore(m, h, connection, sys_flag));
  // A transactional half message (TRAN_MSG=true) goes to RMQ_SYS_TRANS_HALF_TOPIC until
  // END_TRANSACTION resolves it; `half` owns the rewritten properties.
  std::optional<HalfRewrite> half;
  if (!batch) {
    half = PrepareHalf(to_store.front());
  } else if (IsHalfMessage(h.properties)) {
    return Reply(request, response::kMessageIllegal,
                 "a batch may not carry transactional messages");
  }
  if (half.has_value()) {
    if (ctx.config.reject_transaction_message) {
      return Reply(
          request, response::kNoPermission,
          fmt::format("the broker[{}] sending transaction message is forbidden", ctx.BrokerAddr()));
    }
    half->ApplyTo(to_store.front());
  }
  // A single message with a DELAY level goes to SCHEDULE_TOPIC_XXXX instead (the schedule
  // service delivers it to its topic when due); `delay` owns the rewritten properties. A half
  // message is delayed only when it is committed.
  std::optional<DelayRewrite> delay;
  if (!batch && !half.has_value() && ctx.schedule != nullptr) {
    delay = ctx.schedule->Prepare(to_store.front());
    if (delay.has_value()) delay->ApplyTo(to_store.front());
  }
  std::vector<uint64_t> sizes;
  for (const store::MessageToStore& m : to_store) sizes.push_back(store::RecordSizeOf(m));
  store::PutResult put =
      batch ? ctx.store->PutBatch(to_store) : ctx.store->Put(to_store.front());  // may yield
  const store::MessageToStore& stored = to_store.front();
  if (put.status != store::PutStatus::kOk && put.status != store::PutStatus::kFlushDiskTimeout) {
    auto [code, remark] = PutFailure(put);
    LOG_WARN("broker: put to {}:{} failed: {} ({})", stored.topic, stored.queue_id,
             store::PutStatusName(put.status), put.error);
    return Reply(request, code, std::move(remark));
  }
  APOGEE_ASSERT(put.message_count == messages.size());
  APOGEE_ASSERT(put.physical_offset >= 0);

  if (delay.has_value()) {
    ctx.schedule->Notify(delay->level);
  } else {
    // Wake the pulls parked on the queue (a batch wakes them all; one message only those whose
    // filter takes its tags).
    std::optional<int64_t> tags_code;
    if (!batch) tags_code = store::TagsCode(stored.properties);
    ctx.hold->Notify(stored.topic, stored.queue_id, ctx.MaxOffset(stored.topic, stored.queue_id),
                     tags_code);
  }

  protocol::SendMessageResponseHeader answer;
  std::vector<int64_t> offsets =
      BatchOffsets(put.physical_offset, sizes, ctx.config.store.segment_bytes);
  for (size_t i = 0; i < offsets.size(); i++) {
    if (i > 0) answer.msg_id += ',';
    answer.msg_id += ctx.store->OffsetMsgIdOf(offsets[i]);
  }
  // As RocketMQ: the queue asked for (or picked), even when the message went to the DLQ or the
  // schedule topic; the offset is the one in the queue it was stored in.
  answer.queue_id = queue_id;
  answer.queue_offset = put.queue_offset;
  RemotingCommand reply;
  if (put.status == store::PutStatus::kFlushDiskTimeout) {
    reply = Reply(request, response::kFlushDiskTimeout, put.error);
  } else {
    reply = Reply(request, response::kSuccess);
  }
  answer.Encode(reply.ext_fields);
  return reply;
}

}  // namespace apogee::broker
