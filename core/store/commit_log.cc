// CommitLog: appends, reads and the buffer walk. The flusher is in commit_log_flush.cc, recovery
// and retention in commit_log_recovery.cc.

#include "core/store/commit_log.h"

#include <fmt/format.h>

#include "core/base/bytes.h"
#include "core/base/log.h"

namespace apogee::store {

CommitLog::CommitLog(io::Env& env, const StoreConfig& config, std::string dir)
    : env_(env),
      config_(config),
      dir_(std::move(dir)),
      flusher_wake_(env.scheduler.runtime()),
      durable_waiters_(env.scheduler.runtime()),
      room_waiters_(env.scheduler.runtime()) {
  // A record of the largest size plus the blank record must fit an empty segment, or a put
  // could find no segment to go to.
  APOGEE_ASSERT(config_.segment_bytes >= uint64_t{config_.message_bytes_max} + kBlankRecordBytes,
                "segment of {} bytes cannot hold a {}-byte record", config_.segment_bytes,
                config_.message_bytes_max);
  APOGEE_ASSERT(config_.message_bytes_max >= kRecordFixedBytes + 1);
  APOGEE_ASSERT(config_.write_buffer_bytes_max >= config_.message_bytes_max,
                "the write buffer must hold the largest record");
}

// The flusher holds a reference to the log while it runs, so the last reference goes either
// after it ended or while it unwinds from a kill (then on the flusher's own stack).
CommitLog::~CommitLog() = default;

int64_t CommitLog::SegmentStartOf(int64_t offset) const {
  APOGEE_ASSERT(offset >= 0);
  int64_t seg = static_cast<int64_t>(config_.segment_bytes);
  return offset / seg * seg;
}

std::string CommitLog::SegmentPath(int64_t start) const {
  return io::JoinPath(dir_, fmt::format("{:020d}", start));
}

RecordPlacement CommitLog::Append(const MessageToStore& message, int64_t queue_offset,
                                  int64_t store_timestamp_ms, uint32_t* size_out) {
  APOGEE_ASSERT(!stopping_, "append after shutdown");
  uint64_t size = RecordSizeOf(message);
  APOGEE_ASSERT(size <= config_.message_bytes_max, "record of {} bytes", size);
  int64_t segment_end = SegmentStartOf(write_offset_) + static_cast<int64_t>(config_.segment_bytes);
  if (write_offset_ + static_cast<int64_t>(size + kBlankRecordBytes) > segment_end) {
    auto remaining = static_cast<uint32_t>(segment_end - write_offset_);
    APOGEE_ASSERT(remaining >= kBlankRecordBytes, "segment end left {} bytes", remaining);
    EncodeBlankRecord(remaining, buffer_.Reserve(write_offset_, kBlankRecordBytes, remaining));
    write_offset_ = segment_end;
    segment_end += static_cast<int64_t>(config_.segment_bytes);
  }
  RecordPlacement at;
  at.queue_offset = queue_offset;
  at.physical_offset = write_offset_;
  at.store_timestamp_ms = store_timestamp_ms;
  at.store_ipv4 = config_.store_ipv4;
  at.store_port = config_.store_port;
  EncodeRecord(
      message, at,
      buffer_.Reserve(write_offset_, size, static_cast<size_t>(segment_end - write_offset_)));
  write_offset_ += static_cast<int64_t>(size);
  APOGEE_ASSERT(buffer_.end() == write_offset_);
  stats_.appends++;
  *size_out = static_cast<uint32_t>(size);
  if (config_.flush_type == FlushType::kSync ||
      unflushed_bytes() * 2 > config_.write_buffer_bytes_max) {
    Kick();
  }
  return at;
}

Status CommitLog::WaitForRoom(uint64_t bytes, Duration timeout) {
  if (stopping_) return Status(ErrorCode::kClosed, "commit log shut down");
  if (unflushed_bytes() + bytes <= config_.write_buffer_bytes_max) return Status::Ok();
  Deadline deadline = env_.scheduler.After(timeout);
  while (!stopping_ && unflushed_bytes() + bytes > config_.write_buffer_bytes_max) {
    Kick();
    if (room_waiters_.Wait(deadline) == io::WakeReason::kTimeout) {
      return Status(ErrorCode::kTimeout,
                    fmt::format("{} bytes wait to be flushed", unflushed_bytes()));
    }
  }
  if (stopping_) return Status(ErrorCode::kClosed, "commit log shut down");
  return Status::Ok();
}

Status CommitLog::WaitDurable(int64_t end, Deadline deadline) {
  APOGEE_ASSERT(end <= write_offset_, "waiting for {} beyond the log's end {}", end, write_offset_);
  while (flushed_offset_ < end) {
    if (stopped_) return Status(ErrorCode::kClosed, "commit log shut down before the sync");
    Kick();
    if (durable_waiters_.Wait(deadline) == io::WakeReason::kTimeout && flushed_offset_ < end) {
      return Status(ErrorCode::kTimeout, fmt::format("offset {} not durable yet (durable up to {})",
                                                     end, flushed_offset_));
    }
  }
  return Status::Ok();
}

Status CommitLog::Read(int64_t offset, uint32_t size, std::vector<uint8_t>* out) {
  if (offset < min_offset_ || size == 0 || offset + static_cast<int64_t>(size) > write_offset_) {
    return Status(ErrorCode::kOutOfRange,
                  fmt::format("read of {} bytes at {} outside the log [{}, {})", size, offset,
                              min_offset_, write_offset_));
  }
  std::span<const uint8_t> held = buffer_.Read(offset, size);
  if (held.size() == size) {
    out->assign(held.begin(), held.end());
    return Status::Ok();
  }
  int64_t seg = SegmentStartOf(offset);
  auto it = segments_.find(seg);
  if (it == segments_.end()) {
    return Status(ErrorCode::kNotFound, fmt::format("segment {} was removed", seg));
  }
  std::shared_ptr<io::File> file = it->second.file;  // survives a retention delete meanwhile
  out->resize(size);
  APOGEE_ASSIGN_OR_RETURN(size_t n, file->ReadAt(static_cast<uint64_t>(offset - seg), *out));
  if (n != size) {
    return Status(ErrorCode::kCorruption,
                  fmt::format("segment {} ends before the record at {} ({} of {} bytes)", seg,
                              offset, n, size));
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> CommitLog::ReadRecord(int64_t offset) {
  std::vector<uint8_t> head;
  APOGEE_RETURN_IF_ERROR(Read(offset, kBlankRecordBytes, &head));
  uint32_t size = GetU32(head.data());
  if (GetU32(head.data() + 4) != kMessageMagic || size < kRecordFixedBytes ||
      size > config_.message_bytes_max) {
    return Status(ErrorCode::kCorruption, fmt::format("no valid record header at {}", offset));
  }
  std::vector<uint8_t> bytes;
  APOGEE_RETURN_IF_ERROR(Read(offset, size, &bytes));
  DecodedRecord d = DecodeRecord(bytes, offset, config_.message_bytes_max, /*verify_crc=*/true);
  if (d.kind != RecordKind::kMessage) {
    return Status(ErrorCode::kCorruption, fmt::format("record at {}: {}", offset, d.error));
  }
  return bytes;
}

Status CommitLog::Scan(int64_t from, int64_t to, const RecordVisitor& visit) {
  int64_t offset = from;
  while (offset < to) {
    std::vector<uint8_t> head;
    APOGEE_RETURN_IF_ERROR(Read(offset, kBlankRecordBytes, &head));
    if (GetU32(head.data() + 4) == kBlankMagic) {
      int64_t next = SegmentStartOf(offset) + static_cast<int64_t>(config_.segment_bytes);
      if (offset + GetU32(head.data()) != next) {
        return Status(ErrorCode::kCorruption, fmt::format("bad blank record at {}", offset));
      }
      offset = next;
      continue;
    }
    APOGEE_ASSIGN_OR_RETURN(auto bytes, ReadRecord(offset));
    DecodedRecord d = DecodeRecord(bytes, offset, config_.message_bytes_max, /*verify_crc=*/false);
    visit(d.view);
    offset += d.size;
  }
  return Status::Ok();
}

void CommitLog::VisitBuffered(int64_t from, int64_t to, const RecordVisitor& visit) const {
  int64_t offset = from;
  while (offset < to) {
    std::span<const uint8_t> held = buffer_.Read(offset, static_cast<size_t>(to - offset));
    APOGEE_ASSERT(!held.empty(), "offset {} is not in the write buffer", offset);
    DecodedRecord d = DecodeRecord(held, offset, config_.message_bytes_max, /*verify_crc=*/false);
    if (d.kind == RecordKind::kMessage) {
      visit(d.view);
      offset += d.size;
    } else {
      APOGEE_ASSERT(d.kind == RecordKind::kBlank, "own record at {} does not decode: {}", offset,
                    d.error);
      offset = SegmentStartOf(offset) + static_cast<int64_t>(config_.segment_bytes);
    }
  }
  APOGEE_ASSERT(offset == to, "visit ended at {}, not {}", offset, to);
}

}  // namespace apogee::store
