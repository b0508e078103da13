#pragma once

// The broker's request handlers, one function per request code (or family), each given the
// shared BrokerContext. Each returns the response, or nullopt when it answers later (a parked
// pull) or the request is oneway. A header that does not decode is answered SYSTEM_ERROR with
// the decoder's message, as RocketMQ answers a RemotingCommandException; the connection stays
// open. Every handler may yield.
//
// Files: send_processor.cc (10, 310, 320), pull_processor.cc (11), offset_processor.cc
// (14, 15, 29, 30, 31), query_processor.cc (12, 33), client_processor.cc (34, 35, 38),
// admin_processor.cc (17, 21), send_back_processor.cc (36, 41, 42), transaction_processor.cc (37).

#include <memory>
#include <optional>
#include <string>

#include "core/broker/broker_context.h"
#include "core/remoting/command.h"
#include "core/remoting/remoting_connection.h"

namespace apogee::broker {

using Connection = std::shared_ptr<RemotingConnection>;
using Response = std::optional<RemotingCommand>;

// SEND_MESSAGE, SEND_MESSAGE_V2, SEND_BATCH_MESSAGE.
Response HandleSendMessage(BrokerContext& ctx, const Connection& connection,
                           const RemotingCommand& request);

// PULL_MESSAGE. `allow_suspend` is false when a parked pull is re-run: it is then answered
// whatever it finds, and its commit offset is not stored a second time.
Response HandlePullMessage(BrokerContext& ctx, const Connection& connection,
                           const RemotingCommand& request, bool allow_suspend);
// The hold service's answer callback: re-runs `pull` on a task fiber and sends the response.
void AnswerParkedPull(const std::shared_ptr<BrokerContext>& ctx, ParkedPull pull);

Response HandleQueryConsumerOffset(BrokerContext& ctx, const Connection& connection,
                                   const RemotingCommand& request);
Response HandleUpdateConsumerOffset(BrokerContext& ctx, const Connection& connection,
                                    const RemotingCommand& request);
Response HandleGetMaxOffset(BrokerContext& ctx, const Connection& connection,
                            const RemotingCommand& request);
Response HandleGetMinOffset(BrokerContext& ctx, const Connection& connection,
                            const RemotingCommand& request);
Response HandleSearchOffsetByTimestamp(BrokerContext& ctx, const Connection& connection,
                                       const RemotingCommand& request);

Response HandleQueryMessage(BrokerContext& ctx, const Connection& connection,
                            const RemotingCommand& request);
Response HandleViewMessageById(BrokerContext& ctx, const Connection& connection,
                               const RemotingCommand& request);

Response HandleHeartbeat(BrokerContext& ctx, const Connection& connection,
                         const RemotingCommand& request);
Response HandleUnregisterClient(BrokerContext& ctx, const Connection& connection,
                                const RemotingCommand& request);
Response HandleGetConsumerListByGroup(BrokerContext& ctx, const Connection& connection,
                                      const RemotingCommand& request);
// The consumer manager's change listener: NOTIFY_CONSUMER_IDS_CHANGED (oneway) to each member,
// each on a task fiber so a slow client delays no one.
void NotifyConsumerIdsChanged(const std::shared_ptr<BrokerContext>& ctx, const std::string& group,
                              std::vector<Connection> members);
// Makes sure the broker learns when `connection` closes (its clients are then unregistered):
// the first call per connection starts a watcher task.
void WatchConnection(const std::shared_ptr<BrokerContext>& ctx, const Connection& connection);

// CONSUMER_SEND_MSG_BACK, LOCK_BATCH_MQ, UNLOCK_BATCH_MQ (send_back_processor.cc).
Response HandleConsumerSendMsgBack(BrokerContext& ctx, const Connection& connection,
                                   const RemotingCommand& request);
Response HandleLockBatchMq(BrokerContext& ctx, const Connection& connection,
                           const RemotingCommand& request);
Response HandleUnlockBatchMq(BrokerContext& ctx, const Connection& connection,
                             const RemotingCommand& request);

// END_TRANSACTION (oneway from producers; a caller that waits gets the answer, errors included).
Response HandleEndTransaction(BrokerContext& ctx, const Connection& connection,
                              const RemotingCommand& request);
// The transaction service's CheckSender: CHECK_TRANSACTION_STATE (oneway) to one producer of the
// group, picked at random, on a task fiber. False when the group has no producer connected.
bool SendTransactionCheck(const std::shared_ptr<BrokerContext>& ctx, const std::string& group,
                          RemotingCommand request);

Response HandleUpdateAndCreateTopic(BrokerContext& ctx, const Connection& connection,
                                    const RemotingCommand& request);
Response HandleGetAllTopicConfig(BrokerContext& ctx, const Connection& connection,
                                 const RemotingCommand& request);

// The response to `request` with `code` and `remark` (an error, or SUCCESS without a header).
RemotingCommand Reply(const RemotingCommand& request, int32_t code, std::string remark = {});

}  // namespace apogee::broker
