// CONSUMER_SEND_MSG_BACK (36), LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42): the broker's checks
// around HandleSendBack (send_back.h) and the queue lock handlers (queue_lock_manager.h).

#include <fmt/format.h>

#include "core/base/log.h"
#include "core/broker/processors.h"
#include "core/broker/send_back.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"

namespace apogee::broker {

namespace {
namespace response = protocol::response;
}  // namespace

// RocketMQ's consumerSendMsgBack checks the broker's write permission and the subscription
// group before anything else; groups are created on first use unless
// auto_create_subscription_group is off (then the group must have sent a heartbeat).
Response HandleConsumerSendMsgBack(BrokerContext& ctx, const Connection& connection,
                                   const RemotingCommand& request) {
  auto h = protocol::ConsumerSendMsgBackRequestHeader::Decode(request.ext_fields);
  if (!h.ok()) return Reply(request, response::kSystemError, h.status().message());
  if (!protocol::IsWriteable(ctx.config.broker_permission)) {
    return Reply(request, response::kNoPermission,
                 fmt::format("the broker[{}] sending message is forbidden", ctx.BrokerAddr()));
  }
  if (!ctx.config.auto_create_subscription_group &&
      ctx.consumers->FindConsumerGroup(h->group) == nullptr) {
    return Reply(request, response::kSubscriptionGroupNotExist,
                 fmt::format("subscription group not exist, {}", h->group));
  }
  SendBackContext send_back{*ctx.store, ctx.schedule->levels(),
                            [&ctx](const std::string& topic, int32_t queue_nums, int32_t perm) {
                              ctx.topics->CreateIfAbsent(topic, queue_nums, perm, 0);  // may yield
                              return Status::Ok();
                            },
                            ctx.config.max_reconsume_times};
  SendBackResult result = HandleSendBack(send_back, *h);  // may yield
  if (result.code != response::kSuccess) {
    LOG_WARN("broker: send-back of offset {} for group {} from {} failed: {}", h->offset, h->group,
             connection->peer().ToString(), result.remark);
    return Reply(request, result.code, result.remark);
  }
  if (result.delay_level > 0) {
    ctx.schedule->Notify(result.delay_level);
  } else {
    // Into the dead-letter queue at once: its (operator's) parked pulls may wake.
    ctx.hold->Notify(result.topic, 0, ctx.MaxOffset(result.topic, 0), std::nullopt);
  }
  return Reply(request, response::kSuccess);
}

Response HandleLockBatchMq(BrokerContext& ctx, const Connection&, const RemotingCommand& request) {
  return HandleLockBatch(*ctx.locks, request, ctx.env.clock.Now());
}

Response HandleUnlockBatchMq(BrokerContext& ctx, const Connection&,
                             const RemotingCommand& request) {
  return HandleUnlockBatch(*ctx.locks, request);
}

}  // namespace apogee::broker
