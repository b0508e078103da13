#pragma once

// CommitLog: the one append log of every message, in segment files of config.segment_bytes
// named by their start offset in 20 digits (commitlog/00000000001073741824).
//
// Writing: Append() encodes a record into the WriteBuffer and returns at once; it never touches
// the disk. A flusher fiber writes the buffer to the segment files and syncs them:
//   - kSync: as soon as anything is unflushed, so one sync serves every put that arrived while
//     the previous one ran (group commit);
//   - kAsync: every config.async_flush_interval, or sooner when the buffer passes half its limit.
// A record that does not fit the rest of its segment (with room for the 8-byte blank record)
// is preceded by a blank record [remaining, kBlankMagic] and goes to the start of the next one.
//
// Durability contract:
//   - Bytes below flushed_offset() are durable: a sync covering them returned OK (and the
//     directory entry of each new segment was synced). WaitDurable(end) returns OK only then.
//   - Bytes at or above it may be lost, kept or torn by a crash; recovery keeps the longest
//     valid prefix.
//   - A failed write or sync is never taken as success: the flusher rewrites everything from
//     flushed_offset() and syncs again (after flush_retry_backoff), so a put whose sync failed
//     still becomes durable if a later sync succeeds, or its waiter times out.
//   - Bytes not yet durable stay in memory until they are: at most write_buffer_bytes_max
//     (WaitForRoom holds puts back), plus the unused tail of one chunk (a chunk never reaches
//     past its segment). Allocation can still approach twice the bytes held when records just
//     over half a chunk (512 KiB) leave each chunk half empty.
//
// Reading: Read() serves bytes from the buffer when it holds them, otherwise from the segment
// file; readers validate every record (DecodeRecord with CRC) before handing it out.
//
// Recovery (Recover): lists the segments, scans from a record boundary the caller knows to be
// good (the checkpoint), validates magic, size, offsets and the record CRC, and cuts the log at the
// first invalid record: the segment is truncated and synced there, later segments are removed.
// The cut is physical so that stale records past it can never reappear after a later crash.
//
// Single-threaded, like everything on a node's fibers; Append never yields, so the offsets it
// hands out are in log order.
//
// Invariants:
//   - min_offset() <= flushed_offset() <= write_offset().
//   - Every segment starts at a multiple of segment_bytes; no record crosses a segment end.
//   - The buffer holds every byte in [flushed_offset(), write_offset()).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/base/status.h"
#include "core/io/env.h"
#include "core/io/wait_queue.h"
#include "core/store/message_record.h"
#include "core/store/store_config.h"
#include "core/store/write_buffer.h"

namespace apogee::store {

struct LogRecoveryReport {
  int64_t scan_from = 0;
  int64_t end_offset = 0;  // where the valid log ends now
  uint64_t records_scanned = 0;
  uint64_t bytes_scanned = 0;
  uint64_t bytes_cut = 0;  // bytes after end_offset that were removed
  uint32_t segments_removed = 0;
  std::string cut_reason;  // empty when nothing was cut
};

struct CommitLogStats {
  uint64_t appends = 0;
  uint64_t syncs = 0;          // successful group syncs
  uint64_t failed_syncs = 0;   // failed writes or syncs (each followed by a rewrite)
  uint64_t bytes_written = 0;  // bytes written to segment files (rewrites included)
  uint64_t segments_created = 0;
  uint64_t segments_deleted = 0;
};

class CommitLog : public std::enable_shared_from_this<CommitLog> {
 public:
  // Serves what is read back by the store's dispatcher: visits records in [from, to).
  using RecordVisitor = std::function<void(const RecordView&)>;

  // REQUIRES: held by a std::shared_ptr (the flusher fiber keeps the log alive while it runs).
  CommitLog(io::Env& env, const StoreConfig& config, std::string dir = "commitlog");
  ~CommitLog();
  CommitLog(const CommitLog&) = delete;
  CommitLog& operator=(const CommitLog&) = delete;

  // Lists and opens the segments (Recover does it too). May yield.
  Status OpenSegments();
  // Where Recover(wanted) will start scanning: `wanted` when its segment is here (or it is the
  // start of a segment not yet created, right after the last one), else the start of the last
  // segment before it, or of the first. The caller drops derived state from there on, since
  // every record from there is visited again. REQUIRES: OpenSegments() succeeded.
  int64_t ScanStart(int64_t wanted) const;
  // Opens the segments and recovers the log from ScanStart(scan_from), calling `visit` for
  // every valid record found. Then syncs what it kept and starts the flusher.
  // REQUIRES: called once, before anything else but OpenSegments/ScanStart. May yield.
  Result<LogRecoveryReport> Recover(int64_t scan_from, const RecordVisitor& visit);

  // Appends one record; `queue_offset` and `store_timestamp_ms` are stamped on it. Returns its
  // placement. REQUIRES: ValidateMessage() is OK and the caller waited for room. Never yields.
  RecordPlacement Append(const MessageToStore& message, int64_t queue_offset,
                         int64_t store_timestamp_ms, uint32_t* size_out);

  // Waits until `bytes` more can be buffered without passing write_buffer_bytes_max.
  // kTimeout after `timeout`. Returns at once, without reading the clock, when there is room.
  // May yield.
  Status WaitForRoom(uint64_t bytes, Duration timeout);
  // The flusher was woken and has not run yet: a caller that never parks should yield.
  bool flusher_wants_cpu() const { return flusher_ready_; }
  // Waits until everything below `end` is durable. kTimeout at the deadline; kClosed if the log
  // shut down first. May yield.
  Status WaitDurable(int64_t end, Deadline deadline);

  // Reads `size` bytes at `offset` (one whole record: never across a segment end).
  // kOutOfRange outside [min_offset(), write_offset()). May yield.
  Status Read(int64_t offset, uint32_t size, std::vector<uint8_t>* out);
  // Reads and validates the record at `offset` (size unknown: reads its header first).
  Result<std::vector<uint8_t>> ReadRecord(int64_t offset);

  // Visits every record in [from, to) with full validation, reading from the buffer or the
  // files (for tools and checkers). REQUIRES: `from` is a record boundary. Stops with
  // kCorruption at an invalid record. May yield.
  Status Scan(int64_t from, int64_t to, const RecordVisitor& visit);

  // Visits the records held in the buffer in [from, to), without CRC checks (this process
  // wrote them). REQUIRES: the buffer holds them (from >= flushed_offset() or not yet trimmed:
  // the durable callback runs before trimming).
  void VisitBuffered(int64_t from, int64_t to, const RecordVisitor& visit) const;

  // Called by the flusher each time the durable offset advances, before the buffer is trimmed.
  void set_on_durable(std::function<void(int64_t durable_end)> fn) { on_durable_ = std::move(fn); }

  // Writes and syncs everything appended so far. May yield.
  Status Flush(Deadline deadline);
  // Stops the flusher after a final flush. Appends afterwards are a bug. May yield.
  Status Shutdown();

  // Retention. The start offset and the store time of the first record of each segment after
  // the first (when that segment was begun, which is when the one before it was sealed).
  struct SegmentInfo {
    int64_t start = 0;
    int64_t sealed_at_ms = -1;  // -1 for the active segment or when unreadable
  };
  std::vector<SegmentInfo> Segments();
  // Removes the oldest segment (never the active one) and moves min_offset() to the next one.
  // kNotFound when only the active segment is left. May yield.
  Status DeleteOldestSegment();

  int64_t min_offset() const { return min_offset_; }
  int64_t write_offset() const { return write_offset_; }
  int64_t flushed_offset() const { return flushed_offset_; }
  // True after a write failed with kNoSpace, until a write succeeds again.
  bool disk_full() const { return disk_full_; }
  uint64_t unflushed_bytes() const {
    return static_cast<uint64_t>(write_offset_ - flushed_offset_);
  }
  uint64_t memory_bytes() const { return buffer_.capacity_bytes(); }
  const CommitLogStats& stats() const { return stats_; }
  const StoreConfig& config() const { return config_; }

 private:
  struct Segment {
    int64_t start = 0;
    std::shared_ptr<io::File> file;  // shared: a reader holds it across a yielding ReadAt
    int64_t sealed_at_ms = -2;       // -2: not looked up yet
  };

  void FlusherLoop();
  // Writes [committed_offset_, target) to the files and syncs every touched segment.
  Status WriteAndSync(int64_t target);
  Result<std::shared_ptr<io::File>> SegmentFile(int64_t segment_start, bool create);
  Status ScanSegments(int64_t scan_from, const RecordVisitor& visit, LogRecoveryReport* report);
  Status CutAt(int64_t offset, LogRecoveryReport* report);
  int64_t SegmentStartOf(int64_t offset) const;
  std::string SegmentPath(int64_t start) const;
  void Kick();

  io::Env& env_;
  StoreConfig config_;
  std::string dir_;
  std::map<int64_t, Segment> segments_;  // by start offset
  WriteBuffer buffer_{0};
  int64_t min_offset_ = 0;
  int64_t write_offset_ = 0;      // end of the last appended record
  int64_t committed_offset_ = 0;  // written to the files (not necessarily synced)
  int64_t flushed_offset_ = 0;    // durable
  bool segments_opened_ = false;
  bool dir_dirty_ = false;  // a segment was created since the last SyncDir
  bool disk_full_ = false;
  bool stopping_ = false;
  bool stopped_ = false;
  bool wake_pending_ = false;
  bool flusher_ready_ = false;  // Kick() made the parked flusher ready; it has not run yet
  std::function<void(int64_t)> on_durable_;
  io::WaitQueue flusher_wake_;
  io::WaitQueue durable_waiters_;
  io::WaitQueue room_waiters_;
  io::FiberHandle flusher_;
  CommitLogStats stats_;
};

}  // namespace apogee::store
