#include "core/client/transaction_producer.h"

#include <fmt/format.h>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"
#include "core/store/message_record.h"

namespace apogee::client {

namespace prop = protocol::property;
using protocol::TransactionOutcome;

std::string_view ToString(LocalTransactionState state) {
  switch (state) {
    case LocalTransactionState::kCommit:
      return "COMMIT_MESSAGE";
    case LocalTransactionState::kRollback:
      return "ROLLBACK_MESSAGE";
    case LocalTransactionState::kUnknown:
      return "UNKNOW";
  }
  return "?";
}

TransactionOutcome OutcomeOf(LocalTransactionState state) {
  switch (state) {
    case LocalTransactionState::kCommit:
      return TransactionOutcome::kCommit;
    case LocalTransactionState::kRollback:
      return TransactionOutcome::kRollback;
    case LocalTransactionState::kUnknown:
      return TransactionOutcome::kUnknown;
  }
  return TransactionOutcome::kUnknown;
}

TransactionProducer::TransactionProducer(std::shared_ptr<ClientInstance> instance,
                                         ProducerConfig config, TransactionCheckListener listener,
                                         size_t checks_in_flight_max)
    : instance_(instance),
      producer_(std::move(instance), std::move(config)),
      listener_(std::move(listener)),
      checks_in_flight_max_(checks_in_flight_max) {
  APOGEE_ASSERT(listener_ != nullptr, "a transactional producer needs a check listener");
  APOGEE_ASSERT(checks_in_flight_max_ > 0);
}

TransactionProducer::~TransactionProducer() { Shutdown(); }

Status TransactionProducer::Start() {
  APOGEE_RETURN_IF_ERROR(producer_.Start());
  instance_->SetTransactionCheckHandler(
      producer_.config().group,
      [this](const std::string& broker_addr,
             const protocol::CheckTransactionStateRequestHeader& header,
             protocol::MessageExt message) { OnCheck(broker_addr, header, std::move(message)); });
  running_ = true;
  return Status::Ok();
}

void TransactionProducer::Shutdown() {
  if (!running_) return;
  running_ = false;
  instance_->SetTransactionCheckHandler(producer_.config().group, nullptr);
  // Each check fiber erases its own entry when it ends: join a copy.
  while (!checks_.empty()) {
    io::FiberHandle f = checks_.begin()->second;
    if (f.Join() == io::WakeReason::kKilled) return;
    checks_.erase(checks_.begin()->first);
  }
  producer_.Shutdown();
}

Result<TransactionSendResult> TransactionProducer::SendMessageInTransaction(
    const Message& msg, const LocalTransactionExecutor& executor, std::optional<Duration> timeout) {
  APOGEE_ASSERT(executor != nullptr);
  if (!running_) return Status(ErrorCode::kClosed, "the transactional producer is not running");
  Message half = msg;
  half.ClearProperty(prop::kDelay);
  half.SetProperty(prop::kTransactionPrepared, "true");
  half.SetProperty(prop::kProducerGroup, producer_.config().group);
  APOGEE_ASSIGN_OR_RETURN(SendResult sent, producer_.Send(half, timeout));  // may yield

  TransactionSendResult result;
  result.send = sent;
  result.transaction_id = sent.msg_id;
  if (sent.status == SendStatus::kSendOk) {
    half.SetUniqKey(sent.msg_id);
    result.local_state = executor(half, result.transaction_id);  // may yield
  } else {
    result.local_state = LocalTransactionState::kRollback;
  }

  protocol::EndTransactionRequestHeader h;
  h.producer_group = producer_.config().group;
  h.tran_state_table_offset = sent.queue_offset;
  h.commit_or_rollback = static_cast<int32_t>(OutcomeOf(result.local_state));
  h.from_transaction_check = false;
  h.msg_id = sent.msg_id;
  h.transaction_id = result.transaction_id;
  Result<store::OffsetMsgId> offset = store::ParseOffsetMsgId(sent.offset_msg_id);
  Result<std::string> addr =
      instance_->MasterAddressOrRefresh(sent.message_queue.broker_name, msg.topic);  // may yield
  if (!offset.ok()) {
    result.end_status = offset.status();
  } else if (!addr.ok()) {
    result.end_status = addr.status();
  } else {
    h.commit_log_offset = offset->commit_log_offset;
    result.end_status = EndTransaction(*addr, h);
  }
  if (!result.end_status.ok()) {
    stats_.end_failures++;
    LOG_WARN("producer {}: END_TRANSACTION {} of {} not sent: {}", h.producer_group,
             ToString(result.local_state), sent.msg_id, result.end_status.ToString());
  }
  return result;
}

Status TransactionProducer::EndTransaction(const std::string& broker_addr,
                                           const protocol::EndTransactionRequestHeader& header) {
  protocol::ExtFields f;
  header.Encode(f);
  return instance_->InvokeOneway(broker_addr,
                                 protocol::MakeRequest(protocol::request::kEndTransaction,
                                                       std::move(f)));  // may yield
}

void TransactionProducer::OnCheck(const std::string& broker_addr,
                                  const protocol::CheckTransactionStateRequestHeader& header,
                                  protocol::MessageExt message) {
  if (!running_) return;
  if (checks_.size() >= checks_in_flight_max_) {
    stats_.checks_dropped++;
    LOG_WARN("producer {}: {} checks in flight; one from {} dropped", producer_.config().group,
             checks_.size(), broker_addr);
    return;
  }
  const uint64_t id = next_check_id_++;
  auto fn = [this, id, broker_addr, header, message = std::move(message)] {
    LocalTransactionState state = listener_(message);  // may yield
    protocol::EndTransactionRequestHeader h;
    h.producer_group = producer_.config().group;
    h.tran_state_table_offset = header.tran_state_table_offset;
    h.commit_log_offset = header.commit_log_offset;
    h.commit_or_rollback = static_cast<int32_t>(OutcomeOf(state));
    h.from_transaction_check = true;
    h.msg_id = header.msg_id.value_or(message.UniqKey());
    h.transaction_id = header.transaction_id.has_value() ? header.transaction_id
                                                         : std::optional(message.UniqKey());
    stats_.checks++;
    Status s = EndTransaction(broker_addr, h);  // may yield
    if (!s.ok()) {
      stats_.end_failures++;
      LOG_WARN("producer {}: END_TRANSACTION for a check of {} not sent: {}", h.producer_group,
               h.msg_id, s.ToString());
    }
    checks_.erase(id);
  };
  checks_[id] = instance_->env().scheduler.Spawn("txn-check", std::move(fn));
}

}  // namespace apogee::client
