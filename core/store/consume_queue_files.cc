// ConsumeQueue: the maintenance calls that change files (Load, Flush, TruncateTo,
// DeleteBefore). See consume_queue.h for the durability contract they keep.

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "core/base/assert.h"
#include "core/store/consume_queue.h"

namespace apogee::store {

// Marks a maintenance call as running; a second one that overlaps it is refused with kBusy.
// Resets the mark however the call ends, including a kill that unwinds the fiber.
class ConsumeQueue::MaintenanceGuard {
 public:
  explicit MaintenanceGuard(ConsumeQueue* queue)
      : queue_(queue), acquired_(!queue->maintenance_running_) {
    if (acquired_) queue_->maintenance_running_ = true;
  }
  ~MaintenanceGuard() {
    if (acquired_) queue_->maintenance_running_ = false;
  }
  MaintenanceGuard(const MaintenanceGuard&) = delete;
  MaintenanceGuard& operator=(const MaintenanceGuard&) = delete;

  Status status() const {
    if (acquired_) return Status::Ok();
    return Status(ErrorCode::kBusy, fmt::format("consume queue {}: another maintenance call is "
                                                "running",
                                                queue_->dir_));
  }

 private:
  ConsumeQueue* queue_;
  bool acquired_;
};

namespace {

// The first queue offset a file name stands for, or -1 if the name is not 20 digits.
int64_t ParseFileName(const std::string& name) {
  if (name.size() != 20) return -1;
  uint64_t value = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > static_cast<uint64_t>(INT64_MAX)) return -1;
  return static_cast<int64_t>(value);
}

}  // namespace

Status ConsumeQueue::MakeDirDurable() {
  // Walks "a", "a/b", "a/b/c" and syncs the parent of each, whether this call created it or
  // not: an earlier incarnation (or an earlier Load that failed) may have created a directory
  // whose name never became durable, and a crash would then take the whole queue with it.
  APOGEE_RETURN_IF_ERROR(disk_.MakeDirs(dir_));
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir_.find('/', pos + 1);
    const std::string prefix = dir_.substr(0, pos);
    APOGEE_RETURN_IF_ERROR(disk_.SyncDir(io::ParentDir(prefix)));
  }
  return Status::Ok();
}

Status ConsumeQueue::OpenFiles() {
  APOGEE_ASSERT(files_.empty());
  APOGEE_ASSIGN_OR_RETURN(std::vector<std::string> names, disk_.List(dir_));
  const int64_t file_bytes = static_cast<int64_t>(entries_per_file_) * kCqEntryBytes;
  for (const std::string& name : names) {
    const int64_t byte_offset = ParseFileName(name);
    if (byte_offset < 0) continue;  // not ours (for example a temporary file)
    if (byte_offset % file_bytes != 0) {
      return Status(ErrorCode::kCorruption,
                    fmt::format("consume queue {}: file {} is not at a multiple of {} bytes", dir_,
                                name, file_bytes));
    }
    const int64_t start = byte_offset / static_cast<int64_t>(kCqEntryBytes);
    if (!files_.empty() && files_.rbegin()->first + entries_per_file_ != start) {
      return Status(
          ErrorCode::kCorruption,
          fmt::format("consume queue {}: file {} does not follow the one before it", dir_, name));
    }
    APOGEE_ASSIGN_OR_RETURN(std::unique_ptr<io::File> file,
                            disk_.Open(io::JoinPath(dir_, name), io::OpenOptions{}));
    files_.emplace(start, QueueFile{std::shared_ptr<io::File>(std::move(file)), true});
  }
  // Flush fills and syncs a file before it creates the next, so all but the last are full.
  for (auto it = files_.begin(); it != files_.end() && std::next(it) != files_.end(); ++it) {
    APOGEE_ASSIGN_OR_RETURN(uint64_t size, it->second.file->Size());
    if (size != static_cast<uint64_t>(file_bytes)) {
      return Status(ErrorCode::kCorruption,
                    fmt::format("consume queue {}: file {} holds {} bytes, not {}", dir_,
                                CqFileName(it->first), size, file_bytes));
    }
  }
  return Status::Ok();
}

Result<int64_t> ConsumeQueue::ScanAndCutLastFile() {
  APOGEE_ASSERT(!files_.empty());
  auto last = std::prev(files_.end());
  const int64_t start = last->first;
  std::shared_ptr<io::File> file = last->second.file;
  int64_t prev_end = -1;
  if (last != files_.begin()) {
    APOGEE_ASSIGN_OR_RETURN(CqEntry before, EntryAt(start - 1));
    if (IsValidCqEntry(before, -1)) prev_end = before.commit_log_offset + before.size;
  }
  APOGEE_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  const int64_t whole = std::min<int64_t>(static_cast<int64_t>(size / kCqEntryBytes),
                                          static_cast<int64_t>(entries_per_file_));
  int64_t valid = 0;
  std::vector<CqEntry> chunk;
  bool stopped = false;
  while (valid < whole && !stopped) {
    const size_t want = static_cast<size_t>(std::min<int64_t>(whole - valid, kCqReadChunkEntries));
    chunk.clear();
    APOGEE_RETURN_IF_ERROR(ReadFromFile(start + valid, want, &chunk));
    if (chunk.size() < want) stopped = true;
    for (const CqEntry& entry : chunk) {
      if (!IsValidCqEntry(entry, prev_end)) {
        stopped = true;
        break;
      }
      prev_end = entry.commit_log_offset + entry.size;
      valid++;
    }
  }
  const uint64_t keep_bytes = static_cast<uint64_t>(valid) * kCqEntryBytes;
  // Cut what follows the valid prefix, so a later append can never make stale bytes readable;
  // and sync even an intact file: its bytes may be only in the page cache of a crashed process.
  if (size != keep_bytes) APOGEE_RETURN_IF_ERROR(file->Truncate(keep_bytes));
  APOGEE_RETURN_IF_ERROR(file->Sync());
  last_end_ = prev_end;
  APOGEE_ASSERT(valid <= static_cast<int64_t>(entries_per_file_));
  return valid;
}

Status ConsumeQueue::RemoveFile(int64_t first_queue_offset) {
  auto it = files_.find(first_queue_offset);
  APOGEE_ASSERT(it != files_.end());
  APOGEE_RETURN_IF_ERROR(disk_.Remove(FilePath(first_queue_offset)));
  // A read parked on this file keeps its handle (shared) until it returns.
  files_.erase(it);
  // One name change per SyncDir: a crash can then never leave a gap in the file names.
  return disk_.SyncDir(dir_);
}

Status ConsumeQueue::Load(int64_t commit_log_min) {
  MaintenanceGuard guard(this);
  APOGEE_RETURN_IF_ERROR(guard.status());
  APOGEE_ASSERT(!loaded_, "Load called twice");
  APOGEE_ASSERT(buffer_.empty());
  APOGEE_RETURN_IF_ERROR(MakeDirDurable());
  APOGEE_RETURN_IF_ERROR(OpenFiles());
  written_ = 0;
  last_end_ = -1;
  while (!files_.empty()) {
    const int64_t start = files_.rbegin()->first;
    written_ = start;  // the files before the last are full: EntryAt reads them
    APOGEE_ASSIGN_OR_RETURN(int64_t valid, ScanAndCutLastFile());
    if (valid == 0 && files_.size() > 1) {
      // A file a crash left empty; the one before it is full and synced.
      APOGEE_RETURN_IF_ERROR(RemoveFile(start));
      continue;
    }
    written_ = start + valid;
    break;
  }
  // Names found by OpenFiles may be durable only in a crashed process's view; make them so.
  APOGEE_RETURN_IF_ERROR(disk_.SyncDir(dir_));
  const int64_t first = files_.empty() ? 0 : files_.begin()->first;
  APOGEE_ASSIGN_OR_RETURN(min_, FirstWhere(first, written_, [commit_log_min](const CqEntry& entry) {
                            return entry.commit_log_offset >= commit_log_min;
                          }));
  loaded_ = true;
  APOGEE_ASSERT(min_ <= max_offset());
  APOGEE_ASSERT(files_.empty() ? written_ == 0 : written_ >= files_.begin()->first);
  return Status::Ok();
}

Status ConsumeQueue::WriteFileRange(int64_t first_queue_offset, std::span<const uint8_t> bytes,
                                    int64_t at_queue_offset) {
  APOGEE_ASSERT(bytes.size() % kCqEntryBytes == 0);
  APOGEE_ASSERT(at_queue_offset >= first_queue_offset);
  APOGEE_ASSERT(at_queue_offset + static_cast<int64_t>(bytes.size() / kCqEntryBytes) <=
                first_queue_offset + entries_per_file_);
  auto it = files_.find(first_queue_offset);
  if (it == files_.end()) {
    APOGEE_ASSERT(files_.empty() ||
                  files_.rbegin()->first + entries_per_file_ == first_queue_offset);
    APOGEE_ASSIGN_OR_RETURN(
        std::unique_ptr<io::File> created,
        disk_.Open(FilePath(first_queue_offset), io::OpenOptions{.create = true}));
    it = files_
             .emplace(first_queue_offset,
                      QueueFile{std::shared_ptr<io::File>(std::move(created)), false})
             .first;
  }
  std::shared_ptr<io::File> file = it->second.file;
  APOGEE_RETURN_IF_ERROR(
      file->WriteAt((at_queue_offset - first_queue_offset) * kCqEntryBytes, bytes));
  APOGEE_RETURN_IF_ERROR(file->Sync());
  if (!it->second.name_durable) {
    APOGEE_RETURN_IF_ERROR(disk_.SyncDir(dir_));
    files_.at(first_queue_offset).name_durable = true;
  }
  return Status::Ok();
}

Status ConsumeQueue::Flush() {
  MaintenanceGuard guard(this);
  APOGEE_RETURN_IF_ERROR(guard.status());
  APOGEE_ASSERT(loaded_, "Flush before Load");
  // Only what is pending now is written; Appends while this call is parked wait for the next.
  const size_t pending = buffer_.size();
  if (pending == 0) return Status::Ok();
  const int64_t from = written_;
  std::vector<uint8_t> bytes(pending * kCqEntryBytes);
  for (size_t i = 0; i < pending; i++) EncodeCqEntry(buffer_[i], bytes.data() + i * kCqEntryBytes);
  // File by file, each synced (and named) before the next is created.
  size_t done = 0;
  while (done < pending) {
    const int64_t at = from + static_cast<int64_t>(done);
    const int64_t start = FileStart(at);
    const size_t count =
        std::min<size_t>(pending - done, static_cast<size_t>(start + entries_per_file_ - at));
    APOGEE_RETURN_IF_ERROR(WriteFileRange(
        start, std::span<const uint8_t>(bytes).subspan(done * kCqEntryBytes, count * kCqEntryBytes),
        at));
    done += count;
  }
  // Nothing but Append ran meanwhile (maintenance calls exclude each other), so the buffer
  // still starts with the entries just written.
  APOGEE_ASSERT(written_ == from);
  APOGEE_ASSERT(buffer_.size() >= pending);
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(pending));
  written_ = from + static_cast<int64_t>(pending);
  return Status::Ok();
}

Status ConsumeQueue::CutFilesAt(int64_t queue_offset) {
  const int64_t keep_start = FileStart(queue_offset);
  // Later files go last first, so a crash in between leaves the names contiguous.
  while (!files_.empty() && files_.rbegin()->first > keep_start) {
    APOGEE_RETURN_IF_ERROR(RemoveFile(files_.rbegin()->first));
  }
  auto it = files_.find(keep_start);
  if (it == files_.end()) return Status::Ok();
  if (queue_offset == keep_start && files_.size() > 1) return RemoveFile(keep_start);
  // Cut the file to exactly the kept entries: this also drops any bytes a failed Flush left
  // past written_. The only file stays, even empty, to keep the queue's offsets.
  std::shared_ptr<io::File> file = it->second.file;
  const uint64_t keep_bytes = static_cast<uint64_t>(queue_offset - keep_start) * kCqEntryBytes;
  APOGEE_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  if (size == keep_bytes) return Status::Ok();
  APOGEE_RETURN_IF_ERROR(file->Truncate(keep_bytes));
  return file->Sync();
}

Status ConsumeQueue::TruncateTo(int64_t commit_log_end) {
  MaintenanceGuard guard(this);
  APOGEE_RETURN_IF_ERROR(guard.status());
  APOGEE_ASSERT(loaded_, "TruncateTo before Load");
  if (last_end_ <= commit_log_end) {
    // Nothing to drop, but a failed Flush may have left bytes past written_: cut them.
    return CutFilesAt(written_);
  }
  auto past = [commit_log_end](const CqEntry& entry) {
    return entry.commit_log_offset + entry.size > commit_log_end;
  };
  if (!buffer_.empty() && !past(buffer_.front())) {
    // The cut is inside the buffer; no yield from here to the change.
    auto cut = std::partition_point(buffer_.begin(), buffer_.end(),
                                    [&past](const CqEntry& e) { return !past(e); });
    APOGEE_ASSERT(cut != buffer_.begin());
    APOGEE_ASSERT(cut != buffer_.end());
    buffer_.erase(cut, buffer_.end());
    last_end_ = buffer_.back().commit_log_offset + buffer_.back().size;
    truncations_++;
    return CutFilesAt(written_);
  }
  // The cut is on disk (or at written_): everything buffered goes.
  const int64_t first = files_.empty() ? written_ : files_.begin()->first;
  APOGEE_ASSIGN_OR_RETURN(int64_t cut, FirstWhere(first, written_, past));
  int64_t new_last_end = -1;
  if (cut > first) {
    APOGEE_ASSIGN_OR_RETURN(CqEntry kept, EntryAt(cut - 1));
    new_last_end = kept.commit_log_offset + kept.size;
  }
  // Appends made while parked above come after the cut too (offsets only grow): drop them all.
  buffer_.clear();
  written_ = cut;
  min_ = std::min(min_, cut);
  last_end_ = new_last_end;
  truncations_++;
  APOGEE_ASSERT(last_end_ <= commit_log_end);
  return CutFilesAt(cut);
}

Status ConsumeQueue::DeleteBefore(int64_t commit_log_min) {
  MaintenanceGuard guard(this);
  APOGEE_RETURN_IF_ERROR(guard.status());
  APOGEE_ASSERT(loaded_, "DeleteBefore before Load");
  APOGEE_ASSIGN_OR_RETURN(int64_t first_kept,
                          FirstWhere(min_, max_offset(), [commit_log_min](const CqEntry& entry) {
                            return entry.commit_log_offset >= commit_log_min;
                          }));
  min_ = std::max(min_, first_kept);
  // Oldest first, never the last file: it records where the queue goes on.
  while (files_.size() > 1) {
    const int64_t start = files_.begin()->first;
    if (start + static_cast<int64_t>(entries_per_file_) > min_) break;
    APOGEE_RETURN_IF_ERROR(RemoveFile(start));
  }
  APOGEE_ASSERT(min_ <= max_offset());
  return Status::Ok();
}

}  // namespace apogee::store
