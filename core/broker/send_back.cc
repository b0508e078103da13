#include "core/broker/send_back.h"

#include <fmt/format.h>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/broker/schedule_service.h"
#include "core/protocol/codes.h"
#include "core/protocol/message.h"

namespace apogee::broker {
namespace {

namespace prop = protocol::property;

// Retry and dead-letter topics have one queue each [retryQueueNums 1, DLQ_NUMS_PER_GROUP 1].
constexpr int32_t kRetryQueueNums = 1;
constexpr int32_t kDlqQueueNums = 1;
// The first retry waits for level 3 (10 s by default); each further one a level more.
constexpr int32_t kFirstRetryLevel = 3;

SendBackResult Fail(std::string remark) {
  SendBackResult r;
  r.code = protocol::response::kSystemError;
  r.remark = std::move(remark);
  return r;
}

}  // namespace

std::string RetryTopicOf(std::string_view group) {
  return fmt::format("{}{}", protocol::kRetryGroupTopicPrefix, group);
}

std::string DlqTopicOf(std::string_view group) {
  return fmt::format("{}{}", protocol::kDlqGroupTopicPrefix, group);
}

bool IsRetryTopic(std::string_view topic) {
  return topic.starts_with(protocol::kRetryGroupTopicPrefix);
}

SendBackResult HandleSendBack(const SendBackContext& context,
                              const protocol::ConsumerSendMsgBackRequestHeader& header) {
  APOGEE_ASSERT(context.ensure_topic != nullptr);
  APOGEE_ASSERT(context.max_reconsume_times >= 0);
  if (header.group.empty()) return Fail("send back: empty consumer group");
  if (header.offset < 0) return Fail(fmt::format("send back: bad offset {}", header.offset));

  const std::string retry_topic = RetryTopicOf(header.group);
  Status ensured = context.ensure_topic(retry_topic, kRetryQueueNums,
                                        protocol::kPermRead | protocol::kPermWrite);  // may yield
  if (!ensured.ok()) {
    return Fail(fmt::format("topic[{}] not exist: {}", retry_topic, ensured.ToString()));
  }

  Result<std::vector<uint8_t>> bytes = context.store.ReadRecordAt(header.offset);  // may yield
  if (!bytes.ok()) {
    LOG_WARN("send back from {}: no message at offset {}: {}", header.group, header.offset,
             bytes.status().ToString());
    return Fail(fmt::format("look message by offset failed, {}", header.offset));
  }
  store::DecodedRecord decoded =
      store::DecodeRecord(*bytes, header.offset, static_cast<uint32_t>(bytes->size()),
                          /*verify_crc=*/true);
  if (decoded.kind != store::RecordKind::kMessage) {
    return Fail(fmt::format("look message by offset failed, {}: {}", header.offset, decoded.error));
  }
  const store::RecordView& original = decoded.view;
  APOGEE_ASSERT(original.physical_offset == header.offset);

  const int32_t limit = header.max_reconsume_times && *header.max_reconsume_times >= 0
                            ? *header.max_reconsume_times
                            : context.max_reconsume_times;
  SendBackResult result;
  result.reconsume_times = original.reconsume_times + 1;
  const bool dead = header.delay_level < 0 || result.reconsume_times > limit;

  PropertyList props(original.properties);
  if (!props.Get(prop::kRetryTopic) && !IsRetryTopic(original.topic)) {
    props.Set(prop::kRetryTopic, std::string(original.topic));
  }
  if (!props.Get(prop::kOriginMessageId)) {
    std::string origin;
    if (header.origin_msg_id && !header.origin_msg_id->empty()) {
      origin = *header.origin_msg_id;
    } else if (auto uniq = props.Get(prop::kUniqKey); uniq && !uniq->empty()) {
      origin = std::string(*uniq);
    } else {
      origin = context.store.OffsetMsgIdOf(header.offset);
    }
    props.Set(prop::kOriginMessageId, std::move(origin));
  }
  props.Set(prop::kReconsumeTime, fmt::format("{}", result.reconsume_times));
  props.Set(prop::kMaxReconsumeTimes, fmt::format("{}", limit));
  // The answer waits for the copy to be stored (durable under SYNC_FLUSH): see the header.
  props.Remove(prop::kWait);
  props.Remove(prop::kDelay);

  if (dead) {
    result.topic = DlqTopicOf(header.group);
    Status dlq = context.ensure_topic(result.topic, kDlqQueueNums, protocol::kPermWrite);
    if (!dlq.ok())
      return Fail(fmt::format("topic[{}] not exist: {}", result.topic, dlq.ToString()));
  } else {
    result.topic = retry_topic;
    int32_t level =
        header.delay_level > 0 ? header.delay_level : kFirstRetryLevel + original.reconsume_times;
    props.Set(prop::kDelay, fmt::format("{}", level));
  }
  std::string properties = props.Encode();
  store::MessageToStore copy = store::CopyOfRecord(original, result.topic, 0, properties);
  copy.reconsume_times = result.reconsume_times;
  copy.prepared_transaction_offset = 0;
  std::optional<DelayRewrite> rewrite;
  if (!dead) {
    rewrite = PrepareDelay(context.levels, copy);
    APOGEE_ASSERT(rewrite.has_value(), "a retry copy is always delayed");
    rewrite->ApplyTo(copy);
    result.delay_level = rewrite->level;
  }
  result.put = context.store.Put(copy);  // may yield
  if (!result.put.ok()) {
    LOG_WARN("send back from {} of offset {} into {} failed: {}: {}", header.group, header.offset,
             result.topic, store::PutStatusName(result.put.status), result.put.error);
    SendBackResult failed = Fail(store::PutStatusName(result.put.status));
    failed.put = result.put;
    return failed;
  }
  result.code = protocol::response::kSuccess;
  return result;
}

}  // namespace apogee::broker
