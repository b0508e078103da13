#pragma once

// ConsumeQueue: the per-(topic, queue id) index into the commit log that consumers read. Entry i
// (the "queue offset") locates the i-th message of the queue in the commit log.
//
// On-disk format (RocketMQ's, byte for byte): the directory `consumequeue/{topic}/{queueId}/`
// holds files of `entries_per_file` entries each, named by the byte offset of their first entry
// (first_queue_offset * 20) zero-padded to 20 digits. An entry is 20 bytes, big-endian:
//   [int64 commit_log_offset][int32 size][int64 tags_code]
// There is no checksum: an entry is valid when size > 0, commit_log_offset >= 0, it is not all
// zero and its commit_log_offset is at or after the previous entry's commit_log_offset + size.
// Every file but the last holds exactly entries_per_file entries; the last holds a prefix.
//
// Durability contract:
//   - Append only buffers in memory. A crash loses everything appended since the last Flush
//     that returned OK; the store re-dispatches it from the commit log.
//   - After Flush returns OK, every entry appended before Flush was called is durable, and so
//     are the names of the files that hold them: Load after any crash returns all of them.
//   - Flush writes and syncs the files in order and creates a file only after the one before it
//     is synced, so a crash in the middle of a Flush can damage only the tail of the last file.
//     Load cuts that tail at the first invalid entry, so it returns a prefix of what was
//     appended, never a hole. Limit: a torn sector write can split an entry at a 512-byte
//     sector boundary; when the first part (offset and size) survives and the second part
//     (tags_code) does not, the entry passes the structural check with a wrong tags_code. Such
//     an entry can only be the last one Load returns and was never reported durable; it still
//     points at a whole record, so only tag filtering can misjudge it.
//   - TruncateTo and DeleteBefore are durable when they return OK. Both remove files one at a
//     time with a SyncDir after each, so a crash never leaves a gap in the file names; a crash
//     before they return may leave the queue as it was (the caller repeats them on recovery).
//   - The directory's name and each parent's are durable once Load returns OK (Load syncs them all,
//     created now or by an earlier incarnation that may have crashed before syncing them).
//   - The last remaining file is never removed, even when it is left empty: its name records
//     the queue offset where the queue goes on, so queue offsets never go backwards.
//
// Fibers: Append never yields; every other non-const call may. Append, Read and
// SearchByTimestamp may run while another fiber is parked in Load, Flush, TruncateTo or
// DeleteBefore; those four are maintenance calls and do not run concurrently with each other (a
// second one returns kBusy). A Read that overlaps a TruncateTo retries, and returns kBusy after
// kCqReadRetriesMax attempts.
//
// Memory: the unflushed buffer (memory_bytes()) and one read chunk of at most
// kCqReadChunkEntries entries; files are read through io::File::ReadAt, never kept in memory.
//
// Invariants:
//   - 0 <= min_offset() <= max_offset(); max_offset() == written_ + buffer_.size().
//   - Entries [first file start, written_) are in the files and synced; buffer_ holds the
//     entries [written_, max_offset()).
//   - Files are keyed by first queue offset, a multiple of entries_per_file, contiguous; every
//     file but the last holds exactly entries_per_file entries.
//   - files_ is empty only when written_ == 0.
//   - commit_log_offset + size strictly increases along the queue (entries never overlap).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/io/disk.h"

namespace apogee::store {

inline constexpr size_t kCqEntryBytes = 20;
// Largest entries_per_file accepted: 50 M entries, 1 GB files.
inline constexpr uint32_t kCqEntriesPerFileMax = 50'000'000;
// Entries read from disk per ReadAt call (20 KiB of bytes).
inline constexpr size_t kCqReadChunkEntries = 1024;
// Attempts of a Read that keeps overlapping TruncateTo before it gives up with kBusy.
inline constexpr int kCqReadRetriesMax = 3;

// One consume-queue entry, big-endian on disk: int64 commit_log_offset, int32 size, int64
// tags_code.
struct CqEntry {
  int64_t commit_log_offset = 0;
  int32_t size = 0;
  int64_t tags_code = 0;
  bool operator==(const CqEntry&) const = default;
};

// Writes kCqEntryBytes bytes.
void EncodeCqEntry(const CqEntry& entry, uint8_t* out);
// Reads kCqEntryBytes bytes.
CqEntry DecodeCqEntry(const uint8_t* in);
// The structural check of one entry read from disk (see the format above). `prev_end` is the
// previous entry's commit_log_offset + size, or -1 when there is none.
bool IsValidCqEntry(const CqEntry& entry, int64_t prev_end);
// "00000000000000000080" for first queue offset 4 (byte offset 80).
std::string CqFileName(int64_t first_queue_offset);

// Reads the STORETIMESTAMP (ms) of the record at a commit log offset; used by SearchByTimestamp.
using StoreTimeReader = std::function<Result<int64_t>(int64_t commit_log_offset, int32_t size)>;

class ConsumeQueue {
 public:
  // `dir` is the queue's directory relative to the disk root, e.g. "consumequeue/TopicA/3".
  // REQUIRES: 1 <= entries_per_file <= kCqEntriesPerFileMax; `disk` outlives the queue.
  ConsumeQueue(io::Disk& disk, std::string dir, std::string topic, int32_t queue_id,
               uint32_t entries_per_file);
  ~ConsumeQueue();
  ConsumeQueue(const ConsumeQueue&) = delete;
  ConsumeQueue& operator=(const ConsumeQueue&) = delete;

  // Creates the directory if missing and syncs the parent of every directory on its path,
  // opens the existing files, and finds max_offset by scanning the last file: it cuts the file
  // at the first invalid entry (Truncate + Sync) so stale entries never come back. A last file
  // left empty is removed (SyncDir) and the one before it scanned in turn, except the only file,
  // which stays empty to keep the queue's offsets. min_offset becomes the first entry whose
  // commit_log_offset >= commit_log_min. Names that are not 20 digits are ignored. Fails with
  // kCorruption if a name is not a multiple of the file size, the names are not contiguous or a
  // file but the last is not full; with the disk's error otherwise. May yield.
  // REQUIRES: called once, first.
  Status Load(int64_t commit_log_min);

  // Recovery: drops every entry (buffered or on disk) whose commit_log_offset + size >
  // commit_log_end, physically (files after the cut removed last first, each followed by
  // SyncDir; then the cut file truncated and synced). min_offset never passes max_offset.
  // May yield.
  Status TruncateTo(int64_t commit_log_end);

  // Dispatch; never yields. queue_offset < max_offset(): already present (a re-dispatch after
  // recovery): returns false and changes nothing. == max_offset(): buffers the entry and returns
  // true. > max_offset(): a gap: kCorruption, nothing changes.
  // REQUIRES: entry.size > 0; entry.commit_log_offset >= last_commit_log_end().
  Result<bool> Append(int64_t queue_offset, const CqEntry& entry);

  // Reads up to max_entries entries starting at queue_offset into *out (cleared first), from the
  // buffer or the files. Entries read from disk are checked structurally: an invalid first entry
  // fails with kCorruption; a later one ends the read before it. Fails with kOutOfRange unless
  // min_offset() <= queue_offset < max_offset(). May yield.
  Status Read(int64_t queue_offset, size_t max_entries, std::vector<CqEntry>* out);

  int64_t min_offset() const { return min_; }
  // The next queue offset to be written.
  int64_t max_offset() const { return written_ + static_cast<int64_t>(buffer_.size()); }
  // commit_log_offset + size of the entry at max_offset() - 1 (even if below min_offset());
  // -1 when the queue has no such entry (new, or every entry cut).
  int64_t last_commit_log_end() const { return last_end_; }

  // Writes the entries buffered when it starts to their files (creating files as needed, each
  // named durably with SyncDir) and syncs every touched file. On any error every entry stays
  // buffered and the next Flush writes them all again. Appends made while Flush is parked stay
  // buffered for the next one. May yield.
  Status Flush();

  // Retention: the commit log now starts at commit_log_min. min_offset moves (never back) to
  // the first entry with commit_log_offset >= commit_log_min, or max_offset() if none; files all
  // of whose entries are below it are removed (oldest first, SyncDir after each), never the last
  // file. May yield.
  Status DeleteBefore(int64_t commit_log_min);

  // The smallest queue offset in [min_offset(), max_offset()) whose record's store time >=
  // timestamp_ms, found by binary search: store times are assumed non-decreasing along the
  // queue (the commit log stamps records in order; a backwards wall clock breaks the
  // assumption and then the answer is some offset near the jump). Returns max_offset() if every
  // record is older, min_offset() if the queue is empty. A record whose time cannot be read with
  // kNotFound or kOutOfRange (retention removed it; retention removes the oldest first) counts
  // as older than timestamp_ms; any other reader error is returned. May yield.
  Result<int64_t> SearchByTimestamp(int64_t timestamp_ms, const StoreTimeReader& reader);

  // Bytes held in memory by the unflushed buffer, for the store's memory statement.
  size_t memory_bytes() const { return buffer_.size() * sizeof(CqEntry); }
  const std::string& topic() const { return topic_; }
  int32_t queue_id() const { return queue_id_; }
  const std::string& dir() const { return dir_; }
  uint32_t entries_per_file() const { return entries_per_file_; }
  // Number of files the queue holds open.
  size_t file_count() const { return files_.size(); }

 private:
  struct QueueFile {
    std::shared_ptr<io::File> file;
    bool name_durable = false;  // a SyncDir of dir_ covered its creation
  };
  class MaintenanceGuard;

  int64_t FileStart(int64_t queue_offset) const;
  std::string FilePath(int64_t first_queue_offset) const;
  // The entry at queue_offset from the buffer or the files, not validated. May yield.
  Result<CqEntry> EntryAt(int64_t queue_offset);
  // Reads entries [queue_offset, queue_offset + count) from the file that holds them all.
  Status ReadFromFile(int64_t queue_offset, size_t count, std::vector<CqEntry>* out);
  // The first queue offset in [lo, hi) whose entry satisfies `past` (false then true along the
  // queue), or hi. May yield.
  Result<int64_t> FirstWhere(int64_t lo, int64_t hi,
                             const std::function<bool(const CqEntry&)>& past);
  Status MakeDirDurable();
  Status OpenFiles();
  // Scans the last file and cuts it at the first invalid entry; returns its valid entry count.
  Result<int64_t> ScanAndCutLastFile();
  Status RemoveFile(int64_t first_queue_offset);
  Status WriteFileRange(int64_t first_queue_offset, std::span<const uint8_t> bytes,
                        int64_t at_queue_offset);
  Status CutFilesAt(int64_t queue_offset);
  Status ReadInto(int64_t queue_offset, size_t max_entries, std::vector<CqEntry>* out);

  io::Disk& disk_;
  const std::string dir_;
  const std::string topic_;
  const int32_t queue_id_;
  const uint32_t entries_per_file_;

  std::map<int64_t, QueueFile> files_;  // by first queue offset
  std::deque<CqEntry> buffer_;          // entries [written_, max_offset())
  int64_t written_ = 0;                 // entries below this are in the files, synced
  int64_t min_ = 0;
  int64_t last_end_ = -1;
  uint64_t truncations_ = 0;  // bumped by every TruncateTo that changes anything
  bool maintenance_running_ = false;
  bool loaded_ = false;
};

}  // namespace apogee::store
