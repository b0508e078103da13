// PULL_MESSAGE (11): RocketMQ's PullMessageProcessor. Checks, in RocketMQ's order: the header
// decodes; the broker is readable; the consumer group may consume; the topic exists and is
// readable; the queue id is within the read queues; the subscription (from the header with the
// SUBSCRIPTION flag, else the group's registered one, which must be at least as new as the
// header's subVersion). Then the store's Get, filtered by tags hash code, and its GetStatus
// becomes the answer (rocketmq-protocol.md section 3):
//
//   GetStatus                        code                      nextBeginOffset (from the store)
//   kFound                           0 SUCCESS                 offset + entries read
//   kNoMatchedMessage (all filtered) 20 PULL_RETRY_IMMEDIATELY offset + entries read
//   kMessageWasRemoving              20 PULL_RETRY_IMMEDIATELY offset + entries read
//   kOffsetFoundNull                 19 PULL_NOT_FOUND         offset (or past skipped entries)
//   kOffsetOverflowOne (== max)      19 PULL_NOT_FOUND         offset; parked with SUSPEND
//   kOffsetOverflowBadly (> max)     21 PULL_OFFSET_MOVED      max (min when min is 0)
//   kOffsetTooSmall (< min)          21 PULL_OFFSET_MOVED      min
//   kNoMessageInQueue / no queue     21 if offset != 0, else 19 0
//
// A PULL_NOT_FOUND with the SUSPEND flag is parked in the hold service (long polling) for the
// request's suspendTimeoutMillis (short_polling_time when long polling is off), unless this is
// already the re-run of a parked pull. With the COMMIT_OFFSET flag the request's commitOffset is
// stored as the group's offset, once, on the first run (RocketMQ stores it whatever the result).
// A parked pull is kept decoded (ParkedPull): its re-run makes every check again but neither
// decodes the header nor parses the subscription the header carried a second time.

#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "core/base/log.h"
#include "core/broker/processors.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"

namespace apogee::broker {

namespace {

using protocol::PullMessageRequestHeader;
namespace response = protocol::response;

int32_t CodeOf(store::GetStatus status, int64_t requested_offset) {
  switch (status) {
    case store::GetStatus::kFound:
      return response::kSuccess;
    case store::GetStatus::kNoMatchedMessage:
    case store::GetStatus::kMessageWasRemoving:
      return response::kPullRetryImmediately;
    case store::GetStatus::kOffsetFoundNull:
    case store::GetStatus::kOffsetOverflowOne:
      return response::kPullNotFound;
    case store::GetStatus::kOffsetOverflowBadly:
    case store::GetStatus::kOffsetTooSmall:
      return response::kPullOffsetMoved;
    case store::GetStatus::kNoMatchedLogicQueue:
    case store::GetStatus::kNoMessageInQueue:
      return requested_offset != 0 ? response::kPullOffsetMoved : response::kPullNotFound;
  }
  return response::kSystemError;
}

// The subscription the pull is filtered by, or an error answer in *error. `parsed` is the
// header's subscription as an earlier run of the pull parsed it (nullopt: not parsed yet).
std::optional<protocol::SubscriptionData> SubscriptionOf(
    BrokerContext& ctx, const PullMessageRequestHeader& h, const RemotingCommand& request,
    const std::optional<protocol::SubscriptionData>& parsed, RemotingCommand* error) {
  std::optional<protocol::SubscriptionData> sub;
  if ((h.sys_flag & protocol::kPullFlagSubscription) != 0 && parsed.has_value()) {
    // Parsed from this same header when the pull arrived, and it passed the checks below then.
    APOGEE_ASSERT(parsed->topic == h.topic);
    APOGEE_ASSERT(parsed->sub_version == h.sub_version);
    return parsed;
  }
  if ((h.sys_flag & protocol::kPullFlagSubscription) != 0) {
    auto built =
        protocol::BuildSubscriptionData(h.topic, h.subscription.value_or(""), h.sub_version);
    if (!built.ok()) {
      *error = Reply(request, response::kSubscriptionParseFailed,
                     fmt::format("parse the consumer's subscription[{}] failed: {}",
                                 h.subscription.value_or(""), built.status().message()));
      return std::nullopt;
    }
    sub = std::move(built).value();
    if (h.expression_type.has_value() && !h.expression_type->empty()) {
      sub->expression_type = *h.expression_type;
    }
  } else {
    const ConsumerGroupInfo* group = ctx.consumers->FindConsumerGroup(h.consumer_group);
    if (group == nullptr) {
      *error =
          Reply(request, response::kSubscriptionNotExist, "the consumer's group info not exist");
      return std::nullopt;
    }
    const protocol::SubscriptionData* found = group->FindSubscription(h.topic);
    if (found == nullptr) {
      *error =
          Reply(request, response::kSubscriptionNotExist, "the consumer's subscription not exist");
      return std::nullopt;
    }
    if (found->sub_version < h.sub_version) {
      *error = Reply(request, response::kSubscriptionNotLatest,
                     "the consumer's subscription not latest");
      return std::nullopt;
    }
    sub = *found;
  }
  if (sub->expression_type != protocol::kExpressionTypeTag) {
    *error = Reply(request, response::kSystemError,
                   fmt::format("The broker does not support consumer to filter message by {}",
                               sub->expression_type));
    return std::nullopt;
  }
  return sub;
}

// The consume-queue filter of a tag subscription (ExpressionMessageFilter
// .isMatchedByConsumeQueue): everything for "*" or class filters, else tags codes in codeSet.
store::TagFilter FilterOf(const protocol::SubscriptionData& sub) {
  if (sub.class_filter_mode || sub.sub_string.empty() ||
      sub.sub_string == protocol::kSubscribeAll) {
    return {};
  }
  return [codes = sub.code_set](int64_t tags_code) {
    return codes.count(static_cast<int32_t>(tags_code)) != 0;
  };
}

}  // namespace

namespace {

// One run of a pull whose header has decoded: the checks, the store's Get and the answer; parks
// it instead when it finds nothing, `allow_suspend` holds and it carries SUSPEND. `request` is
// needed only for its opaque, flag and header kind. `parsed` is the header's subscription from
// an earlier run (a parked pull's), else nullopt. Consumes `h` and `parsed` when it parks.
Response RunPull(BrokerContext& ctx, const Connection& connection, const RemotingCommand& request,
                 PullMessageRequestHeader& h, std::optional<protocol::SubscriptionData>& parsed,
                 bool allow_suspend) {
  if (!protocol::IsReadable(ctx.config.broker_permission)) {
    return Reply(request, response::kNoPermission,
                 fmt::format("the broker[{}] pulling message is forbidden", ctx.BrokerAddr()));
  }
  // Subscription groups are created on first use (autoCreateSubscriptionGroup); with that off,
  // a group must have registered by heartbeat first.
  if (!ctx.config.auto_create_subscription_group &&
      ctx.consumers->FindConsumerGroup(h.consumer_group) == nullptr) {
    return Reply(request, response::kSubscriptionGroupNotExist,
                 fmt::format("subscription group [{}] does not exist", h.consumer_group));
  }
  std::optional<protocol::TopicConfig> topic = ctx.topics->Find(h.topic);
  if (!topic.has_value()) {
    return Reply(request, response::kTopicNotExist,
                 fmt::format("topic[{}] not exist, apply first please!", h.topic));
  }
  if (!protocol::IsReadable(topic->perm)) {
    return Reply(request, response::kNoPermission,
                 fmt::format("the topic[{}] pulling message is forbidden", h.topic));
  }
  if (h.queue_id < 0 || h.queue_id >= topic->read_queue_nums) {
    return Reply(
        request, response::kSystemError,
        fmt::format("queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] "
                    "consumer:[{}]",
                    h.queue_id, h.topic, topic->read_queue_nums, connection->peer().ToString()));
  }
  RemotingCommand error;
  std::optional<protocol::SubscriptionData> sub = SubscriptionOf(ctx, h, request, parsed, &error);
  if (!sub.has_value()) return error;
  store::TagFilter filter = FilterOf(*sub);

  auto max_count =
      static_cast<uint32_t>(std::clamp(h.max_msg_nums, 1, ctx.config.pull_messages_max));
  store::GetResult got = ctx.store->Get(h.topic, h.queue_id, h.queue_offset, max_count,
                                        ctx.config.pull_bytes_max, filter);  // may yield
  int32_t code = CodeOf(got.status, h.queue_offset);
  APOGEE_ASSERT(code != response::kSuccess || !got.messages.empty());

  // With COMMIT_OFFSET the consumer reports its progress on this queue with the pull.
  const bool commit = allow_suspend && (h.sys_flag & protocol::kPullFlagCommitOffset) != 0;
  if (commit) ctx.offsets->Commit(h.consumer_group, h.topic, h.queue_id, h.commit_offset);

  if (code == response::kPullNotFound && allow_suspend &&
      (h.sys_flag & protocol::kPullFlagSuspend) != 0) {
    Duration timeout =
        ctx.config.long_polling
            ? std::chrono::milliseconds(std::max<int64_t>(h.suspend_timeout_millis, 0))
            : ctx.config.short_polling_time;
    ParkedPull pull;
    pull.connection = connection;
    // What the answer needs of the request; its fields stay behind, decoded in `header`.
    pull.request.code = request.code;
    pull.request.language = request.language;
    pull.request.version = request.version;
    pull.request.opaque = request.opaque;
    pull.request.flag = request.flag;
    pull.request.serialize_type = request.serialize_type;
    pull.topic = h.topic;
    pull.queue_id = h.queue_id;
    pull.offset = h.queue_offset;
    pull.deadline = SaturatingAdd(ctx.env.clock.Now(), timeout);
    pull.filter = std::move(filter);
    if ((h.sys_flag & protocol::kPullFlagSubscription) != 0) pull.subscription = std::move(sub);
    pull.header = std::move(h);  // not read below
    if (ctx.hold->Park(std::move(pull))) return std::nullopt;
    if (!ctx.shutting_down) {
      return Reply(request, response::kSystemBusy,
                   "too many pulls are parked on this connection; pull again later");
    }
    // Shutting down: answer what was found.
  }

  RemotingCommand reply = Reply(request, code);
  if (code != response::kSuccess) {
    reply.remark = fmt::format("{}", store::GetStatusName(got.status));
  }
  protocol::PullMessageResponseHeader answer;
  answer.suggest_which_broker_id = protocol::kMasterId;
  answer.next_begin_offset = got.next_begin_offset;
  answer.min_offset = got.min_offset;
  answer.max_offset = got.max_offset;
  answer.Encode(reply.ext_fields);
  if (code == response::kSuccess) reply.body = std::move(got.records);
  return reply;
}

}  // namespace

Response HandlePullMessage(BrokerContext& ctx, const Connection& connection,
                           const RemotingCommand& request, bool allow_suspend) {
  APOGEE_ASSERT(request.code == protocol::request::kPullMessage);
  auto decoded = PullMessageRequestHeader::Decode(request.ext_fields);
  if (!decoded.ok()) return Reply(request, response::kSystemError, decoded.status().message());
  std::optional<protocol::SubscriptionData> parsed;
  return RunPull(ctx, connection, request, *decoded, parsed, allow_suspend);
}

void AnswerParkedPull(const std::shared_ptr<BrokerContext>& ctx, ParkedPull pull) {
  APOGEE_ASSERT(ctx != nullptr);
  APOGEE_ASSERT(pull.request.code == protocol::request::kPullMessage);
  APOGEE_ASSERT(pull.header.queue_offset == pull.offset);
  ctx->tasks.Spawn("pull-answer", [ctx, pull = std::move(pull)]() mutable {
    // The re-run answers whatever it finds, and does not store the commit offset again.
    Response reply = RunPull(*ctx, pull.connection, pull.request, pull.header, pull.subscription,
                             /*allow_suspend=*/false);
    if (!reply.has_value() || pull.request.is_oneway()) return;
    Status sent = pull.connection->SendResponse(std::move(*reply));
    if (!sent.ok()) {
      LOG_DEBUG("broker: answering a parked pull from {} failed: {}",
                pull.connection->peer().ToString(), sent.ToString());
    }
  });
}

}  // namespace apogee::broker
