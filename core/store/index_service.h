#pragma once

// IndexService: the message index of the store, which finds messages by key. The dispatcher
// adds `topic#KEY` (each KEYS word) and `topic#UNIQ_KEY` of every record in commit log order;
// QueryMessage / ViewMessageById ask for the commit log offsets of a key, newest first.
//
// Storage: a directory of index files (index_file.h has the byte format), oldest first by their
// 20-digit sequence names. Every file but the newest is sealed: full, with its slot table and
// header on disk, read with ReadAt and never written again. The newest files are open: Add puts
// entries in an in-memory buffer and the slot table of each open file lives only in memory until
// the file is sealed. Usually one file is open (the active one); when Add fills it before a Flush
// seals it, Add opens the next one in memory, so several may be open for a while.
//
// Memory: for each open file its slot table (4 * slots bytes) and its buffered entries (20 bytes
// each), plus one spare slot table that Flush prepares once the active file is half full so that
// Add need not allocate a table on the put path; for each sealed file a small handle.
//
// Durability (what survives a crash):
//   - After Flush() returns OK, every entry added before the call is durable and Load finds it:
//     Flush writes an open file's buffered entries, syncs, and only then writes its header (whose
//     indexCount says how many entries are valid) and syncs again. A full file is sealed: its
//     slot table is written with that header, and only after they are synced is the next file
//     created (and the directory synced), so every file but the newest is sealed on disk.
//   - A crash may lose entries added since the last successful Flush, and whatever a failed
//     Flush wrote: a failed Flush advances nothing, and the next one writes the same bytes again.
//     Entries past the header's indexCount are ignored, so a torn or half-written Flush is
//     harmless. The store learns what survived from last_commit_log_offset() after Load and
//     re-dispatches the records after it.
//   - Load trusts sealed files as written. It rebuilds the newest file's slot table from its
//     entries 1..indexCount-1 (never from its on-disk slots), checking each entry is exactly what
//     Add would have written (hash non-negative, offsets non-decreasing, prevIndex = the slot's
//     head so far) and cutting the file at the first that is not. Files created on disk are
//     removed (newest first, each removal synced) when they hold nothing below keep_below.
//
// Concurrency: one fiber calls Flush at a time and one calls DeleteBefore at a time (asserted);
// Add and Query may run while either is parked in a disk call. Load runs once, before all else.
//
// Invariants (after Load):
//   - open_ is never empty; every open file but the last is full (indexCount == entries_max).
//   - Sequence numbers increase strictly along sealed_ then open_, and stay below next_sequence_.
//   - For an open file: 1 <= flushed_count <= header.index_count <= entries_max; the buffer holds
//     exactly the entries flushed_count..index_count-1; every slot is < index_count; entries
//     below flushed_count are on disk and synced, and so is a header whose indexCount is
//     flushed_count (or the file is empty and may not exist yet).
//   - Entry phy offsets never decrease along sealed_ then open_; last_commit_log_offset() is the
//     largest.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/io/disk.h"
#include "core/store/index_file.h"

namespace apogee::store {

class IndexService {
 public:
  // REQUIRES: slots >= 1; 2 <= entries_max <= INT32_MAX. `disk` outlives the service.
  IndexService(io::Disk& disk, std::string dir, uint32_t slots, uint32_t entries_max);
  IndexService(const IndexService&) = delete;
  IndexService& operator=(const IndexService&) = delete;

  // Creates the directory if missing (durably), opens the files, drops entries with phy offset
  // >= keep_below (they will be re-added), rebuilds the active file's slot table. On failure the
  // service is unusable (call Load again on a new one). kCorruption when a file that must be
  // sealed is not. May yield. REQUIRES: called once, before anything else.
  Status Load(int64_t keep_below);

  // Adds topic#key -> (commit_log_offset, store_timestamp_ms). Never yields; allocates only to
  // grow the buffer (amortized) or, once per entries_max adds, when no spare table is ready.
  // REQUIRES: loaded; commit_log_offset >= 0 and >= every offset added before (dispatch is in
  // log order).
  void Add(std::string_view topic, std::string_view key, int64_t commit_log_offset,
           int64_t store_timestamp_ms);

  // Commit log offsets whose entry matches the key's hash (the caller reads each record and
  // checks its KEYS/UNIQ_KEY, since hashes collide), newest first, at most max_count, whose store
  // time may lie in [begin_ms, end_ms]: entries keep their time to the second only, so an entry
  // in the same second as a window edge is returned too and the caller checks STORETIMESTAMP.
  // Covers buffered entries and every file, newest file first. May yield. REQUIRES: loaded.
  Result<std::vector<int64_t>> Query(std::string_view topic, std::string_view key, size_t max_count,
                                     int64_t begin_ms, int64_t end_ms);

  // Writes and syncs buffered entries and headers; seals full files. On error nothing is assumed
  // written; the next Flush rewrites. May yield; Add may be called by other fibers while Flush
  // is parked in a disk call. REQUIRES: loaded; no other Flush running.
  Status Flush();

  // Retention: removes sealed files whose every entry points below commit_log_min (never an open
  // file), oldest first, then syncs the directory. A crash may bring a removed file back; it is
  // still a valid sealed file. May yield. REQUIRES: loaded; no other DeleteBefore running.
  Status DeleteBefore(int64_t commit_log_min);

  // The largest commit log offset added (or loaded), -1 if none.
  int64_t last_commit_log_offset() const { return last_offset_; }
  // Bytes held in memory: slot tables, buffers, scratch and per-file handles.
  size_t memory_bytes() const;
  // Files on disk or to be created: sealed ones, then open ones.
  size_t sealed_file_count() const { return sealed_.size(); }
  size_t open_file_count() const { return open_.size(); }

 private:
  struct OpenFile;

  OpenFile& Roll();
  Status LoadActive(uint64_t sequence, int64_t keep_below, bool* empty);
  Status FlushFile(OpenFile& f, bool* sealed);
  Status WriteEntries(OpenFile& f, int32_t first, int32_t end);
  Status WriteSlots(OpenFile& f);
  Status QueryOpen(const OpenFile& f, const IndexQuery& q) const;
  std::string PathOf(uint64_t sequence) const;

  io::Disk& disk_;
  const std::string dir_;
  const IndexShape shape_;
  bool loaded_ = false;
  bool flushing_ = false;
  bool deleting_ = false;
  std::vector<std::shared_ptr<SealedIndexFile>> sealed_;  // oldest first
  std::vector<std::shared_ptr<OpenFile>> open_;           // oldest first; the last takes Add
  uint64_t next_sequence_ = 0;
  int64_t last_offset_ = -1;
  std::string key_scratch_;
  std::vector<uint32_t> spare_slots_;   // all zeros when its size is shape_.slots
  std::vector<uint8_t> write_scratch_;  // Flush copies here: Add may move the buffers meanwhile
};

}  // namespace apogee::store
