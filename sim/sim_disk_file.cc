#include <algorithm>
#include <cstring>

#include "core/base/assert.h"
#include "sim/sim_disk_internal.h"

// SimDiskState: the data operations on an open file (see io::File).

namespace apogee::sim {

Result<size_t> SimDiskState::ReadAt(uint64_t id, uint64_t offset, std::span<uint8_t> buf) {
  const Node& node = FileNode(id);
  if (random_->Chance(faults_.read_error_probability)) {
    stats_.read_errors++;
    Fault(DiskFaultCode::kReadError, id);
    return Status(ErrorCode::kIoError, "injected read error");
  }
  stats_.reads++;
  uint64_t size = node.current.size();
  if (offset >= size) return size_t{0};
  size_t count = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - offset));
  if (count > 0) std::memcpy(buf.data(), node.current.data() + offset, count);
  APOGEE_ASSERT(count == buf.size() || offset + count == size, "short read before EOF");
  return count;
}

Status SimDiskState::WriteAt(uint64_t id, uint64_t offset, std::span<const uint8_t> data) {
  Node& node = FileNode(id);
  if (random_->Chance(faults_.write_error_probability)) {
    stats_.write_errors++;
    Fault(DiskFaultCode::kWriteError, id);
    return Status(ErrorCode::kIoError, "injected write error");
  }
  if (data.empty()) {
    stats_.writes++;
    return Status::Ok();
  }
  uint64_t old_size = node.current.size();
  // Saturates: an offset near 2^64 then fails the size limit rather than wrapping.
  uint64_t end = offset > kSimFileBytesMax ? UINT64_MAX : offset + data.size();
  APOGEE_RETURN_IF_ERROR(Reserve(id, old_size, std::max(old_size, end)));
  if (end > old_size) Resize(node, end);
  MarkDirty(node, offset, end);
  std::memcpy(node.current.data() + offset, data.data(), data.size());
  stats_.writes++;
  CheckFile(node);
  APOGEE_ASSERT(node.current.size() >= end);
  return Status::Ok();
}

Result<uint64_t> SimDiskState::Append(uint64_t id, std::span<const uint8_t> data) {
  uint64_t offset = FileNode(id).current.size();
  APOGEE_RETURN_IF_ERROR(WriteAt(id, offset, data));
  return offset;
}

Status SimDiskState::Truncate(uint64_t id, uint64_t size) {
  Node& node = FileNode(id);
  if (random_->Chance(faults_.write_error_probability)) {
    stats_.write_errors++;
    Fault(DiskFaultCode::kWriteError, id);
    return Status(ErrorCode::kIoError, "injected write error");
  }
  APOGEE_RETURN_IF_ERROR(Reserve(id, node.current.size(), size));
  Resize(node, size);
  stats_.writes++;
  CheckFile(node);
  APOGEE_ASSERT(node.current.size() == size);
  return Status::Ok();
}

Status SimDiskState::Sync(uint64_t id) {
  Node& node = FileNode(id);
  if (random_->Chance(faults_.sync_error_probability)) {
    stats_.failed_syncs++;
    Fault(DiskFaultCode::kSyncError, id);
    uint64_t old_size = node.current.size();
    RevertToDurable(node);
    APOGEE_ASSERT(used_bytes_ >= old_size);
    used_bytes_ = used_bytes_ - old_size + node.current.size();
    return Status(ErrorCode::kIoError, "injected sync error: unsynced data lost");
  }
  MakeDurable(node);
  stats_.syncs++;
  APOGEE_ASSERT(node.dirty.empty());
  return Status::Ok();
}

void SimDiskState::ReleaseHandle(uint64_t id) {
  Node& node = FileNode(id);
  node.open_handles--;
  if (node.open_handles == 0) CollectGarbage();
}

}  // namespace apogee::sim
