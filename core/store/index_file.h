#pragma once

// One index file: its on-disk format (RocketMQ's IndexFile), the codecs of its header and
// entries, and the reads a query makes of a sealed file. IndexService (index_service.h) owns the
// set of files, the active file's in-memory slot table and the durability protocol.
//
// Format (all integers big-endian; a file of shape {slots, entries_max}):
//
//   offset 0            header, 40 bytes:
//                         int64 beginTimestamp  store time (ms) of entry 1
//                         int64 endTimestamp    store time (ms) of the last entry (exact when
//                                               written; to the second after a rebuild)
//                         int64 beginPhyOffset  commit log offset of entry 1
//                         int64 endPhyOffset    commit log offset of the last entry
//                         int32 hashSlotCount   slots that are not empty
//                         int32 indexCount      1 + entries; entry 0 is never used
//   offset 40           slots x int32: the index of the newest entry whose keyHash % slots is
//                       this slot, 0 = none. Written only when the file is sealed.
//   offset 40+4*slots   entries_max x 20-byte entries (entry 0 unused, all zeros):
//                         int32 keyHash   abs(JavaStringHash(topic + "#" + key)), INT_MIN -> 0
//                         int64 phyOffset the commit log offset of the record
//                         int32 timeDiff  floor((storeTimestamp - beginTimestamp) / 1000) s
//                         int32 prevIndex the previous (older) entry of the same slot, 0 = none
//
// A file holds at most entries_max - 1 entries, as in RocketMQ (indexCount < maxIndexNum); it is
// full when indexCount == entries_max and a sealed file is exactly FileBytes() long. Sealed files
// are byte-compatible with RocketMQ's, except that a store time earlier than beginTimestamp (a
// clock step back) keeps its negative timeDiff where RocketMQ writes 0.
//
// Files are named by a 20-digit zero-padded sequence number ("00000000000000000003"), one more
// than the newest file ever listed in the directory, so names sort in creation order and are
// never reused. Wall time cannot name them: it is not monotonic and not the simulator's.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/io/disk.h"

namespace apogee::store {

inline constexpr uint64_t kIndexHeaderBytes = 40;
inline constexpr uint64_t kIndexSlotBytes = 4;
inline constexpr uint64_t kIndexEntryBytes = 20;
inline constexpr size_t kIndexFileNameLength = 20;

struct IndexHeader {
  int64_t begin_timestamp_ms = 0;
  int64_t end_timestamp_ms = 0;
  int64_t begin_phy_offset = 0;
  int64_t end_phy_offset = 0;
  int32_t hash_slot_count = 0;
  int32_t index_count = 1;  // entry 0 is unused, so an empty file counts 1

  void EncodeTo(uint8_t* out) const;  // REQUIRES: out has kIndexHeaderBytes
  static IndexHeader DecodeFrom(const uint8_t* in);
};

struct IndexEntry {
  int32_t key_hash = 0;
  int64_t phy_offset = 0;
  int32_t time_diff_s = 0;
  int32_t prev_index = 0;

  void EncodeTo(uint8_t* out) const;  // REQUIRES: out has kIndexEntryBytes
  static IndexEntry DecodeFrom(const uint8_t* in);
};

// The size of a file and where its parts lie.
struct IndexShape {
  uint32_t slots = 0;        // REQUIRES: >= 1
  uint32_t entries_max = 0;  // REQUIRES: >= 2 and <= INT32_MAX (entry 0 is unused)

  uint64_t SlotOffset(uint32_t slot) const { return kIndexHeaderBytes + kIndexSlotBytes * slot; }
  uint64_t EntryOffset(uint32_t index) const {
    return kIndexHeaderBytes + kIndexSlotBytes * slots + kIndexEntryBytes * index;
  }
  uint64_t FileBytes() const { return EntryOffset(entries_max); }
  uint32_t SlotOf(int32_t key_hash) const { return static_cast<uint32_t>(key_hash) % slots; }
};

// abs(JavaStringHash(topic + "#" + key)) with Java's Math.abs(INT_MIN) mapped to 0, so the
// result is never negative. Builds "topic#key" in *scratch, which it reuses (no allocation once
// the scratch is long enough).
int32_t IndexKeyHash(std::string_view topic, std::string_view key, std::string* scratch);

// floor((store_ms - begin_ms) / 1000), clamped to int32 (68 years either way).
int32_t IndexTimeDiff(int64_t store_ms, int64_t begin_ms);

// Whether an entry stored at second `begin_ms + time_diff_s * 1000` may have a store time in
// [window_begin_ms, window_end_ms]. The entry's time is known only to the second, so this keeps
// every entry whose second [t, t + 999] meets the window: a superset the caller narrows by reading
// the record's STORETIMESTAMP.
bool IndexTimeMayMatch(int64_t begin_ms, int32_t time_diff_s, int64_t window_begin_ms,
                       int64_t window_end_ms);

// "00000000000000000042" for 42, and back; nullopt for any other name.
std::string IndexFileName(uint64_t sequence);
std::optional<uint64_t> ParseIndexFileName(std::string_view name);

// What a query looks for and where it collects answers.
struct IndexQuery {
  int32_t key_hash = 0;
  int64_t begin_ms = 0;
  int64_t end_ms = 0;
  size_t max_count = 0;
  std::vector<int64_t>* out = nullptr;  // matches are appended, newest first
};

// Walks one slot's chain from `head`, newest entry first, appending the phy offset of every entry
// with the query's key hash and a store time that may lie in the window, until the chain ends or
// out holds max_count. `get(index)` returns Result<IndexEntry> for 1 <= index < index_count and
// may yield. The chain is untrusted (a torn or corrupt file): an index outside [1, index_count) or
// not below the previous one ends it, so the walk takes fewer than index_count steps.
template <typename GetEntry>
Status WalkIndexChain(uint32_t head, int32_t index_count, int64_t begin_timestamp_ms,
                      const IndexQuery& q, GetEntry&& get) {
  APOGEE_ASSERT(q.out != nullptr);
  APOGEE_ASSERT(index_count >= 1);
  uint32_t next = head;
  uint32_t bound = static_cast<uint32_t>(index_count);  // every index must lie below this
  for (uint32_t steps = 0; steps < static_cast<uint32_t>(index_count); steps++) {
    if (q.out->size() >= q.max_count) break;
    if (next == 0 || next >= bound) break;
    Result<IndexEntry> entry = get(next);
    if (!entry.ok()) return entry.status();
    if (entry->key_hash == q.key_hash &&
        IndexTimeMayMatch(begin_timestamp_ms, entry->time_diff_s, q.begin_ms, q.end_ms)) {
      q.out->push_back(entry->phy_offset);
    }
    bound = next;
    next = entry->prev_index < 0 ? 0 : static_cast<uint32_t>(entry->prev_index);
  }
  return Status::Ok();
}

// A sealed (full) file: its header and slot table are on disk and never change again; queries
// read them with ReadAt. Only its header stays in memory.
class SealedIndexFile {
 public:
  SealedIndexFile(uint64_t sequence, std::string path, std::shared_ptr<io::File> file,
                  IndexHeader header, IndexShape shape);

  // Reads and checks a file that must be sealed: its header says full and it is FileBytes()
  // long; kCorruption otherwise. May yield.
  static Result<std::shared_ptr<SealedIndexFile>> Open(io::Disk& disk, uint64_t sequence,
                                                       std::string path, IndexShape shape);

  // Appends matches to q.out (see WalkIndexChain). May yield.
  Status Query(const IndexQuery& q) const;

  uint64_t sequence() const { return sequence_; }
  const std::string& path() const { return path_; }
  const IndexHeader& header() const { return header_; }

 private:
  uint64_t sequence_;
  std::string path_;
  std::shared_ptr<io::File> file_;
  IndexHeader header_;
  IndexShape shape_;
};

// Reads the header at offset 0; nullopt when the file is shorter than a header. May yield.
Result<std::optional<IndexHeader>> ReadIndexHeader(io::File& file);
// Reads entry `index`; kCorruption when the file ends before it. May yield.
Result<IndexEntry> ReadIndexEntry(io::File& file, const IndexShape& shape, uint32_t index);

}  // namespace apogee::store
