#pragma once

// ConsumerOffsetManager: the offset each consumer group has committed for each queue
// (RocketMQ's ConsumerOffsetManager), kept in memory and persisted as one JSON file,
// store_root/config/consumerOffset.json:
//
//   {"offsetTable":{"TopicA@group1":{"0":12,"1":3}}}
//
// (RocketMQ's own file has bare numeric queue keys, `{0:12}`; Load accepts both forms.)
//
// Durability: Persist() writes the whole table through a temporary file, syncs it, renames it
// over the old one and syncs the directory (io::Disk::WriteAtomically), so a crash leaves either
// the previous or the new table, never a torn one. The broker persists every
// offset_flush_interval and at shutdown. After a crash the recovered offsets are therefore those
// of the last completed Persist(): possibly older than the last commit (consumers see some
// messages again: at-least-once), never newer than anything that was committed. Load() callers
// clamp each offset to its queue's max offset (ClampTo), since the store may have lost its
// unsynced tail in the same crash.
//
// Invariants: every stored offset is >= 0; persisting_ serializes Persist() calls, so two
// writers never interleave on the temporary file.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/status.h"
#include "core/io/env.h"
#include "core/io/sync.h"

namespace apogee::broker {

class ConsumerOffsetManager {
 public:
  // `path` is the file relative to the node's disk root. Nothing is read until Load().
  ConsumerOffsetManager(io::Env& env, std::string path);

  // Reads the file if it exists (an absent file is an empty table). A file that does not parse
  // is kCorruption: the broker refuses to start rather than silently rewind every group.
  // May yield.
  Status Load();
  // Writes the table durably (see above). Serialized with other Persist() calls. May yield.
  Status Persist();

  // Records `offset` for (group, topic, queue). Negative offsets are ignored (RocketMQ clients
  // never commit one; a -1 would mean "none").
  void Commit(std::string_view group, std::string_view topic, int32_t queue_id, int64_t offset);
  // The committed offset, or nullopt when the group never committed one for that queue.
  std::optional<int64_t> Query(std::string_view group, std::string_view topic,
                               int32_t queue_id) const;

  // Lowers every offset above its queue's max offset to it. `max_offset(topic, queue)` returns
  // -1 for a queue the store does not have (then the offset becomes 0). Returns how many
  // offsets were lowered.
  size_t ClampTo(
      const std::function<int64_t(std::string_view topic, int32_t queue_id)>& max_offset);

  // Changes since the last successful Persist() (a flusher may skip clean tables).
  bool dirty() const { return dirty_; }
  size_t size() const;
  const std::string& path() const { return path_; }

  // The JSON text of the table, and its parse (exposed for tests).
  std::string ToJson() const;
  Status FromJson(std::string_view text);

 private:
  using QueueOffsets = std::map<int32_t, int64_t>;
  // (topic, group); the file writes it "topic@group" as RocketMQ does (topic names cannot hold
  // '@', so the first '@' splits it back).
  using Key = std::pair<std::string, std::string>;

  io::Env& env_;
  std::string path_;
  std::map<Key, QueueOffsets> table_;
  bool dirty_ = false;
  io::Mutex persisting_;
};

}  // namespace apogee::broker
