#include "core/store/checkpoint.h"

#include "core/base/bytes.h"
#include "core/base/crc32.h"

namespace apogee::store {

namespace {
constexpr uint32_t kCheckpointMagic = 0x4150434B;  // "APCK"
constexpr uint32_t kCheckpointVersion = 1;
constexpr size_t kCrcAt = 56;
}  // namespace

void EncodeCheckpoint(const Checkpoint& cp, uint8_t* out) {
  PutU64(out + 0, static_cast<uint64_t>(cp.physic_msg_timestamp_ms));
  PutU64(out + 8, static_cast<uint64_t>(cp.logics_msg_timestamp_ms));
  PutU64(out + 16, static_cast<uint64_t>(cp.index_msg_timestamp_ms));
  PutU32(out + 24, kCheckpointMagic);
  PutU32(out + 28, kCheckpointVersion);
  PutU64(out + 32, static_cast<uint64_t>(cp.commit_log_flushed));
  PutU64(out + 40, static_cast<uint64_t>(cp.consume_queue_flushed));
  PutU64(out + 48, static_cast<uint64_t>(cp.index_flushed));
  PutU32(out + kCrcAt, Crc32(std::span<const uint8_t>(out, kCrcAt)));
  PutU32(out + 60, 0);
}

std::optional<Checkpoint> DecodeCheckpoint(const uint8_t* in, size_t size) {
  if (size < kCheckpointBytes) return std::nullopt;
  if (GetU32(in + 24) != kCheckpointMagic || GetU32(in + 28) != kCheckpointVersion) {
    return std::nullopt;
  }
  if (GetU32(in + kCrcAt) != Crc32(std::span<const uint8_t>(in, kCrcAt))) return std::nullopt;
  Checkpoint cp;
  cp.physic_msg_timestamp_ms = static_cast<int64_t>(GetU64(in + 0));
  cp.logics_msg_timestamp_ms = static_cast<int64_t>(GetU64(in + 8));
  cp.index_msg_timestamp_ms = static_cast<int64_t>(GetU64(in + 16));
  cp.commit_log_flushed = static_cast<int64_t>(GetU64(in + 32));
  cp.consume_queue_flushed = static_cast<int64_t>(GetU64(in + 40));
  cp.index_flushed = static_cast<int64_t>(GetU64(in + 48));
  if (cp.commit_log_flushed < 0 || cp.consume_queue_flushed < 0 || cp.index_flushed < 0) {
    return std::nullopt;
  }
  return cp;
}

Result<std::optional<Checkpoint>> ReadCheckpoint(io::Disk& disk, const std::string& path) {
  auto bytes = disk.ReadAll(path);
  if (bytes.code() == ErrorCode::kNotFound) return std::optional<Checkpoint>();
  if (!bytes.ok()) return bytes.status();
  return DecodeCheckpoint(bytes->data(), bytes->size());
}

Status WriteCheckpoint(io::Disk& disk, const std::string& path, const Checkpoint& cp) {
  io::OpenOptions options;
  options.create = true;
  APOGEE_ASSIGN_OR_RETURN(auto file, disk.Open(path, options));
  uint8_t bytes[kCheckpointBytes];
  EncodeCheckpoint(cp, bytes);
  Status s = file->WriteAt(0, bytes);
  if (s.ok()) s = file->Sync();
  file->Close().IgnoreError();
  APOGEE_RETURN_IF_ERROR(s);
  // Once a second at most: cheaper than remembering whether an earlier SyncDir failed.
  return disk.SyncDir(io::ParentDir(path));
}

}  // namespace apogee::store
