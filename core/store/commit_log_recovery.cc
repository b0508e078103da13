// CommitLog: recovery (scan, validate, cut) and retention (segment deletion).

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/base/log.h"
#include "core/store/commit_log.h"

namespace apogee::store {

namespace {

// Recovery reads this much at a time (plus room for one whole record).
constexpr size_t kScanWindowBytes = 4u << 20;

bool IsSegmentName(const std::string& name) {
  return name.size() == 20 &&
         std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Status CommitLog::OpenSegments() {
  if (segments_opened_) return Status::Ok();
  // The directory's own name must be durable before any segment in it can be.
  APOGEE_RETURN_IF_ERROR(env_.disk.MakeDirs(dir_));
  APOGEE_RETURN_IF_ERROR(env_.disk.SyncDir(io::ParentDir(dir_)));
  APOGEE_ASSIGN_OR_RETURN(auto names, env_.disk.List(dir_));
  for (const std::string& name : names) {
    if (!IsSegmentName(name)) {
      LOG_WARN("commit log: ignoring {} (not a segment name)", io::JoinPath(dir_, name));
      continue;
    }
    int64_t start = std::stoll(name);
    if (start % static_cast<int64_t>(config_.segment_bytes) != 0) {
      return Status(ErrorCode::kCorruption,
                    fmt::format("segment {} does not start at a multiple of {} bytes: was the "
                                "segment size changed?",
                                name, config_.segment_bytes));
    }
    APOGEE_ASSIGN_OR_RETURN(auto file, env_.disk.Open(io::JoinPath(dir_, name), {}));
    Segment seg;
    seg.start = start;
    seg.file = std::move(file);
    segments_.emplace(start, std::move(seg));
  }
  if (!segments_.empty()) min_offset_ = segments_.begin()->first;
  segments_opened_ = true;
  return Status::Ok();
}

int64_t CommitLog::ScanStart(int64_t wanted) const {
  APOGEE_ASSERT(segments_opened_);
  APOGEE_ASSERT(wanted >= 0);
  if (segments_.empty()) return SegmentStartOf(wanted);
  int64_t pos = std::max(wanted, segments_.begin()->first);
  int64_t seg = SegmentStartOf(pos);
  if (segments_.contains(seg)) return pos;
  // At the start of a segment that was never created, right after one that ends with its blank
  // record: the log ends here and there is nothing to scan.
  if (pos == seg && segments_.contains(seg - static_cast<int64_t>(config_.segment_bytes))) {
    return pos;
  }
  // The segment that should hold `wanted` is gone: scan the last one before it.
  auto it = segments_.upper_bound(pos);
  return it == segments_.begin() ? segments_.begin()->first : std::prev(it)->first;
}

Result<LogRecoveryReport> CommitLog::Recover(int64_t scan_from, const RecordVisitor& visit) {
  APOGEE_ASSERT(!flusher_.valid(), "Recover called twice");
  APOGEE_RETURN_IF_ERROR(OpenSegments());
  scan_from = ScanStart(scan_from);
  LogRecoveryReport report;
  if (segments_.empty()) {
    // A fresh store (or one whose every segment is gone): the log starts where it was told.
    min_offset_ = write_offset_ = committed_offset_ = flushed_offset_ = scan_from;
    report.scan_from = report.end_offset = scan_from;
  } else {
    APOGEE_RETURN_IF_ERROR(ScanSegments(scan_from, visit, &report));
  }
  buffer_.Reset(write_offset_);
  APOGEE_ASSERT(min_offset_ <= write_offset_);
  APOGEE_ASSERT(flushed_offset_ == write_offset_);

  // What survived a process crash may still sit in the page cache only: make it durable before
  // calling it so.
  for (auto it = segments_.lower_bound(SegmentStartOf(report.scan_from)); it != segments_.end();
       ++it) {
    APOGEE_RETURN_IF_ERROR(it->second.file->Sync());
  }
  flusher_ =
      env_.scheduler.Spawn("commitlog-flush", [self = shared_from_this()] { self->FlusherLoop(); });
  return report;
}

Status CommitLog::ScanSegments(int64_t scan_from, const RecordVisitor& visit,
                               LogRecoveryReport* report) {
  int64_t pos = scan_from;  // from ScanStart()
  report->scan_from = pos;
  std::vector<uint8_t> window;
  std::string cut_reason;
  bool more = true;
  while (more && cut_reason.empty()) {
    int64_t seg = SegmentStartOf(pos);
    auto it = segments_.find(seg);
    if (it == segments_.end()) break;  // the log ends at a segment start with no file yet
    std::shared_ptr<io::File> file = it->second.file;
    APOGEE_ASSIGN_OR_RETURN(uint64_t file_size, file->Size());
    int64_t file_end = seg + static_cast<int64_t>(file_size);
    int64_t window_start = pos;
    window.clear();
    more = false;  // set when a blank record sends the scan to the next segment
    while (cut_reason.empty() && !more) {
      size_t in_window = static_cast<size_t>(pos - window_start);
      if (pos >= file_end) {
        // The segment ends without a blank record: this is the end of the log.
        if (std::next(it) != segments_.end()) cut_reason = "segment ends without a blank record";
        break;
      }
      DecodedRecord d;
      if (in_window < window.size()) {
        d = DecodeRecord(std::span(window).subspan(in_window), pos, config_.message_bytes_max,
                         /*verify_crc=*/true);
      } else {
        d.kind = RecordKind::kIncomplete;
      }
      if (d.kind == RecordKind::kIncomplete) {
        // Refill from pos; if the file has no more bytes, the tail is torn.
        size_t want = std::max<size_t>(kScanWindowBytes, d.size);
        uint64_t left = static_cast<uint64_t>(file_end - pos);
        if (window_start + static_cast<int64_t>(window.size()) >= file_end &&
            in_window < window.size()) {
          cut_reason = fmt::format("torn record at {}: {} of {} bytes present", pos,
                                   window.size() - in_window, d.size);
          break;
        }
        window.resize(static_cast<size_t>(std::min<uint64_t>(want, left)));
        APOGEE_ASSIGN_OR_RETURN(size_t n, file->ReadAt(static_cast<uint64_t>(pos - seg), window));
        window.resize(n);
        window_start = pos;
        report->bytes_scanned += n;
        if (n == 0) {
          cut_reason = fmt::format("segment {} shorter than its size", seg);
          break;
        }
        continue;
      }
      if (d.kind == RecordKind::kCorrupt) {
        cut_reason = fmt::format("invalid record at {}: {}", pos, d.error);
        break;
      }
      if (d.kind == RecordKind::kBlank) {
        if (pos + d.size != seg + static_cast<int64_t>(config_.segment_bytes)) {
          cut_reason = fmt::format("blank record at {} of {} bytes does not end segment {}", pos,
                                   d.size, seg);
          break;
        }
        pos = seg + static_cast<int64_t>(config_.segment_bytes);
        more = true;
        break;
      }
      visit(d.view);
      report->records_scanned++;
      pos += d.size;
    }
  }
  APOGEE_RETURN_IF_ERROR(CutAt(pos, report));
  report->cut_reason = report->bytes_cut > 0 || report->segments_removed > 0 ? cut_reason : "";
  if (!report->cut_reason.empty()) {
    LOG_WARN("commit log: recovery cut the log at {} ({} bytes, {} segments): {}", pos,
             report->bytes_cut, report->segments_removed, report->cut_reason);
  }
  write_offset_ = committed_offset_ = flushed_offset_ = pos;
  report->end_offset = pos;
  return Status::Ok();
}

Status CommitLog::CutAt(int64_t offset, LogRecoveryReport* report) {
  int64_t seg = SegmentStartOf(offset);
  bool removed_any = false;
  for (auto it = segments_.begin(); it != segments_.end();) {
    if (it->first < seg) {
      ++it;
      continue;
    }
    std::shared_ptr<io::File> file = it->second.file;
    APOGEE_ASSIGN_OR_RETURN(uint64_t size, file->Size());
    if (it->first == seg) {
      uint64_t keep = static_cast<uint64_t>(offset - seg);
      if (size > keep) {
        report->bytes_cut += size - keep;
        APOGEE_RETURN_IF_ERROR(file->Truncate(keep));
        APOGEE_RETURN_IF_ERROR(file->Sync());
      }
      ++it;
      continue;
    }
    // A whole segment past the cut.
    report->bytes_cut += size;
    report->segments_removed++;
    APOGEE_RETURN_IF_ERROR(file->Close());
    APOGEE_RETURN_IF_ERROR(env_.disk.Remove(SegmentPath(it->first)));
    it = segments_.erase(it);
    removed_any = true;
  }
  if (removed_any) APOGEE_RETURN_IF_ERROR(env_.disk.SyncDir(dir_));
  return Status::Ok();
}

std::vector<CommitLog::SegmentInfo> CommitLog::Segments() {
  std::vector<int64_t> starts;
  for (const auto& [start, seg] : segments_) starts.push_back(start);
  std::vector<SegmentInfo> out;
  for (size_t i = 0; i < starts.size(); i++) {
    SegmentInfo info;
    info.start = starts[i];
    if (i + 1 < starts.size()) {
      auto it = segments_.find(starts[i]);
      if (it == segments_.end()) continue;  // deleted while an earlier lookup yielded
      if (it->second.sealed_at_ms == -2) {
        // The first record of the next segment was stored when this one was sealed.
        auto record = ReadRecord(starts[i + 1]);  // may yield
        int64_t sealed_at = -1;
        if (record.ok()) {
          sealed_at = DecodeRecord(*record, starts[i + 1], config_.message_bytes_max, false)
                          .view.store_timestamp_ms;
        }
        it = segments_.find(starts[i]);
        if (it == segments_.end()) continue;
        if (record.ok()) it->second.sealed_at_ms = sealed_at;  // else look again next time
        info.sealed_at_ms = sealed_at;
      } else {
        info.sealed_at_ms = it->second.sealed_at_ms;
      }
    }
    out.push_back(info);
  }
  return out;
}

Status CommitLog::DeleteOldestSegment() {
  if (segments_.size() < 2) return Status(ErrorCode::kNotFound, "only the active segment is left");
  auto it = segments_.begin();
  int64_t next_start = std::next(it)->first;
  // Never delete bytes the flusher has yet to make durable.
  if (next_start > flushed_offset_) {
    return Status(ErrorCode::kNotFound, "the oldest segment is not durable yet");
  }
  int64_t start = it->first;
  std::shared_ptr<io::File> file = it->second.file;
  segments_.erase(it);
  min_offset_ = next_start;
  stats_.segments_deleted++;
  LOG_INFO("commit log: deleting segment {}; the log now starts at {}", start, min_offset_);
  APOGEE_RETURN_IF_ERROR(env_.disk.Remove(SegmentPath(start)));
  return env_.disk.SyncDir(dir_);
}

}  // namespace apogee::store
