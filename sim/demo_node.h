#pragma once

// The demo scenario's node program: a tiny durable mailbox. Each node accepts framed messages
// from its peers, appends each to its inbox file, syncs, and only then acknowledges it. Each node
// also sends messages to every peer, resending over new connections until acknowledged. It
// exercises the whole seam (fibers, primitives, network, disk, clock, random, buggify) the way
// real nodes will, and its promise is simple to check: an acknowledged message is in the
// receiver's inbox after any crash, and nothing is ever read back that was not sent intact.
//
// Frame (network and inbox file alike), big-endian:
//   u32 payload_bytes | u32 masked CRC32 of payload | payload
//   payload = u8 type (1 message, 2 ack) | u64 message id | [u32 sender index, body]
// The body is a pure function of the message id, so any reader can tell a corrupted one.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/io/env.h"

namespace apogee::sim::demo {

inline constexpr uint16_t kPort = 7000;
inline constexpr uint32_t kPayloadBytesMax = 4096;
inline constexpr const char* kInboxPath = "inbox.log";

struct InboxRecord {
  uint64_t id = 0;
  uint32_t sender = 0;
  uint64_t offset = 0;
};

// The deterministic body of message `id`.
std::vector<uint8_t> MessageBody(uint64_t id);
std::vector<uint8_t> EncodeMessage(uint64_t id, uint32_t sender);
std::vector<uint8_t> EncodeAck(uint64_t id);

// Parses an inbox image. A frame that is short, too large, fails its CRC, or has a body that is
// not MessageBody(id) is damage: parsing skips it and resumes at the next valid frame, counting
// it in *damaged (a bit flip in durable data costs that one record, not the rest of the log).
// Damage with no valid frame after it is the torn tail; *valid_bytes is where it starts (the
// end of the last valid frame), which recovery cuts the file back to.
std::vector<InboxRecord> ParseInbox(std::span<const uint8_t> image, uint64_t* valid_bytes,
                                    uint64_t* damaged);

// What a node tells the scenario (the "history" the checks run on).
struct DemoObserver {
  // The node recovered its inbox at start: these records are what survived.
  std::function<void(uint32_t node, const std::vector<InboxRecord>& records, uint64_t cut_bytes)>
      on_recovered;
  // A sender got the acknowledgement of `id` from `receiver`.
  std::function<void(uint32_t sender, uint32_t receiver, uint64_t id)> on_acked;
  // Something a correct network or disk can never produce.
  std::function<void(std::string what)> on_violation;
};

struct DemoNodeConfig {
  uint32_t index = 0;
  std::vector<std::string> peer_hosts;  // index i is node i; our own entry is skipped
  DemoObserver* observer = nullptr;
};

// The node's main. Runs until the node is killed.
void RunDemoNode(io::Env& env, const DemoNodeConfig& config);

}  // namespace apogee::sim::demo
