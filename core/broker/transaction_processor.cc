// END_TRANSACTION (37) and the broker-initiated CHECK_TRANSACTION_STATE (39): RocketMQ's
// EndTransactionProcessor and Broker2Client.checkProducerTransactionState. The work is the
// transaction service's (transaction_service.h).

#include <fmt/format.h>

#include "core/base/log.h"
#include "core/broker/processors.h"
#include "core/protocol/codes.h"
#include "core/protocol/transaction_headers.h"

namespace apogee::broker {

namespace {
namespace response = protocol::response;
}  // namespace

Response HandleEndTransaction(BrokerContext& ctx, const Connection& connection,
                              const RemotingCommand& request) {
  APOGEE_ASSERT(request.code == protocol::request::kEndTransaction);
  auto h = protocol::EndTransactionRequestHeader::Decode(request.ext_fields);
  if (!h.ok()) {
    LOG_WARN("broker: END_TRANSACTION from {} does not decode: {}", connection->peer().ToString(),
             h.status().message());
    return Reply(request, response::kSystemError, h.status().message());
  }
  if (ctx.config.broker_id != protocol::kMasterId) {
    return Reply(request, response::kSlaveNotAvailable,
                 "Message store is slave mode, so end transaction is forbidden.");
  }
  APOGEE_ASSERT(ctx.transactions != nullptr);
  EndResult result = ctx.transactions->End(*h);  // may yield
  return Reply(request, result.code, std::move(result.remark));
}

bool SendTransactionCheck(const std::shared_ptr<BrokerContext>& ctx, const std::string& group,
                          RemotingCommand request) {
  if (ctx->shutting_down) return false;
  std::vector<Connection> producers = ctx->consumers->ProducerConnections(group);
  std::erase_if(producers, [](const Connection& c) { return c == nullptr || c->closed(); });
  if (producers.empty()) return false;
  Connection target = producers[ctx->env.random.Uniform(producers.size())];
  ctx->tasks.Spawn("check-txn", [target, request = std::move(request)]() mutable {
    Status s = target->InvokeOneway(std::move(request));  // may yield
    if (!s.ok()) {
      LOG_DEBUG("broker: CHECK_TRANSACTION_STATE to {} failed: {}", target->peer().ToString(),
                s.ToString());
    }
  });
  return true;
}

}  // namespace apogee::broker
