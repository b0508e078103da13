// Client registration: HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38),
// and the broker-initiated NOTIFY_CONSUMER_IDS_CHANGED (40) (RocketMQ's ClientManageProcessor,
// ConsumerManageProcessor and Broker2Client).

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

Response HandleHeartbeat(BrokerContext& ctx, const Connection& connection,
                         const RemotingCommand& request) {
  auto body = protocol::HeartbeatData::FromJson(
      std::string_view(reinterpret_cast<const char*>(request.body.data()), request.body.size()));
  if (!body.ok()) return Reply(request, response::kSystemError, body.status().message());
  Instant now = ctx.env.clock.Now();
  for (const protocol::ConsumerData& data : body->consumer_data_set) {
    if (data.group_name.empty()) continue;
    // Every consumer group gets its retry topic on its first heartbeat, so sent-back messages
    // and the clients' route lookups of %RETRY%group find it.
    ctx.topics->CreateIfAbsent(RetryTopicOf(data.group_name), kRetryQueueNums,
                               protocol::kPermRead | protocol::kPermWrite, 0);  // may yield
    ctx.consumers->RegisterConsumer(data, body->client_id, connection, now);
  }
  for (const protocol::ProducerData& data : body->producer_data_set) {
    if (data.group_name.empty()) continue;
    ctx.consumers->RegisterProducer(data.group_name, body->client_id, connection, now);
  }
  WatchConnection(ctx.shared_from_this(), connection);
  return Reply(request, response::kSuccess);
}

Response HandleUnregisterClient(BrokerContext& ctx, const Connection&,
                                const RemotingCommand& request) {
  auto h = protocol::UnregisterClientRequestHeader::Decode(request.ext_fields);
  if (!h.ok()) return Reply(request, response::kSystemError, h.status().message());
  if (h->producer_group.has_value() && !h->producer_group->empty()) {
    ctx.consumers->UnregisterProducer(*h->producer_group, h->client_id);
  }
  if (h->consumer_group.has_value() && !h->consumer_group->empty()) {
    ctx.consumers->UnregisterConsumer(*h->consumer_group, h->client_id);
  }
  return Reply(request, response::kSuccess);
}

Response HandleGetConsumerListByGroup(BrokerContext& ctx, const Connection&,
                                      const RemotingCommand& request) {
  auto h = protocol::ConsumerGroupHeader::Decode(request.ext_fields);
  if (!h.ok()) return Reply(request, response::kSystemError, h.status().message());
  const ConsumerGroupInfo* group = ctx.consumers->FindConsumerGroup(h->consumer_group);
  if (group == nullptr || group->clients.empty()) {
    return Reply(request, response::kSystemError,
                 fmt::format("no consumer for this group, {}", h->consumer_group));
  }
  protocol::ConsumerListBody list;
  list.consumer_id_list = group->ClientIds();
  RemotingCommand reply = Reply(request, response::kSuccess);
  std::string json = list.ToJson();
  reply.body.assign(json.begin(), json.end());
  return reply;
}

void NotifyConsumerIdsChanged(const std::shared_ptr<BrokerContext>& ctx, const std::string& group,
                              std::vector<Connection> members) {
  if (ctx->shutting_down || members.empty()) return;
  LOG_DEBUG("broker: notifying {} members of group {} that its consumers changed", members.size(),
            group);
  for (Connection& member : members) {
    ctx->tasks.Spawn("notify-ids", [member = std::move(member), group] {
      protocol::ConsumerGroupHeader header;
      header.consumer_group = group;
      RemotingCommand notify = protocol::MakeRequest(protocol::request::kNotifyConsumerIdsChanged);
      header.Encode(notify.ext_fields);
      Status s = member->InvokeOneway(std::move(notify));
      if (!s.ok()) {
        LOG_DEBUG("broker: NOTIFY_CONSUMER_IDS_CHANGED to {} failed: {}", member->peer().ToString(),
                  s.ToString());
      }
    });
  }
}

void WatchConnection(const std::shared_ptr<BrokerContext>& ctx, const Connection& connection) {
  // Looked up by address only; never iterated, so no order depends on pointers.
  if (!ctx->watched.insert(connection.get()).second) return;
  ctx->watchers.Spawn("client-watch", [ctx, connection] {
    connection->Join();  // may yield: until the connection has ended
    ctx->watched.erase(connection.get());
    ctx->consumers->OnConnectionClosed(connection.get());
  });
}

}  // namespace apogee::broker
