#include <fmt/format.h>

#include <algorithm>

#include "core/base/assert.h"
#include "sim/sim_disk_internal.h"

// SimDiskState: the namespace operations of io::Disk (open, directories, rename, remove).

namespace apogee::sim {

Result<SimDiskState::Opened> SimDiskState::Open(const std::string& raw,
                                                const io::OpenOptions& options) {
  APOGEE_ASSIGN_OR_RETURN(Path path, ParsePath(raw));
  if (options.read_only && options.truncate) {
    return Status(ErrorCode::kInvalidArgument, "truncate on a read-only open");
  }
  if (path.parts.empty()) return Status(ErrorCode::kIsADirectory, "the root is a directory");
  APOGEE_ASSIGN_OR_RETURN(uint64_t parent, WalkDir(path, path.parts.size() - 1));
  Node& dir = NodeAt(parent);
  const std::string& name = path.parts.back();
  uint64_t id = 0;
  if (auto it = dir.entries.find(name); it != dir.entries.end()) {
    if (NodeAt(it->second).is_dir) {
      return Status(ErrorCode::kIsADirectory, fmt::format("'{}' is a directory", path.text));
    }
    if (options.create && options.exclusive) {
      return Status(ErrorCode::kAlreadyExists, fmt::format("'{}' exists", path.text));
    }
    id = it->second;
  } else {
    if (!options.create) return NotFound(path.text);
    id = NewNode(/*is_dir=*/false);
    dir.entries.emplace(name, id);
  }
  Node& file = NodeAt(id);
  file.open_handles++;
  if (options.truncate) Resize(file, 0);
  return Opened{id, path.text};
}

Status SimDiskState::MakeDirs(const std::string& raw) {
  APOGEE_ASSIGN_OR_RETURN(Path path, ParsePath(raw));
  uint64_t id = kRootId;
  for (size_t i = 0; i < path.parts.size(); i++) {
    Node& dir = NodeAt(id);
    APOGEE_ASSERT(dir.is_dir);
    auto it = dir.entries.find(path.parts[i]);
    if (it == dir.entries.end()) {
      id = NewNode(/*is_dir=*/true);
      dir.entries.emplace(path.parts[i], id);
      continue;
    }
    if (!NodeAt(it->second).is_dir) {
      return Status(ErrorCode::kNotADirectory,
                    fmt::format("a file is in the way of directory '{}'", path.text));
    }
    id = it->second;
  }
  APOGEE_ASSERT(NodeAt(id).is_dir);
  return Status::Ok();
}

Result<std::vector<std::string>> SimDiskState::List(const std::string& raw) const {
  APOGEE_ASSIGN_OR_RETURN(Path path, ParsePath(raw));
  APOGEE_ASSIGN_OR_RETURN(uint64_t id, WalkDir(path, path.parts.size()));
  std::vector<std::string> names;
  for (const auto& [name, child] : NodeAt(id).entries) names.push_back(name);
  return names;  // sorted: entries is an ordered map
}

Status SimDiskState::Rename(const std::string& raw_from, const std::string& raw_to) {
  APOGEE_ASSIGN_OR_RETURN(Path from, ParsePath(raw_from));
  APOGEE_ASSIGN_OR_RETURN(Path to, ParsePath(raw_to));
  if (from.parts.empty() || to.parts.empty()) {
    return Status(ErrorCode::kInvalidArgument, "cannot rename the root");
  }
  APOGEE_ASSIGN_OR_RETURN(uint64_t from_parent, WalkDir(from, from.parts.size() - 1));
  APOGEE_ASSIGN_OR_RETURN(uint64_t to_parent, WalkDir(to, to.parts.size() - 1));
  Node& from_dir = NodeAt(from_parent);
  Node& to_dir = NodeAt(to_parent);
  auto from_it = from_dir.entries.find(from.parts.back());
  if (from_it == from_dir.entries.end()) return NotFound(from.text);
  uint64_t id = from_it->second;
  bool moving_dir = NodeAt(id).is_dir;
  if (moving_dir && to.parts.size() > from.parts.size() &&
      std::equal(from.parts.begin(), from.parts.end(), to.parts.begin())) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("cannot move '{}' into itself", from.text));
  }
  if (auto to_it = to_dir.entries.find(to.parts.back()); to_it != to_dir.entries.end()) {
    if (to_it->second == id) return Status::Ok();  // both names link the same node: no-op
    const Node& target = NodeAt(to_it->second);
    if (!moving_dir && target.is_dir) {
      return Status(ErrorCode::kIsADirectory, fmt::format("'{}' is a directory", to.text));
    }
    if (moving_dir && !target.is_dir) {
      return Status(ErrorCode::kNotADirectory, fmt::format("'{}' is a file", to.text));
    }
    if (target.is_dir && !target.entries.empty()) {
      return Status(ErrorCode::kDirectoryNotEmpty, fmt::format("'{}' is not empty", to.text));
    }
  }
  from_dir.entries.erase(from_it);
  to_dir.entries[to.parts.back()] = id;
  CollectGarbage();
  return Status::Ok();
}

Status SimDiskState::Remove(const std::string& raw) {
  APOGEE_ASSIGN_OR_RETURN(Path path, ParsePath(raw));
  if (path.parts.empty()) return Status(ErrorCode::kInvalidArgument, "cannot remove the root");
  APOGEE_ASSIGN_OR_RETURN(uint64_t parent, WalkDir(path, path.parts.size() - 1));
  Node& dir = NodeAt(parent);
  auto it = dir.entries.find(path.parts.back());
  if (it == dir.entries.end()) return NotFound(path.text);
  const Node& target = NodeAt(it->second);
  if (target.is_dir && !target.entries.empty()) {
    return Status(ErrorCode::kDirectoryNotEmpty, fmt::format("'{}' is not empty", path.text));
  }
  dir.entries.erase(it);
  CollectGarbage();
  return Status::Ok();
}

Status SimDiskState::SyncDir(const std::string& raw) {
  APOGEE_ASSIGN_OR_RETURN(Path path, ParsePath(raw));
  APOGEE_ASSIGN_OR_RETURN(uint64_t id, WalkDir(path, path.parts.size()));
  if (random_->Chance(faults_.sync_error_probability)) {
    stats_.failed_syncs++;
    Fault(DiskFaultCode::kSyncDirError, id);
    return Status(ErrorCode::kIoError, "injected directory sync error");
  }
  Node& dir = NodeAt(id);
  dir.durable_entries = dir.entries;
  stats_.syncs++;
  CollectGarbage();
  return Status::Ok();
}

Result<bool> SimDiskState::Exists(const std::string& raw) const {
  APOGEE_ASSIGN_OR_RETURN(Path path, ParsePath(raw));
  Result<uint64_t> id = Walk(path, path.parts.size(), /*durable=*/false);
  if (id.ok()) return true;
  // As stat() does: a file where a directory should be means the path does not exist.
  APOGEE_ASSERT(id.code() == ErrorCode::kNotFound || id.code() == ErrorCode::kNotADirectory);
  return false;
}

io::DiskSpace SimDiskState::Space() const {
  uint64_t capacity = faults_.capacity_bytes;
  if (capacity == UINT64_MAX) capacity = DiskFaults::kUnlimitedCapacityReportBytes;
  return io::DiskSpace{capacity, capacity > used_bytes_ ? capacity - used_bytes_ : 0};
}

}  // namespace apogee::sim
