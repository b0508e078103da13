// QUERY_MESSAGE (12) and VIEW_MESSAGE_BY_ID (33): RocketMQ's QueryMessageProcessor. Both answer
// with stored records as the body, as a pull does.

#include <fmt/format.h>

#include <algorithm>

#include "core/broker/processors.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"

namespace apogee::broker {

namespace {
namespace response = protocol::response;
// Most messages one QUERY_MESSAGE returns [maxMsgsNumBatch].
constexpr int32_t kQueryMessagesMax = 64;
}  // namespace

Response HandleQueryMessage(BrokerContext& ctx, const Connection&, const RemotingCommand& request) {
  auto h = protocol::QueryMessageRequestHeader::Decode(request.ext_fields);
  if (!h.ok()) return Reply(request, response::kSystemError, h.status().message());
  auto max = static_cast<size_t>(std::clamp(h->max_num, 1, kQueryMessagesMax));
  auto found = ctx.store->QueryByKey(h->topic, h->key, max, h->begin_timestamp, h->end_timestamp);
  if (!found.ok()) return Reply(request, response::kSystemError, found.status().ToString());
  if (found->empty()) {
    return Reply(request, response::kQueryNotFound,
                 "can not find message, maybe time range not correct");
  }
  RemotingCommand reply = Reply(request, response::kSuccess);
  protocol::QueryMessageResponseHeader answer;
  answer.index_last_update_timestamp = ToMillis(ctx.env.clock.WallNow());
  answer.index_last_update_phyoffset = ctx.store->dispatched_offset();
  answer.Encode(reply.ext_fields);
  for (const std::vector<uint8_t>& record : *found) {
    reply.body.insert(reply.body.end(), record.begin(), record.end());
  }
  return reply;
}

Response HandleViewMessageById(BrokerContext& ctx, const Connection&,
                               const RemotingCommand& request) {
  auto h = protocol::ViewMessageRequestHeader::Decode(request.ext_fields);
  if (!h.ok()) return Reply(request, response::kSystemError, h.status().message());
  if (h->offset < 0) {
    return Reply(request, response::kSystemError,
                 fmt::format("can not find message by the offset, {}", h->offset));
  }
  auto record = ctx.store->ReadRecordAt(h->offset);
  if (!record.ok()) {
    return Reply(request, response::kSystemError,
                 fmt::format("can not find message by the offset, {}: {}", h->offset,
                             record.status().message()));
  }
  RemotingCommand reply = Reply(request, response::kSuccess);
  reply.body = std::move(record).value();
  return reply;
}

}  // namespace apogee::broker
