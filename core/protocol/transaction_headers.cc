#include "core/protocol/transaction_headers.h"

namespace apogee::protocol {

std::optional<TransactionOutcome> ParseTransactionOutcome(int32_t value) {
  switch (value) {
    case static_cast<int32_t>(TransactionOutcome::kUnknown):
      return TransactionOutcome::kUnknown;
    case static_cast<int32_t>(TransactionOutcome::kCommit):
      return TransactionOutcome::kCommit;
    case static_cast<int32_t>(TransactionOutcome::kRollback):
      return TransactionOutcome::kRollback;
    default:
      return std::nullopt;
  }
}

std::string_view TransactionOutcomeName(TransactionOutcome outcome) {
  switch (outcome) {
    case TransactionOutcome::kUnknown:
      return "UNKNOW";
    case TransactionOutcome::kCommit:
      return "COMMIT_MESSAGE";
    case TransactionOutcome::kRollback:
      return "ROLLBACK_MESSAGE";
  }
  return "?";
}

Result<EndTransactionRequestHeader> EndTransactionRequestHeader::Decode(const ExtFields& fields) {
  FieldReader r(fields);
  EndTransactionRequestHeader h;
  h.producer_group = r.String("producerGroup");
  h.tran_state_table_offset = r.Int64("tranStateTableOffset");
  h.commit_log_offset = r.Int64("commitLogOffset");
  h.commit_or_rollback = r.Int32("commitOrRollback");
  h.from_transaction_check = r.OptBool("fromTransactionCheck").value_or(false);
  h.msg_id = r.String("msgId");
  h.transaction_id = r.OptString("transactionId");
  if (!r.status().ok()) return r.status();
  return h;
}

void EndTransactionRequestHeader::Encode(ExtFields& f) const {
  SetField(f, "producerGroup", producer_group);
  SetField(f, "tranStateTableOffset", tran_state_table_offset);
  SetField(f, "commitLogOffset", commit_log_offset);
  SetField(f, "commitOrRollback", commit_or_rollback);
  SetField(f, "fromTransactionCheck", from_transaction_check);
  SetField(f, "msgId", msg_id);
  SetOptField(f, "transactionId", transaction_id);
}

Result<CheckTransactionStateRequestHeader> CheckTransactionStateRequestHeader::Decode(
    const ExtFields& fields) {
  FieldReader r(fields);
  CheckTransactionStateRequestHeader h;
  h.tran_state_table_offset = r.Int64("tranStateTableOffset");
  h.commit_log_offset = r.Int64("commitLogOffset");
  h.msg_id = r.OptString("msgId");
  h.transaction_id = r.OptString("transactionId");
  h.offset_msg_id = r.OptString("offsetMsgId");
  if (!r.status().ok()) return r.status();
  return h;
}

void CheckTransactionStateRequestHeader::Encode(ExtFields& f) const {
  SetField(f, "tranStateTableOffset", tran_state_table_offset);
  SetField(f, "commitLogOffset", commit_log_offset);
  SetOptField(f, "msgId", msg_id);
  SetOptField(f, "transactionId", transaction_id);
  SetOptField(f, "offsetMsgId", offset_msg_id);
}

}  // namespace apogee::protocol
