// ConsumeQueue: the entry format, dispatch (Append) and the read paths. The calls that change
// files (Load, Flush, TruncateTo, DeleteBefore) live in consume_queue_files.cc.

#include "core/store/consume_queue.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "core/base/assert.h"
#include "core/base/bytes.h"

namespace apogee::store {

void EncodeCqEntry(const CqEntry& entry, uint8_t* out) {
  PutU64(out, static_cast<uint64_t>(entry.commit_log_offset));
  PutU32(out + 8, static_cast<uint32_t>(entry.size));
  PutU64(out + 12, static_cast<uint64_t>(entry.tags_code));
}

CqEntry DecodeCqEntry(const uint8_t* in) {
  CqEntry entry;
  entry.commit_log_offset = static_cast<int64_t>(GetU64(in));
  entry.size = static_cast<int32_t>(GetU32(in + 8));
  entry.tags_code = static_cast<int64_t>(GetU64(in + 12));
  return entry;
}

bool IsValidCqEntry(const CqEntry& entry, int64_t prev_end) {
  if (entry.size <= 0) return false;
  if (entry.commit_log_offset < 0) return false;
  if (entry.commit_log_offset < prev_end) return false;
  // size > 0 already rules out the all-zero entry. The end must not wrap around.
  return entry.commit_log_offset <= INT64_MAX - entry.size;
}

std::string CqFileName(int64_t first_queue_offset) {
  APOGEE_ASSERT(first_queue_offset >= 0);
  return fmt::format("{:020d}", first_queue_offset * static_cast<int64_t>(kCqEntryBytes));
}

ConsumeQueue::ConsumeQueue(io::Disk& disk, std::string dir, std::string topic, int32_t queue_id,
                           uint32_t entries_per_file)
    : disk_(disk),
      dir_(std::move(dir)),
      topic_(std::move(topic)),
      queue_id_(queue_id),
      entries_per_file_(entries_per_file) {
  APOGEE_ASSERT(entries_per_file_ >= 1);
  APOGEE_ASSERT(entries_per_file_ <= kCqEntriesPerFileMax);
  APOGEE_ASSERT(!dir_.empty());
}

ConsumeQueue::~ConsumeQueue() = default;

int64_t ConsumeQueue::FileStart(int64_t queue_offset) const {
  APOGEE_ASSERT(queue_offset >= 0);
  return queue_offset - queue_offset % entries_per_file_;
}

std::string ConsumeQueue::FilePath(int64_t first_queue_offset) const {
  APOGEE_ASSERT(first_queue_offset % entries_per_file_ == 0);
  return io::JoinPath(dir_, CqFileName(first_queue_offset));
}

Result<bool> ConsumeQueue::Append(int64_t queue_offset, const CqEntry& entry) {
  APOGEE_ASSERT(loaded_, "Append before Load");
  APOGEE_ASSERT(entry.size > 0, "entry size {}", entry.size);
  APOGEE_ASSERT(entry.commit_log_offset >= 0);
  const int64_t max = max_offset();
  if (queue_offset < max) return false;  // a re-dispatch of an entry the queue already has
  if (queue_offset > max) {
    return Status(ErrorCode::kCorruption,
                  fmt::format("consume queue {}/{}: append at {} leaves a gap after {}", topic_,
                              queue_id_, queue_offset, max));
  }
  APOGEE_ASSERT(entry.commit_log_offset >= last_end_, "commit log offset {} before end {}",
                entry.commit_log_offset, last_end_);
  buffer_.push_back(entry);
  last_end_ = entry.commit_log_offset + entry.size;
  APOGEE_ASSERT(max_offset() == max + 1);
  return true;
}

Status ConsumeQueue::ReadFromFile(int64_t queue_offset, size_t count, std::vector<CqEntry>* out) {
  APOGEE_ASSERT(count >= 1);
  APOGEE_ASSERT(count <= kCqReadChunkEntries);
  const int64_t start = FileStart(queue_offset);
  APOGEE_ASSERT(queue_offset + static_cast<int64_t>(count) <= start + entries_per_file_);
  auto it = files_.find(start);
  if (it == files_.end()) {
    // Retention removed the file while this read was parked.
    return Status(ErrorCode::kOutOfRange,
                  fmt::format("consume queue {}: no file for offset {}", dir_, queue_offset));
  }
  std::shared_ptr<io::File> file = it->second.file;  // keeps it open if retention removes it
  // On the heap: fiber stacks are small.
  std::vector<uint8_t> bytes(count * kCqEntryBytes);
  APOGEE_ASSIGN_OR_RETURN(size_t got, file->ReadAt((queue_offset - start) * kCqEntryBytes, bytes));
  APOGEE_ASSERT(got <= bytes.size());
  for (size_t i = 0; i + kCqEntryBytes <= got; i += kCqEntryBytes) {
    out->push_back(DecodeCqEntry(bytes.data() + i));
  }
  return Status::Ok();
}

Result<CqEntry> ConsumeQueue::EntryAt(int64_t queue_offset) {
  APOGEE_ASSERT(queue_offset >= 0);
  if (queue_offset >= written_) {
    const size_t index = static_cast<size_t>(queue_offset - written_);
    if (index >= buffer_.size()) {
      return Status(ErrorCode::kOutOfRange,
                    fmt::format("consume queue {}: offset {} past the end", dir_, queue_offset));
    }
    return buffer_[index];
  }
  std::vector<CqEntry> one;
  APOGEE_RETURN_IF_ERROR(ReadFromFile(queue_offset, 1, &one));
  if (one.empty()) {
    return Status(
        ErrorCode::kCorruption,
        fmt::format("consume queue {}: entry {} missing from its file", dir_, queue_offset));
  }
  return one.front();
}

Status ConsumeQueue::ReadInto(int64_t queue_offset, size_t max_entries, std::vector<CqEntry>* out) {
  out->clear();
  if (queue_offset < min_ || queue_offset >= max_offset()) {
    return Status(ErrorCode::kOutOfRange,
                  fmt::format("consume queue {}: offset {} outside [{}, {})", dir_, queue_offset,
                              min_, max_offset()));
  }
  const int64_t end =
      queue_offset + static_cast<int64_t>(std::min<uint64_t>(
                         max_entries, static_cast<uint64_t>(max_offset() - queue_offset)));
  int64_t at = queue_offset;
  int64_t prev_end = -1;
  std::vector<CqEntry> chunk;
  while (at < end) {
    if (at >= written_) {
      // Buffered entries were checked by Append. Flush may have moved written_ while this read
      // was parked, so index from the current state.
      const size_t from = static_cast<size_t>(at - written_);
      const size_t to = std::min(buffer_.size(), static_cast<size_t>(end - written_));
      for (size_t i = from; i < to; i++) out->push_back(buffer_[i]);
      break;
    }
    const int64_t chunk_end =
        std::min({end, written_, FileStart(at) + static_cast<int64_t>(entries_per_file_),
                  at + static_cast<int64_t>(kCqReadChunkEntries)});
    const size_t want = static_cast<size_t>(chunk_end - at);
    chunk.clear();
    APOGEE_RETURN_IF_ERROR(ReadFromFile(at, want, &chunk));
    for (const CqEntry& entry : chunk) {
      if (!IsValidCqEntry(entry, prev_end)) {
        if (out->empty()) {
          return Status(ErrorCode::kCorruption,
                        fmt::format("consume queue {}: invalid entry at {}", dir_, at));
        }
        return Status::Ok();  // the caller gets the valid entries before it
      }
      out->push_back(entry);
      prev_end = entry.commit_log_offset + entry.size;
      at++;
    }
    if (chunk.size() < want) break;  // the file is shorter than written_ says: stop here
  }
  if (out->empty()) {
    return Status(
        ErrorCode::kCorruption,
        fmt::format("consume queue {}: entry {} missing from its file", dir_, queue_offset));
  }
  APOGEE_ASSERT(out->size() <= max_entries);
  return Status::Ok();
}

Status ConsumeQueue::Read(int64_t queue_offset, size_t max_entries, std::vector<CqEntry>* out) {
  APOGEE_ASSERT(loaded_, "Read before Load");
  APOGEE_ASSERT(max_entries >= 1);
  for (int attempt = 0; attempt < kCqReadRetriesMax; attempt++) {
    const uint64_t truncations = truncations_;
    Status s = ReadInto(queue_offset, max_entries, out);
    if (truncations == truncations_) return s;
    // A TruncateTo ran while this read was parked: what it read may be gone. Read again.
  }
  out->clear();
  return Status(ErrorCode::kBusy,
                fmt::format("consume queue {}: read kept overlapping truncation", dir_));
}

Result<int64_t> ConsumeQueue::FirstWhere(int64_t lo, int64_t hi,
                                         const std::function<bool(const CqEntry&)>& past) {
  APOGEE_ASSERT(lo >= 0);
  APOGEE_ASSERT(lo <= hi);
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    APOGEE_ASSIGN_OR_RETURN(CqEntry entry, EntryAt(mid));
    if (past(entry)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

Result<int64_t> ConsumeQueue::SearchByTimestamp(int64_t timestamp_ms,
                                                const StoreTimeReader& reader) {
  APOGEE_ASSERT(loaded_, "SearchByTimestamp before Load");
  int64_t lo = min_;
  int64_t hi = max_offset();
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    APOGEE_ASSIGN_OR_RETURN(CqEntry entry, EntryAt(mid));
    Result<int64_t> store_time = reader(entry.commit_log_offset, entry.size);
    bool newer = false;
    if (store_time.ok()) {
      newer = *store_time >= timestamp_ms;
    } else if (store_time.code() != ErrorCode::kNotFound &&
               store_time.code() != ErrorCode::kOutOfRange) {
      return store_time.status();
    }  // else: retention removed the record; it was among the oldest, so it counts as older
    if (newer) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  APOGEE_ASSERT(lo == hi);
  return lo;
}

}  // namespace apogee::store
