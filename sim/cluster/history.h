#pragma once

// The history of a cluster run, Jepsen-style: every send as an operation that was invoked and
// then completed ok (with the queue and offset the broker gave it), failed, or stayed unknown
// (info: a timeout or a lost connection, the message may or may not be stored); every delivery
// of a message to a consumer. Messages are identified by their KEYS property, which the
// workload makes unique ("p0-17": producer 0, its 17th message), so a message sent with an
// unknown outcome can still be recognised when it is delivered.
//
// The history is filled by the node code of the harness and read by the checkers
// (scenarios/checkers.h), which are pure functions of it.

#include <cstdint>
#include <map>
#include <set>
#include <string>
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
  int64_t offset = -1;
};

struct Delivery {
  std::string group;
  std::string consumer;  // node name
  MessageQueue queue;    // the queue it was pulled from (the original topic for retries)
  int64_t offset = -1;
  std::string key;
  std::string msg_id;
  int32_t reconsume_times = 0;
  Instant at{};
};

// What a consumer group is, for the checkers.
struct GroupInfo {
  std::string name;
  std::string topic;  // the topic it subscribes to (every tag)
  bool broadcasting = false;
  bool orderly = false;
  std::vector<std::string> consumers;  // node names
};

// The final state of the brokers' stores, read after a run by the harness's auditor: the keys of
// every message a queue of the workload's topic still holds. It tells a message that was lost
// (acknowledged, gone from every store) from one that was only not delivered (still stored).
struct StoreAudit {
  bool done = false;
  std::set<std::string> keys;
  uint64_t records = 0;
};

struct History {
  std::vector<SendOp> sends;
  std::vector<Delivery> deliveries;
  std::vector<GroupInfo> groups;
  StoreAudit audit;

  // Index of a new send, invoked now.
  size_t Invoke(SendOp op) {
    sends.push_back(std::move(op));
    return sends.size() - 1;
  }
};

}  // namespace apogee::sim
