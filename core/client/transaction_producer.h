#pragma once

// TransactionProducer: RocketMQ's TransactionMQProducer over a Producer.
//
// SendMessageInTransaction(msg, executor) (may yield):
//   1. the message is sent as a half message (TRAN_MSG=true, PGROUP=the group, sysFlag 0x4; a
//      DELAY level is dropped, as RocketMQ drops it) with the sync send's retry policy; if the
//      send fails the error is returned and nothing else happens;
//   2. on SEND_OK the executor runs the local transaction and says commit, rollback or unknown;
//      any other send status (flush or slave timeout) rolls back without running it;
//   3. END_TRANSACTION (oneway) tells the half message's broker the outcome (unknown included).
//      Its failure is reported in the result, not as an error: the broker will check.
// Checks: the broker's CHECK_TRANSACTION_STATE for this group runs the check listener on a fiber
// of its own (at most checks_in_flight_max at once; more are dropped, the broker asks again) and
// answers with END_TRANSACTION (fromTransactionCheck=true) to the broker that asked.
//
// Invariants: the executor and the listener are only called while the producer runs; after
// Shutdown() returns no check fiber runs.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/base/status.h"
#include "core/client/producer.h"
#include "core/protocol/transaction_headers.h"

namespace apogee::client {

enum class LocalTransactionState : uint8_t { kCommit, kRollback, kUnknown };
std::string_view ToString(LocalTransactionState state);
protocol::TransactionOutcome OutcomeOf(LocalTransactionState state);

// Runs the local transaction of a half message that was stored; `transaction_id` is its
// UNIQ_KEY. May yield.
using LocalTransactionExecutor =
    std::function<LocalTransactionState(const Message& msg, const std::string& transaction_id)>;
// Says what became of the local transaction of `msg` (a half message the broker asks about; its
// transaction id is its UNIQ_KEY). May yield.
using TransactionCheckListener =
    std::function<LocalTransactionState(const protocol::MessageExt& msg)>;

struct TransactionSendResult {
  SendResult send;
  LocalTransactionState local_state = LocalTransactionState::kUnknown;
  std::string transaction_id;
  // The END_TRANSACTION: OK when it was handed to the broker's connection.
  Status end_status;
};

struct TransactionProducerStats {
  uint64_t checks = 0;          // checks the listener answered
  uint64_t checks_dropped = 0;  // checks beyond checks_in_flight_max
  uint64_t end_failures = 0;    // END_TRANSACTION that could not be sent
};

class TransactionProducer {
 public:
  TransactionProducer(std::shared_ptr<ClientInstance> instance, ProducerConfig config,
                      TransactionCheckListener listener, size_t checks_in_flight_max = 2000);
  // Shuts down if started. May yield.
  ~TransactionProducer();
  TransactionProducer(const TransactionProducer&) = delete;
  TransactionProducer& operator=(const TransactionProducer&) = delete;

  // Starts the producer and takes the group's checks. Fails as Producer::Start().
  Status Start();
  // Stops taking checks, waits for the running ones, then shuts the producer down. Idempotent.
  // May yield.
  void Shutdown();

  // As described above. kInvalidArgument for an invalid message, kClosed when not running.
  Result<TransactionSendResult> SendMessageInTransaction(
      const Message& msg, const LocalTransactionExecutor& executor,
      std::optional<Duration> timeout = std::nullopt);

  Producer& producer() { return producer_; }
  const TransactionProducerStats& stats() const { return stats_; }
  size_t checks_in_flight() const { return checks_.size(); }

 private:
  void OnCheck(const std::string& broker_addr,
               const protocol::CheckTransactionStateRequestHeader& header,
               protocol::MessageExt message);
  Status EndTransaction(const std::string& broker_addr,
                        const protocol::EndTransactionRequestHeader& header);

  std::shared_ptr<ClientInstance> instance_;
  Producer producer_;
  TransactionCheckListener listener_;
  size_t checks_in_flight_max_;
  bool running_ = false;
  uint64_t next_check_id_ = 1;
  std::map<uint64_t, io::FiberHandle> checks_;  // by check id
  TransactionProducerStats stats_;
};

}  // namespace apogee::client
