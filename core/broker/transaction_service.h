#pragma once

// TransactionService: RocketMQ 4.x transactional messages on the broker
// (TransactionalMessageServiceImpl, EndTransactionProcessor, TransactionalMessageCheckService).
//
// Half messages. The send path hands every single message to PrepareHalf(). A message whose
// TRAN_MSG property is "true" is stored in RMQ_SYS_TRANS_HALF_TOPIC queue 0 instead of its topic,
// with its destination saved in REAL_TOPIC / REAL_QID and the transaction bits of its sysFlag
// cleared (so that the half topic's consume queue indexes it). The send answer's queueOffset is
// its offset in the half queue, and its msgId (offsetMsgId) names its commit log offset.
//
// Outcomes (End, for END_TRANSACTION). The header names the half message by commit log offset
// and half queue offset and must come from its producer group; any mismatch is an error and
// changes nothing: no record at that offset, a record that is not a half message, a different
// PGROUP, a different queue offset. Then:
//   - commit: the message is put into REAL_TOPIC / REAL_QID (REAL_TOPIC and REAL_QID removed,
//     sysFlag commit type, PREPARED_TRANSACTION_OFFSET = the half's commit log offset, WAIT=false;
//     a DELAY level is honoured through the schedule service); only after that put succeeded,
//     an op record;
//   - rollback: an op record only;
//   - unknown: nothing; the check service asks later.
// The op record goes to RMQ_SYS_TRANS_OP_HALF_TOPIC, the half's queue id, TAGS "d", its body the
// half message's queue offset in decimal. An outcome for a half message that is resolved already
// is applied again (a second commit is a duplicate delivery: at-least-once, as in RocketMQ).
//
// Checks. Every check_interval one pass (CheckOnce) reads the op queue from its progress offset
// (the set of half queue offsets that are resolved) and then the half queue from its progress
// offset, up to the end the queue had when the pass began. For each half message in order:
// resolved -> passed; TRANSACTION_CHECK_TIMES >= check_max -> given up (put into
// TRANS_CHECK_MAX_TIME_TOPIC, never delivered); born less than transaction_timeout ago (or, on its
// first check, less than CHECK_IMMUNITY_TIME_IN_SECONDS when that is longer) -> the pass stops
// there; otherwise a copy with TRANSACTION_CHECK_TIMES + 1 is appended to the half queue and
// CHECK_TRANSACTION_STATE for the copy goes to one connected producer of its PGROUP (a check with
// no producer online still counts). The producer answers with END_TRANSACTION for the copy. A
// put that fails stops the pass; the message is tried again next pass.
//
// Durability: everything is in the store. The half offset and the op offset (the progress) are
// kept as the consumer offsets of group CID_RMQ_SYS_TRANS on the two topics, and are claimed
// there only once the commit log is durable past every record (op read, copy or give-up put)
// that justifies them, so after a crash the service starts from a point the store still backs.
// Anything resolved after that point is read again from the op queue; a half message whose op
// record a crash took back is checked again (at-least-once).
//
// Invariants: a message reaches REAL_TOPIC only through a commit that named its half message
// correctly; progress offsets only move forward within an incarnation; the half scan of one pass
// never reaches the copies it appended itself.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/broker/broker_config.h"
#include "core/broker/consumer_offset_manager.h"
#include "core/broker/schedule_service.h"
#include "core/io/env.h"
#include "core/io/sync.h"
#include "core/io/wait_queue.h"
#include "core/protocol/transaction_headers.h"
#include "core/remoting/command.h"
#include "core/store/message_store.h"

namespace apogee::broker {

// True when the encoded properties mark a transactional half message (TRAN_MSG=true, any case).
bool IsHalfMessage(std::string_view properties);

// What the send path stores instead of a half message. `properties` is owned here: keep this
// alive while the message ApplyTo() pointed at it is in use.
struct HalfRewrite {
  std::string properties;
  int32_t sys_flag = 0;
  void ApplyTo(store::MessageToStore& message) const;
};
// nullopt when `message` is not a half message.
std::optional<HalfRewrite> PrepareHalf(const store::MessageToStore& message);

// An END_TRANSACTION answer: SUCCESS or why not.
struct EndResult {
  int32_t code = 0;
  std::string remark;
  bool ok() const { return code == 0; }
};

struct TransactionStats {
  uint64_t commits = 0;       // real messages put by a commit
  uint64_t rollbacks = 0;     // rollbacks applied
  uint64_t unknown_ends = 0;  // END_TRANSACTION with the unknown outcome
  uint64_t end_errors = 0;    // END_TRANSACTION refused (bad offset, group, ...)
  uint64_t op_failures = 0;   // op records that could not be put
  uint64_t passes = 0;        // check passes
  uint64_t checks_sent = 0;   // CHECK_TRANSACTION_STATE handed to a producer connection
  uint64_t checks_no_producer = 0;
  uint64_t given_up = 0;      // half messages checked check_max times
  uint64_t put_failures = 0;  // copies or give-up puts that failed
};

// Sends a CHECK_TRANSACTION_STATE request to one producer of `group`; false when none is
// connected. Must not yield (the broker spawns the send).
using CheckSender = std::function<bool(const std::string& group, RemotingCommand request)>;

class TransactionService : public std::enable_shared_from_this<TransactionService> {
 public:
  // `offsets` holds the progress (CID_RMQ_SYS_TRANS); `schedule` (may be null) delays committed
  // messages with a DELAY level. Loads the progress; starts nothing.
  static std::shared_ptr<TransactionService> Create(io::Env& env,
                                                    std::shared_ptr<store::MessageStore> store,
                                                    const BrokerConfig& config,
                                                    ConsumerOffsetManager* offsets,
                                                    std::shared_ptr<ScheduleService> schedule,
                                                    CheckSender sender);
  ~TransactionService();
  TransactionService(const TransactionService&) = delete;
  TransactionService& operator=(const TransactionService&) = delete;

  // Spawns the check fiber (a pass every check_interval). REQUIRES: not started.
  void Start();
  // Stops the check fiber and claims the progress that is durable. May yield.
  void Stop();

  // END_TRANSACTION, as described above. May yield.
  EndResult End(const protocol::EndTransactionRequestHeader& header);
  // One check pass, as described above. May yield.
  void CheckOnce();

  struct Progress {
    int64_t half = 0;  // half queue offsets below it need nothing more
    int64_t op = 0;    // op records below it refer to half offsets below `half`
  };
  const Progress& progress() const { return progress_; }
  const TransactionStats& stats() const { return stats_; }

 private:
  TransactionService(io::Env& env, std::shared_ptr<store::MessageStore> store,
                     const BrokerConfig& config, ConsumerOffsetManager* offsets,
                     std::shared_ptr<ScheduleService> schedule, CheckSender sender);
  // Calls fn on each record of `topic` queue 0 in [from, end) in order until fn returns false,
  // `limit` records were read, or the store has nothing more to serve. Returns the offset after
  // the last record fn accepted. May yield.
  int64_t Scan(std::string_view topic, int64_t from, int64_t end, size_t limit,
               const std::function<bool(const store::RecordView&)>& fn);
  // Handles one half message of a pass; false stops the pass there. May yield.
  bool CheckHalf(const store::RecordView& half, int64_t* justified_end);
  Status PutOp(const store::RecordView& half);
  void SendCheck(const store::RecordView& copy, std::string_view group);
  // Moves the claimable progress into the offset manager.
  void ClaimDurable();
  void Loop();

  io::Env& env_;
  std::shared_ptr<store::MessageStore> store_;
  const BrokerConfig config_;
  ConsumerOffsetManager* offsets_;
  std::shared_ptr<ScheduleService> schedule_;
  CheckSender sender_;
  Progress progress_;
  // Progress reached, each with the commit log end it needs durable before it may be claimed.
  struct Pending {
    Progress progress;
    int64_t log_end = 0;
  };
  std::deque<Pending> pending_;
  bool started_ = false;
  bool stopping_ = false;
  io::WaitQueue wake_;
  io::Mutex pass_mu_;  // one pass at a time (the fiber, and tests calling CheckOnce)
  io::FiberHandle fiber_;
  TransactionStats stats_;
};

}  // namespace apogee::broker
