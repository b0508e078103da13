// CommitLog: the flusher fiber, group commit and shutdown.

#include <fmt/format.h>

#include <algorithm>

#include "core/base/log.h"
#include "core/store/commit_log.h"

namespace apogee::store {

namespace {
// While the disk is full the flusher retries this slowly: space comes back by retention.
constexpr Duration kNoSpaceRetry = std::chrono::milliseconds(100);
// Shutdown gives up on a disk that keeps failing after this many attempts.
constexpr int kShutdownAttemptsMax = 20;
}  // namespace

void CommitLog::Kick() {
  wake_pending_ = true;
  if (flusher_wake_.NotifyOne() != nullptr) flusher_ready_ = true;
}

Result<std::shared_ptr<io::File>> CommitLog::SegmentFile(int64_t segment_start, bool create) {
  auto it = segments_.find(segment_start);
  if (it != segments_.end()) return it->second.file;
  if (!create) return Status(ErrorCode::kNotFound, fmt::format("no segment {}", segment_start));
  io::OpenOptions options;
  options.create = true;
  APOGEE_ASSIGN_OR_RETURN(auto file, env_.disk.Open(SegmentPath(segment_start), options));
  Segment seg;
  seg.start = segment_start;
  seg.file = std::move(file);
  segments_.emplace(segment_start, seg);
  dir_dirty_ = true;  // the new name is durable only once the directory is synced
  stats_.segments_created++;
  return seg.file;
}

Status CommitLog::WriteAndSync(int64_t target) {
  APOGEE_ASSERT(committed_offset_ <= target);
  APOGEE_ASSERT(flushed_offset_ <= committed_offset_);
  // Collect first: the writes yield, and appends meanwhile may add chunks (never move them).
  std::vector<std::pair<int64_t, std::span<const uint8_t>>> ranges;
  // A chunk may run across a segment end (when a blank record of exactly 8 bytes fills the
  // segment, the next record follows in the same chunk): split the ranges there.
  const auto seg_bytes = static_cast<int64_t>(config_.segment_bytes);
  buffer_.ForEachRange(committed_offset_, target, [&](int64_t at, std::span<const uint8_t> bytes) {
    // Buggify: many small writes, so a crash can fall between them.
    const size_t piece_max = APOGEE_BUGGIFY(env_) ? size_t{512} : bytes.size();
    while (!bytes.empty()) {
      int64_t room = SegmentStartOf(at) + seg_bytes - at;
      size_t n = std::min({bytes.size(), static_cast<size_t>(room), piece_max});
      ranges.emplace_back(at, bytes.first(n));
      at += static_cast<int64_t>(n);
      bytes = bytes.subspan(n);
    }
  });
  for (auto [at, bytes] : ranges) {
    int64_t seg = SegmentStartOf(at);
    APOGEE_ASSERT(at + static_cast<int64_t>(bytes.size()) <=
                  seg + static_cast<int64_t>(config_.segment_bytes));
    APOGEE_ASSIGN_OR_RETURN(auto file, SegmentFile(seg, /*create=*/true));
    if (dir_dirty_) {
      // A new segment's name is made durable before any byte goes into it. Names then become
      // durable in log order, so no crash can keep a later segment and lose an earlier one
      // (which would move the log's start instead of cutting its end).
      APOGEE_RETURN_IF_ERROR(env_.disk.SyncDir(dir_));
      dir_dirty_ = false;
    }
    Status s = file->WriteAt(static_cast<uint64_t>(at - seg), bytes);
    if (s.code() == ErrorCode::kNoSpace && !disk_full_) {
      LOG_WARN("commit log: disk full writing segment {}: puts are refused until space frees", seg);
      disk_full_ = true;
    }
    APOGEE_RETURN_IF_ERROR(s);
    if (disk_full_) LOG_INFO("commit log: writes succeed again");
    disk_full_ = false;
    committed_offset_ = at + static_cast<int64_t>(bytes.size());
    stats_.bytes_written += bytes.size();
  }
  committed_offset_ = target;
  // Sync every segment that holds bytes in [flushed, target): usually one, two at a roll-over.
  int64_t first = SegmentStartOf(flushed_offset_);
  for (auto it = segments_.lower_bound(first); it != segments_.end() && it->first < target; ++it) {
    std::shared_ptr<io::File> file = it->second.file;
    APOGEE_RETURN_IF_ERROR(file->Sync());
  }
  APOGEE_ASSERT(!dir_dirty_, "a segment was created but its name not synced");
  return Status::Ok();
}

void CommitLog::FlusherLoop() {
  const bool sync_mode = config_.flush_type == FlushType::kSync;
  Instant next_tick = env_.clock.Now() + config_.async_flush_interval;
  int failures = 0;
  while (true) {
    while (!stopping_ && !wake_pending_ && !(sync_mode && write_offset_ > flushed_offset_) &&
           !(!sync_mode && env_.clock.Now() >= next_tick)) {
      io::WakeReason why = flusher_wake_.Wait(sync_mode ? Deadline{} : Deadline{next_tick});
      flusher_ready_ = false;
      if (why == io::WakeReason::kKilled) return;  // the node is going down
    }
    wake_pending_ = false;
    if (!sync_mode && env_.clock.Now() >= next_tick) {
      next_tick = env_.clock.Now() + config_.async_flush_interval;
    }
    if (write_offset_ == flushed_offset_) {
      if (stopping_) break;
      continue;
    }
    // Buggify: a slow flusher, so puts pile up behind one group commit and time out.
    if (APOGEE_BUGGIFY(env_)) env_.scheduler.Sleep(std::chrono::milliseconds(50));
    int64_t target = write_offset_;
    Status s = WriteAndSync(target);
    if (s.ok()) {
      failures = 0;
      flushed_offset_ = target;
      stats_.syncs++;
      // The store dispatches newly durable records before the buffer lets go of them.
      if (on_durable_) on_durable_(target);
      buffer_.TrimBefore(flushed_offset_);
      durable_waiters_.NotifyAll();
      room_waiters_.NotifyAll();
      continue;
    }
    // Never assume the failed write or sync kept anything: write it all again from the last
    // durable offset (the bytes are still in the buffer).
    failures++;
    stats_.failed_syncs++;
    committed_offset_ = flushed_offset_;
    if ((failures & (failures - 1)) == 0) {  // 1, 2, 4, 8...: a broken disk must not flood logs
      LOG_WARN("commit log: flush to {} failed ({}), attempt {}; rewriting from {}", target,
               s.ToString(), failures, flushed_offset_);
    }
    if (stopping_ && failures >= kShutdownAttemptsMax) break;
    env_.scheduler.Sleep(s.code() == ErrorCode::kNoSpace ? kNoSpaceRetry
                                                         : config_.flush_retry_backoff);
  }
  stopped_ = true;
  durable_waiters_.NotifyAll();
  room_waiters_.NotifyAll();
}

Status CommitLog::Flush(Deadline deadline) { return WaitDurable(write_offset_, deadline); }

Status CommitLog::Shutdown() {
  if (!flusher_.valid()) return Status::Ok();
  stopping_ = true;
  Kick();
  flusher_.Join();
  if (flushed_offset_ != write_offset_) {
    return Status(ErrorCode::kIoError, fmt::format("commit log shut down with {} bytes not durable",
                                                   write_offset_ - flushed_offset_));
  }
  return Status::Ok();
}

}  // namespace apogee::store
