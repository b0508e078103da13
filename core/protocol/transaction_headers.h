#pragma once

// Transactional messages on the wire (/work/shared/rocketmq-protocol.md sections 3 and 6):
// END_TRANSACTION (37, producer -> broker, oneway) and CHECK_TRANSACTION_STATE (39, broker ->
// producer, oneway, the half message in the body), and the names both sides agree on.
//
// A transaction: the producer sends a half message (property TRAN_MSG=true, PGROUP=its group,
// sysFlag bit 0x4); the broker stores it in RMQ_SYS_TRANS_HALF_TOPIC queue 0 and answers with
// its queue offset there. The producer runs its local transaction and sends END_TRANSACTION
// naming the half message by commit log offset (from the answer's offsetMsgId) and queue offset
// (tranStateTableOffset). A half message left unresolved is asked about with
// CHECK_TRANSACTION_STATE; the producer answers with another END_TRANSACTION
// (fromTransactionCheck=true).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/status.h"
#include "core/protocol/fields.h"

namespace apogee::protocol {

// System topics and the broker's own consumer group for their progress.
inline constexpr char kTransHalfTopic[] = "RMQ_SYS_TRANS_HALF_TOPIC";
inline constexpr char kTransOpHalfTopic[] = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
// Where half messages checked too often are put aside (never consumed by anyone).
inline constexpr char kTransCheckMaxTimeTopic[] = "TRANS_CHECK_MAX_TIME_TOPIC";
inline constexpr char kTransSystemGroup[] = "CID_RMQ_SYS_TRANS";
// The TAGS of an op record ("remove"): its body is the half message's queue offset in decimal.
inline constexpr char kTransOpRemoveTag[] = "d";

// commitOrRollback values: the message sysFlag's transaction type.
enum class TransactionOutcome : int32_t {
  kUnknown = 0x0,   // TRANSACTION_NOT_TYPE: the producer does not know yet
  kCommit = 0x8,    // TRANSACTION_COMMIT_TYPE
  kRollback = 0xC,  // TRANSACTION_ROLLBACK_TYPE
};
// The outcome a wire value names, or nullopt for any other value.
std::optional<TransactionOutcome> ParseTransactionOutcome(int32_t value);
std::string_view TransactionOutcomeName(TransactionOutcome outcome);

// END_TRANSACTION.
struct EndTransactionRequestHeader {
  std::string producer_group;
  int64_t tran_state_table_offset = 0;  // the half message's queue offset in the half topic
  int64_t commit_log_offset = 0;        // the half message's commit log offset
  int32_t commit_or_rollback = 0;       // a TransactionOutcome, as sent (may be anything)
  bool from_transaction_check = false;
  std::string msg_id;  // the client's message id (UNIQ_KEY)
  std::optional<std::string> transaction_id;

  static Result<EndTransactionRequestHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

// CHECK_TRANSACTION_STATE.
struct CheckTransactionStateRequestHeader {
  int64_t tran_state_table_offset = 0;
  int64_t commit_log_offset = 0;
  std::optional<std::string> msg_id;
  std::optional<std::string> transaction_id;
  std::optional<std::string> offset_msg_id;

  static Result<CheckTransactionStateRequestHeader> Decode(const ExtFields& fields);
  void Encode(ExtFields& fields) const;
};

}  // namespace apogee::protocol
