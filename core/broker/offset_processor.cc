// Consumer offsets and queue offsets: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
// SEARCH_OFFSET_BY_TIMESTAMP (29), GET_MAX_OFFSET (30), GET_MIN_OFFSET (31)
// (RocketMQ's ConsumerManageProcessor and AdminBrokerProcessor).

#include <fmt/format.h>

#include <algorithm>

#include "core/base/log.h"
#include "core/broker/processors.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"

namespace apogee::broker {

namespace {

namespace response = protocol::response;

RemotingCommand OffsetReply(const RemotingCommand& request, int64_t offset) {
  RemotingCommand reply = Reply(request, response::kSuccess);
  protocol::OffsetResponseHeader answer;
  answer.offset = offset;
  answer.Encode(reply.ext_fields);
  return reply;
}

}  // namespace

RemotingCommand Reply(const RemotingCommand& request, int32_t code, std::string remark) {
  if (remark.empty()) return MakeResponse(request, code);
  return MakeResponse(request, code, std::move(remark));
}

// No stored offset: RocketMQ answers 0 when the queue still starts at 0 (min offset <= 0) and
// its first message is not "in disk" (swapped out of the page cache), so a new group on a young
// queue reads it from its first message; QUERY_NOT_FOUND otherwise (the client then applies its
// consumeFromWhere). Apogee has no page-cache notion, so "min offset <= 0" alone decides.
Response HandleQueryConsumerOffset(BrokerContext& ctx, const Connection&,
                                   const RemotingCommand& request) {
  auto h = protocol::QueryConsumerOffsetRequestHeader::Decode(request.ext_fields);
  if (!h.ok()) return Reply(request, response::kSystemError, h.status().message());
  std::optional<int64_t> offset = ctx.offsets->Query(h->consumer_group, h->topic, h->queue_id);
  if (offset.has_value()) return OffsetReply(request, *offset);
  if (ctx.store->MinOffset(h->topic, h->queue_id) <= 0) return OffsetReply(request, 0);
  return Reply(request, response::kQueryNotFound,
               "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first");
}

Response HandleUpdateConsumerOffset(BrokerContext& ctx, const Connection&,
                                    const RemotingCommand& request) {
  auto h = protocol::UpdateConsumerOffsetRequestHeader::Decode(request.ext_fields);
  if (!h.ok()) return Reply(request, response::kSystemError, h.status().message());
  ctx.offsets->Commit(h->consumer_group, h->topic, h->queue_id, h->commit_offset);
  if (request.is_oneway()) return std::nullopt;
  return Reply(request, response::kSuccess);
}

Response HandleGetMaxOffset(BrokerContext& ctx, const Connection&, const RemotingCommand& request) {
  auto h = protocol::QueueRequestHeader::Decode(request.ext_fields);
  if (!h.ok()) return Reply(request, response::kSystemError, h.status().message());
  // A queue the store does not have reads as 0, as in RocketMQ.
  return OffsetReply(request, std::max<int64_t>(ctx.store->MaxOffset(h->topic, h->queue_id), 0));
}

Response HandleGetMinOffset(BrokerContext& ctx, const Connection&, const RemotingCommand& request) {
  auto h = protocol::QueueRequestHeader::Decode(request.ext_fields);
  if (!h.ok()) return Reply(request, response::kSystemError, h.status().message());
  return OffsetReply(request, std::max<int64_t>(ctx.store->MinOffset(h->topic, h->queue_id), 0));
}

Response HandleSearchOffsetByTimestamp(BrokerContext& ctx, const Connection&,
                                       const RemotingCommand& request) {
  auto h = protocol::SearchOffsetRequestHeader::Decode(request.ext_fields);
  if (!h.ok()) return Reply(request, response::kSystemError, h.status().message());
  Result<int64_t> offset = ctx.store->OffsetByTime(h->topic, h->queue_id, h->timestamp);
  if (!offset.ok()) {
    // A queue the store does not have answers 0, as RocketMQ's getOffsetInQueueByTime does.
    if (offset.code() == ErrorCode::kNotFound) return OffsetReply(request, 0);
    return Reply(request, response::kSystemError, offset.status().ToString());
  }
  return OffsetReply(request, std::max<int64_t>(*offset, 0));
}

}  // namespace apogee::broker
