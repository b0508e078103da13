#pragma once

// The checkpoint file ("checkpoint") and the abort marker ("abort").
//
// Checkpoint layout (big-endian, 64 bytes, rewritten in place at offset 0 and synced; it lies
// within one 512-byte sector, so a crash leaves the old or the new contents, and the CRC catches
// anything else):
//   0   int64 physic_msg_timestamp_ms    RocketMQ's three timestamps, kept for operators' tools
//   8   int64 logics_msg_timestamp_ms
//   16  int64 index_msg_timestamp_ms
//   24  uint32 magic "APCK" (0x4150434B)
//   28  uint32 version (1)
//   32  int64 commit_log_flushed         every byte below it was durable when this was written
//   40  int64 consume_queue_flushed      every record below it was in the synced consume queues
//   48  int64 index_flushed              every record below it was in the synced index
//   56  uint32 crc32 of bytes [0, 56)
//   60  uint32 zero
// Recovery scans the commit log from min(commit_log_flushed, consume_queue_flushed,
// index_flushed): everything before that is known good.
//
// The abort marker exists while a store is open: created (and its name synced) at open,
// removed at a clean shutdown. Finding it at open means the last run did not shut down cleanly.

#include <cstdint>
#include <optional>
#include <string>

#include "core/base/status.h"
#include "core/io/disk.h"

namespace apogee::store {

struct Checkpoint {
  int64_t physic_msg_timestamp_ms = 0;
  int64_t logics_msg_timestamp_ms = 0;
  int64_t index_msg_timestamp_ms = 0;
  int64_t commit_log_flushed = 0;
  int64_t consume_queue_flushed = 0;
  int64_t index_flushed = 0;
  bool operator==(const Checkpoint&) const = default;
};

inline constexpr size_t kCheckpointBytes = 64;
inline constexpr char kCheckpointFile[] = "checkpoint";
inline constexpr char kAbortFile[] = "abort";

void EncodeCheckpoint(const Checkpoint& cp, uint8_t* out);  // kCheckpointBytes
// nullopt when the bytes are not a valid checkpoint (short, wrong magic or version, bad CRC).
std::optional<Checkpoint> DecodeCheckpoint(const uint8_t* in, size_t size);

// Reads the checkpoint; nullopt when missing or invalid (then recovery scans everything).
// Errors other than kNotFound are returned. May yield.
Result<std::optional<Checkpoint>> ReadCheckpoint(io::Disk& disk, const std::string& path);
// Writes it in place and syncs it and its directory (the file may be new).
// May yield.
Status WriteCheckpoint(io::Disk& disk, const std::string& path, const Checkpoint& cp);

}  // namespace apogee::store
