#pragma once

// The history of a cluster run, Jepsen-style: every send as an operation that was invoked and
// then completed ok (with the queue and offset the broker gave it), failed, or stayed unknown
// (info: a timeout or a lost connection, the message may or may not be stored); every delivery
// of a message to a consumer, with what the listener answered; every consumer offset commit;
// what reached the dead-letter queues; the brokers' process starts and wall-clock offsets.
// Messages are identified by their KEYS property, which the workload makes unique
// ("producer-1.2-17": producer 1, its second incarnation, message 17), so a message sent with an
// unknown outcome can still be recognised when it is delivered.
//
// The history is filled by the node code of the harness and read by the checkers
// (scenarios/checkers.h), which are pure functions of it.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/base/time.h"
#include "core/protocol/bodies.h"

namespace apogee::sim {

using protocol::MessageQueue;

enum class OpOutcome : uint8_t { kPending, kOk, kFail, kInfo };
const char* OpOutcomeName(OpOutcome outcome);

struct SendOp {
  std::string producer;  // node name
  std::string key;       // unique per message
  std::string topic;
  Instant invoked{};
  Instant completed{};
  OpOutcome outcome = OpOutcome::kPending;
  std::string error;   // fail / info: why
  std::string msg_id;  // ok: the client's message id (UNIQ_KEY)
  MessageQueue queue;  // ok: where the broker stored it
  // ok: its offset in `queue`; for a delayed message (delay_level > 0), its offset in the
  // broker's SCHEDULE_TOPIC_XXXX queue instead (the copy gets its own offset in `queue` later).
  int64_t offset = -1;
  int32_t delay_level = 0;  // the DELAY property: 0 none, else 1..n
  std::string order_key;    // keyed sends: the selector's key (one queue per key); else empty
  uint32_t body_crc = 0;    // CRC32 of the body sent
};

enum class ConsumeOutcome : uint8_t { kOk, kFailed };

struct Delivery {
  std::string group;
  std::string consumer;  // node name
  MessageQueue queue;    // the queue it was pulled from (the original topic for retries)
  int64_t offset = -1;
  std::string key;
  std::string msg_id;
  int32_t reconsume_times = 0;
  Instant at{};
  // What the listener answered: kFailed is RECONSUME_LATER (concurrent) or
  // SUSPEND_CURRENT_QUEUE_A_MOMENT (orderly); the client then sends it back or retries it.
  ConsumeOutcome outcome = ConsumeOutcome::kOk;
  uint32_t body_crc = 0;  // CRC32 of the body delivered
};

// A consumer offset commit as the client sent it (UPDATE_CONSUMER_OFFSET, or a pull's
// commitOffset), recorded when sent; `acked` once the broker answered it. A commit that was not
// acknowledged may or may not have been applied.
struct OffsetCommit {
  std::string group;
  std::string consumer;  // node name
  uint32_t incarnation = 0;
  MessageQueue queue;
  int64_t offset = -1;
  Instant at{};  // sent
  bool acked = false;
};

// A message read from a group's dead-letter queue (%DLQ%<group>) by the harness's DLQ reader.
struct DlqRecord {
  std::string group;
  std::string key;
  std::string msg_id;
  std::string broker;
  int64_t offset = -1;  // in the DLQ queue
  int32_t reconsume_times = 0;
  uint32_t body_crc = 0;
  Instant at{};  // when the reader read it: the message reached the DLQ before
};

// A process start of a node (a broker's restart loses what it had not persisted).
struct NodeStart {
  std::string node;
  uint32_t incarnation = 0;
  Instant at{};
};

// A broker's wall clock minus true (virtual) time, sampled every clock_sample_period and
// recorded when it changed: between two samples the offset is taken to be the earlier one's.
struct ClockSample {
  std::string node;
  Instant at{};
  Duration offset{};
};

// What a consumer group is, for the checkers.
struct GroupInfo {
  std::string name;
  std::string topic;  // the topic it subscribes to (every tag)
  bool broadcasting = false;
  bool orderly = false;
  std::vector<std::string> consumers;  // node names
  // The consumer's maxReconsumeTimes in effect: a message goes to %DLQ%<group> after failing
  // this many redeliveries (max + 1 failures in all). -1: never (orderly, unbounded).
  int32_t max_reconsume_times = 16;
};

// The final state of the brokers' stores, read after a run by the harness's auditor: the keys of
// every message a queue of the workload's topic still holds. It tells a message that was lost
// (acknowledged, gone from every store) from one that was only not delivered (still stored).
//
// `refused`: the positions (queue, offset) within a queue's range that the broker would not
// serve: the record or its consume-queue entry failed validation (CRC, position) and the store
// skipped it. Only damaged data does that; each flipped bit can damage at most one record or
// one consume-queue entry.
// One record of the workload topic the auditor read, with the CRC of the body it was served.
struct AuditRead {
  std::string key;
  MessageQueue queue;
  int64_t offset = 0;
  uint32_t body_crc = 0;
};

struct StoreAudit {
  bool done = false;
  std::set<std::string> keys;
  uint64_t records = 0;
  std::set<std::pair<MessageQueue, int64_t>> refused;
  // Every record of the workload topic it read, in reading order: the body checker holds these
  // to the bodies sent as it holds deliveries (a store serves a corrupted record to whoever
  // reads it, consumer or not).
  std::vector<AuditRead> reads;
};

// A transactional send (ClusterSpec::transaction_fraction). The local transaction's decision is
// the harness's own record, kept outside the producer node (a database that outlives its
// crashes): it is the truth the producers' check listeners answer from, and what the
// "transactions all-or-nothing" checker judges deliveries against. The same key is in `sends`
// with outcome info (never required by the acknowledged-message checkers, never a phantom).
enum class TxnDecision : uint8_t {
  kNone,  // the local transaction never ran (the half send failed, or the producer crashed)
  kCommit,
  kRollback,
};

struct TxnRecord {
  std::string key;
  std::string producer;  // node name
  std::string topic;
  Instant invoked{};
  bool half_acked = false;  // the half message's send answered SEND_OK
  TxnDecision decision = TxnDecision::kNone;
  // What the producer's END_TRANSACTION carried ("COMMIT_MESSAGE", "ROLLBACK_MESSAGE",
  // "UNKNOW"), "" when none was sent (the producer crashed first, or the send failed).
  std::string end_sent;
};

struct History {
  std::vector<SendOp> sends;
  std::vector<Delivery> deliveries;
  std::vector<GroupInfo> groups;
  StoreAudit audit;
  std::vector<OffsetCommit> commits;
  std::vector<DlqRecord> dlq;
  std::vector<NodeStart> broker_starts;
  std::vector<ClockSample> clocks;
  Duration clock_sample_period{};
  // The brokers' delay levels (messageDelayLevel): level n waits delay_levels[n - 1].
  std::vector<Duration> delay_levels;
  // Bits the fault plan flipped on brokers' disks (set by the runner before the checks).
  uint64_t bit_flips = 0;
  std::vector<TxnRecord> transactions;

  // Index of a new send, invoked now.
  size_t Invoke(SendOp op) {
    sends.push_back(std::move(op));
    return sends.size() - 1;
  }
};

}  // namespace apogee::sim
