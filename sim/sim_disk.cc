#include "sim/sim_disk.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <utility>

#include "core/base/assert.h"
#include "core/io/runtime.h"

namespace apogee::sim {
namespace {

constexpr size_t kPathBytesMax = 4096;
constexpr size_t kNameBytesMax = 255;
constexpr uint64_t kRootId = 1;

Status NotFound(const std::string& path) {
  return Status(ErrorCode::kNotFound, fmt::format("no such file or directory: '{}'", path));
}

}  // namespace

const char* CrashModeName(CrashMode mode) {
  switch (mode) {
    case CrashMode::kDrop:
      return "drop";
    case CrashMode::kKeep:
      return "keep";
    case CrashMode::kTear:
      return "tear";
  }
  return "?";
}

// Everything a machine's disk holds. Shared by the SimMachineDisk and every handle and file it
// hands out, so a handle that outlives the disk fails cleanly instead of dangling.
class SimDiskState {
 public:
  enum class Latency : uint8_t { kRead, kWrite, kSync };
  struct Opened {
    uint64_t id;
    std::string path;
  };

  SimDiskState(Kernel& kernel, std::string machine_name, const DiskFaults& faults)
      : kernel_(&kernel),
        machine_name_(std::move(machine_name)),
        random_(kernel.NewStream("disk/" + machine_name_)) {
    set_faults(faults);
    nodes_[kRootId].is_dir = true;
  }

  uint64_t epoch() const { return epoch_; }
  // Whether handles of `epoch` still work: no crash since, and the SimMachineDisk still exists.
  bool Alive(uint64_t epoch) const {
    if (detached_) return false;
    return epoch == epoch_;
  }
  // The SimMachineDisk is gone: every handle fails from now on and the kernel is not touched.
  void Detach() {
    detached_ = true;
    epoch_++;
  }

  // Parks the running fiber for a latency of `kind` drawn from the stream. May yield; throws
  // FiberKilled if the fiber is killed meanwhile (the caller has changed nothing yet).
  void Delay(Latency kind);

  // --- Files. REQUIRES: `id` names a file held open by a live handle. ---
  Result<size_t> ReadAt(uint64_t id, uint64_t offset, std::span<uint8_t> buf);
  Status WriteAt(uint64_t id, uint64_t offset, std::span<const uint8_t> data);
  Result<uint64_t> Append(uint64_t id, std::span<const uint8_t> data);
  Status Truncate(uint64_t id, uint64_t size);
  Status Sync(uint64_t id);
  uint64_t Size(uint64_t id) const { return FileNode(id).current.size(); }
  // The handle of `id` is closed or destroyed.
  void ReleaseHandle(uint64_t id);

  // --- Namespace: see io::Disk. ---
  // On success the file counts one more open handle.
  Result<Opened> Open(const std::string& raw, const io::OpenOptions& options);
  Status MakeDirs(const std::string& raw);
  Result<std::vector<std::string>> List(const std::string& raw) const;
  Status Rename(const std::string& raw_from, const std::string& raw_to);
  Status Remove(const std::string& raw);
  Status SyncDir(const std::string& raw);
  Result<bool> Exists(const std::string& raw) const;
  io::DiskSpace Space() const;

  // --- Machine: see SimMachineDisk. ---
  void Crash(CrashMode mode);
  Result<std::string> FlipRandomBit();
  Status FlipBit(const std::string& raw, uint64_t offset, int bit);
  Result<std::vector<uint8_t>> DurableContents(const std::string& raw) const;
  void set_faults(const DiskFaults& faults);
  const DiskFaults& faults() const { return faults_; }
  uint64_t used_bytes() const { return used_bytes_; }
  const SimMachineDisk::Stats& stats() const { return stats_; }

 private:
  // An inode. Files use the images; directories use the entries (name -> node id).
  struct Node {
    bool is_dir = false;
    std::vector<uint8_t> current;
    std::vector<uint8_t> durable;
    std::set<uint64_t> dirty;  // sector indices
    uint32_t open_handles = 0;
    std::map<std::string, uint64_t> entries;
    std::map<std::string, uint64_t> durable_entries;
  };
  struct Path {
    std::vector<std::string> parts;  // empty: the root
    std::string text;                // normalized: "a/b/c"
  };
  // One name whose current entry differs from its durable one.
  struct NameChange {
    uint64_t dir = 0;
    std::string name;
    std::optional<uint64_t> before;  // durable; nullopt: absent
    std::optional<uint64_t> after;   // current; nullopt: absent
  };

  static Result<Path> ParsePath(const std::string& raw);
  static void MarkDirty(Node& node, uint64_t begin, uint64_t end);
  static void CopySectors(const std::set<uint64_t>& sectors, const std::vector<uint8_t>& from,
                          std::vector<uint8_t>& to);
  static void MakeDurable(Node& node);
  static void RevertToDurable(Node& node);
  static void CheckFile(const Node& node);

  Node& NodeAt(uint64_t id);
  const Node& NodeAt(uint64_t id) const;
  Node& FileNode(uint64_t id);
  const Node& FileNode(uint64_t id) const;
  uint64_t NewNode(bool is_dir);
  // The node at parts[0, count), through current or durable entries. kNotFound / kNotADirectory.
  Result<uint64_t> Walk(const Path& path, size_t count, bool durable) const;
  // Like Walk, and the node must be a directory.
  Result<uint64_t> WalkDir(const Path& path, size_t count) const;
  // Sets the current size of an open file, zero-filling growth, keeping the accounting.
  void Resize(Node& node, uint64_t size);
  // Fails with kNoSpace if growing file `id` from `old_size` to `new_size` would pass a limit.
  Status Reserve(uint64_t id, uint64_t old_size, uint64_t new_size);
  void Fault(DiskFaultCode code, uint64_t detail);
  std::set<uint64_t> Reachable(bool through_durable) const;
  // Drops nodes nothing reaches or holds open, and recounts used_bytes_.
  void CollectGarbage();
  std::vector<NameChange> UnsyncedNameChanges() const;
  std::vector<bool> DrawTornNameChanges(const std::vector<NameChange>& changes);
  // After a crash: keeps one link per directory (the first in breadth-first order), drops what
  // the root no longer reaches, and makes the durable names current.
  void SettleNamespace();
  void TearFile(Node& node);
  void CollectFiles(uint64_t dir, const std::string& prefix,
                    std::vector<std::pair<std::string, uint64_t>>& out) const;
  void FlipAt(uint64_t id, uint64_t offset, int bit);

  Kernel* kernel_;
  std::string machine_name_;
  std::unique_ptr<TracedRandom> random_;
  DiskFaults faults_;
  SimMachineDisk::Stats stats_;
  std::map<uint64_t, Node> nodes_;  // by id: every walk over them is in creation order
  uint64_t next_id_ = kRootId + 1;
  uint64_t epoch_ = 1;
  bool detached_ = false;
  uint64_t used_bytes_ = 0;
};

// --- Paths and nodes ---

Result<SimDiskState::Path> SimDiskState::ParsePath(const std::string& raw) {
  if (raw.size() > kPathBytesMax) {
    return Status(ErrorCode::kInvalidArgument, fmt::format("path of {} bytes", raw.size()));
  }
  if (raw.find('\0') != std::string::npos) {
    return Status(ErrorCode::kInvalidArgument, "NUL byte in path");
  }
  Path path;
  size_t begin = 0;
  while (begin <= raw.size()) {
    size_t slash = raw.find('/', begin);
    if (slash == std::string::npos) slash = raw.size();
    std::string part = raw.substr(begin, slash - begin);
    begin = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return Status(ErrorCode::kInvalidArgument, fmt::format("'..' in path '{}'", raw));
    }
    if (part.size() > kNameBytesMax) {
      return Status(ErrorCode::kInvalidArgument, fmt::format("name of {} bytes", part.size()));
    }
    if (!path.text.empty()) path.text += '/';
    path.text += part;
    path.parts.push_back(std::move(part));
  }
  return path;
}

void SimDiskState::MarkDirty(Node& node, uint64_t begin, uint64_t end) {
  if (begin >= end) return;
  uint64_t last = (end - 1) / kSimSectorBytes;
  for (uint64_t s = begin / kSimSectorBytes; s <= last; s++) node.dirty.insert(s);
}

void SimDiskState::CopySectors(const std::set<uint64_t>& sectors, const std::vector<uint8_t>& from,
                               std::vector<uint8_t>& to) {
  APOGEE_ASSERT(from.size() == to.size());
  for (uint64_t sector : sectors) {
    uint64_t begin = sector * kSimSectorBytes;
    if (begin >= to.size()) break;  // sorted: every later sector is past the end too
    uint64_t end = std::min<uint64_t>(begin + kSimSectorBytes, to.size());
    std::memcpy(to.data() + begin, from.data() + begin, end - begin);
  }
}

void SimDiskState::MakeDurable(Node& node) {
  node.durable.resize(node.current.size());
  CopySectors(node.dirty, node.current, node.durable);
  node.dirty.clear();
  APOGEE_ASSERT(node.durable.size() == node.current.size());
}

void SimDiskState::RevertToDurable(Node& node) {
  node.current.resize(node.durable.size());
  CopySectors(node.dirty, node.durable, node.current);
  node.dirty.clear();
  APOGEE_ASSERT(node.durable.size() == node.current.size());
}

void SimDiskState::CheckFile(const Node& node) {
  APOGEE_ASSERT(!node.is_dir);
  // Where the sizes differ, the sector of the shorter end is dirty (the cheap half of the
  // invariant; the rest holds by construction: every mutation marks what it touches).
  if (node.current.size() != node.durable.size()) {
    uint64_t shorter = std::min(node.current.size(), node.durable.size());
    APOGEE_ASSERT(node.dirty.contains(shorter / kSimSectorBytes), "size change not dirty");
  }
  APOGEE_ASSERT(node.current.size() <= kSimFileBytesMax);
}

SimDiskState::Node& SimDiskState::NodeAt(uint64_t id) {
  auto it = nodes_.find(id);
  APOGEE_ASSERT(it != nodes_.end(), "no node {}", id);
  return it->second;
}

const SimDiskState::Node& SimDiskState::NodeAt(uint64_t id) const {
  auto it = nodes_.find(id);
  APOGEE_ASSERT(it != nodes_.end(), "no node {}", id);
  return it->second;
}

SimDiskState::Node& SimDiskState::FileNode(uint64_t id) {
  Node& node = NodeAt(id);
  APOGEE_ASSERT(!node.is_dir);
  APOGEE_ASSERT(node.open_handles > 0);
  return node;
}

const SimDiskState::Node& SimDiskState::FileNode(uint64_t id) const {
  const Node& node = NodeAt(id);
  APOGEE_ASSERT(!node.is_dir);
  APOGEE_ASSERT(node.open_handles > 0);
  return node;
}

uint64_t SimDiskState::NewNode(bool is_dir) {
  uint64_t id = next_id_++;
  auto [it, inserted] = nodes_.try_emplace(id);
  APOGEE_ASSERT(inserted);
  it->second.is_dir = is_dir;
  return id;
}

Result<uint64_t> SimDiskState::Walk(const Path& path, size_t count, bool durable) const {
  APOGEE_ASSERT(count <= path.parts.size());
  uint64_t id = kRootId;
  std::string walked;
  for (size_t i = 0; i < count; i++) {
    const Node& dir = NodeAt(id);
    if (!dir.is_dir) {
      return Status(ErrorCode::kNotADirectory, fmt::format("'{}' is not a directory", walked));
    }
    walked = io::JoinPath(walked, path.parts[i]);
    const auto& entries = durable ? dir.durable_entries : dir.entries;
    auto it = entries.find(path.parts[i]);
    if (it == entries.end()) return NotFound(walked);
    id = it->second;
  }
  return id;
}

Result<uint64_t> SimDiskState::WalkDir(const Path& path, size_t count) const {
  APOGEE_ASSIGN_OR_RETURN(uint64_t id, Walk(path, count, /*durable=*/false));
  if (!NodeAt(id).is_dir) {
    return Status(ErrorCode::kNotADirectory, fmt::format("a prefix of '{}' is a file", path.text));
  }
  return id;
}

void SimDiskState::Resize(Node& node, uint64_t size) {
  APOGEE_ASSERT(node.open_handles > 0, "only open files are resized");
  APOGEE_ASSERT(size <= kSimFileBytesMax);
  uint64_t old_size = node.current.size();
  if (size == old_size) return;
  MarkDirty(node, std::min(old_size, size), std::max(old_size, size));
  node.current.resize(size);
  // An open file is always charged, so its size is part of used_bytes_.
  APOGEE_ASSERT(used_bytes_ >= old_size);
  used_bytes_ = used_bytes_ - old_size + size;
}

Status SimDiskState::Reserve(uint64_t id, uint64_t old_size, uint64_t new_size) {
  if (new_size <= old_size) return Status::Ok();
  uint64_t growth = new_size - old_size;
  uint64_t capacity = faults_.capacity_bytes;
  std::string why;
  if (new_size > kSimFileBytesMax) {
    why = fmt::format("a file may not exceed {} bytes in the simulator", kSimFileBytesMax);
  } else if (used_bytes_ > capacity || growth > capacity - used_bytes_) {
    why = fmt::format("{} of {} bytes used, {} more asked", used_bytes_, capacity, growth);
  } else {
    return Status::Ok();
  }
  stats_.no_space++;
  Fault(DiskFaultCode::kNoSpace, id);
  return Status(ErrorCode::kNoSpace, "no space left on device: " + why);
}

void SimDiskState::Fault(DiskFaultCode code, uint64_t detail) {
  kernel_->Note(TraceKind::kFault, static_cast<uint64_t>(code), detail);
}

void SimDiskState::Delay(Latency kind) {
  Duration min = faults_.read_latency_min;
  Duration max = faults_.read_latency_max;
  if (kind == Latency::kWrite) {
    min = faults_.write_latency_min;
    max = faults_.write_latency_max;
  } else if (kind == Latency::kSync) {
    min = faults_.sync_latency_min;
    max = faults_.sync_latency_max;
  }
  APOGEE_ASSERT(min <= max);
  Duration latency = min;
  if (max > min) latency = Duration(random_->Range(min.count(), max.count()));
  if (latency <= Duration{0}) return;
  io::Runtime& runtime = kernel_->runtime();
  APOGEE_ASSERT(runtime.Current() != nullptr, "a simulated disk call with latency off a fiber");
  runtime.SleepUntil(runtime.Now() + latency);
}

void SimDiskState::set_faults(const DiskFaults& faults) {
  for (double p : {faults.read_error_probability, faults.write_error_probability,
                   faults.sync_error_probability}) {
    APOGEE_ASSERT(p >= 0, "fault probability {}", p);
    APOGEE_ASSERT(p <= 1, "fault probability {}", p);
  }
  std::pair<Duration, Duration> latencies[] = {{faults.read_latency_min, faults.read_latency_max},
                                               {faults.write_latency_min, faults.write_latency_max},
                                               {faults.sync_latency_min, faults.sync_latency_max}};
  for (auto [min, max] : latencies) {
    APOGEE_ASSERT(min >= Duration{0}, "negative latency");
    APOGEE_ASSERT(min <= max, "latency min above max");
  }
  faults_ = faults;
}

// --- Files ---

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

// --- Namespace ---

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
      bool last = i + 1 == path.parts.size();
      return Status(last ? ErrorCode::kAlreadyExists : ErrorCode::kNotADirectory,
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

std::set<uint64_t> SimDiskState::Reachable(bool through_durable) const {
  std::set<uint64_t> seen = {kRootId};
  std::vector<uint64_t> stack = {kRootId};
  while (!stack.empty()) {
    const Node& node = NodeAt(stack.back());
    stack.pop_back();
    for (const auto* entries : {&node.entries, &node.durable_entries}) {
      if (entries == &node.durable_entries && !through_durable) continue;
      for (const auto& [name, child] : *entries) {
        if (seen.insert(child).second) stack.push_back(child);
      }
    }
  }
  return seen;
}

void SimDiskState::CollectGarbage() {
  // Charged: what the current namespace names or a handle holds open. Kept besides: what the
  // durable namespace still names, since a crash may bring it back.
  std::set<uint64_t> charged = Reachable(/*through_durable=*/false);
  std::set<uint64_t> kept = Reachable(/*through_durable=*/true);
  uint64_t used = 0;
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    const Node& node = it->second;
    bool is_charged = node.open_handles > 0 || charged.contains(it->first);
    if (!is_charged && !kept.contains(it->first)) {
      it = nodes_.erase(it);
      continue;
    }
    if (is_charged) used += node.current.size();
    ++it;
  }
  APOGEE_ASSERT(nodes_.contains(kRootId));
  used_bytes_ = used;
}

// --- Crashes ---

void SimDiskState::Crash(CrashMode mode) {
  APOGEE_ASSERT(!detached_);
  epoch_++;
  stats_.crashes++;
  Fault(DiskFaultCode::kCrash, static_cast<uint64_t>(mode));
  for (auto& [id, node] : nodes_) node.open_handles = 0;

  std::vector<NameChange> changes = UnsyncedNameChanges();
  std::vector<bool> keep(changes.size(), mode == CrashMode::kKeep);
  if (mode == CrashMode::kTear) keep = DrawTornNameChanges(changes);
  for (size_t i = 0; i < changes.size(); i++) {
    if (!keep[i]) continue;
    auto& durable = NodeAt(changes[i].dir).durable_entries;
    if (changes[i].after.has_value()) {
      durable[changes[i].name] = *changes[i].after;
    } else {
      durable.erase(changes[i].name);
    }
  }
  SettleNamespace();

  uint64_t kept_before = stats_.torn_sectors_kept;
  uint64_t dropped_before = stats_.torn_sectors_dropped;
  for (auto& [id, node] : nodes_) {
    if (node.is_dir) continue;
    if (mode == CrashMode::kDrop) RevertToDurable(node);
    if (mode == CrashMode::kKeep) MakeDurable(node);
    if (mode == CrashMode::kTear) TearFile(node);
    APOGEE_ASSERT(node.dirty.empty());
    APOGEE_ASSERT(node.current == node.durable);
  }
  if (mode == CrashMode::kTear) {
    uint64_t kept = stats_.torn_sectors_kept - kept_before;
    uint64_t dropped = stats_.torn_sectors_dropped - dropped_before;
    Fault(DiskFaultCode::kTornSectors, (kept << 32) | dropped);
  }
  CollectGarbage();
}

std::vector<SimDiskState::NameChange> SimDiskState::UnsyncedNameChanges() const {
  std::vector<NameChange> changes;
  for (const auto& [id, node] : nodes_) {
    if (!node.is_dir) continue;
    // Both maps are sorted: merge them.
    auto cur = node.entries.begin();
    auto dur = node.durable_entries.begin();
    while (cur != node.entries.end() || dur != node.durable_entries.end()) {
      bool take_cur = dur == node.durable_entries.end() ||
                      (cur != node.entries.end() && cur->first < dur->first);
      bool take_dur = !take_cur && (cur == node.entries.end() || dur->first < cur->first);
      if (take_cur) {
        changes.push_back(NameChange{id, cur->first, std::nullopt, cur->second});
        ++cur;
      } else if (take_dur) {
        changes.push_back(NameChange{id, dur->first, dur->second, std::nullopt});
        ++dur;
      } else {
        if (cur->second != dur->second) {
          changes.push_back(NameChange{id, cur->first, dur->second, cur->second});
        }
        ++cur;
        ++dur;
      }
    }
  }
  return changes;
}

std::vector<bool> SimDiskState::DrawTornNameChanges(const std::vector<NameChange>& changes) {
  // Changes that involve the same node belong to one operation (a rename removes one name and
  // adds another): they are kept or undone together, so a torn rename leaves the old name or the
  // new one, never neither. Union-find whose roots are the earliest change of each group.
  std::vector<size_t> parent(changes.size());
  for (size_t i = 0; i < parent.size(); i++) parent[i] = i;
  auto find = [&parent](size_t i) {
    while (parent[i] != i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  std::map<uint64_t, size_t> first_change_of_node;
  for (size_t i = 0; i < changes.size(); i++) {
    for (const std::optional<uint64_t>& node : {changes[i].before, changes[i].after}) {
      if (!node.has_value()) continue;
      auto [it, inserted] = first_change_of_node.emplace(*node, i);
      if (inserted) continue;
      size_t a = find(i);
      size_t b = find(it->second);
      parent[std::max(a, b)] = std::min(a, b);
    }
  }
  std::vector<int> decided(changes.size(), -1);
  std::vector<bool> keep(changes.size());
  for (size_t i = 0; i < changes.size(); i++) {
    size_t root = find(i);
    if (decided[root] < 0) decided[root] = static_cast<int>(random_->Next() & 1);
    keep[i] = decided[root] == 1;
  }
  return keep;
}

void SimDiskState::SettleNamespace() {
  std::set<uint64_t> seen = {kRootId};
  std::deque<uint64_t> queue = {kRootId};
  while (!queue.empty()) {
    Node& dir = NodeAt(queue.front());
    queue.pop_front();
    for (auto it = dir.durable_entries.begin(); it != dir.durable_entries.end();) {
      bool child_is_dir = NodeAt(it->second).is_dir;
      bool first_link = seen.insert(it->second).second;
      if (child_is_dir && !first_link) {
        // Names synced at different times can link a directory twice, even into a cycle; a
        // directory keeps one parent, as fsck would leave it.
        it = dir.durable_entries.erase(it);
        continue;
      }
      if (child_is_dir) queue.push_back(it->second);
      ++it;
    }
  }
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (!seen.contains(it->first)) {
      it = nodes_.erase(it);
      continue;
    }
    if (it->second.is_dir) it->second.entries = it->second.durable_entries;
    ++it;
  }
}

void SimDiskState::TearFile(Node& node) {
  uint64_t current_size = node.current.size();
  uint64_t low = std::min<uint64_t>(current_size, node.durable.size());
  uint64_t high = std::max<uint64_t>(current_size, node.durable.size());
  // The size may end at `low`, at any sector boundary strictly between, or at `high`.
  uint64_t first_boundary = (low / kSimSectorBytes + 1) * kSimSectorBytes;
  uint64_t between = first_boundary < high ? (high - 1 - first_boundary) / kSimSectorBytes + 1 : 0;
  uint64_t choices = 1 + between + (high > low ? 1 : 0);
  uint64_t pick = choices > 1 ? random_->Uniform(choices) : 0;
  uint64_t size = high;
  if (pick == 0) size = low;
  if (pick >= 1 && pick <= between) size = first_boundary + (pick - 1) * kSimSectorBytes;
  APOGEE_ASSERT(size >= low);
  APOGEE_ASSERT(size <= high);
  // Each dirty sector within the new size shows its unsynced bytes or its durable ones (zeros
  // past the durable size: the size got out but the data did not).
  node.durable.resize(size);
  for (uint64_t sector : node.dirty) {
    uint64_t begin = sector * kSimSectorBytes;
    if (begin >= size) break;
    uint64_t end = std::min(begin + kSimSectorBytes, size);
    if ((random_->Next() & 1) == 0) {
      stats_.torn_sectors_dropped++;
      continue;
    }
    stats_.torn_sectors_kept++;
    uint64_t copy_end = std::clamp(current_size, begin, end);
    uint8_t* to = node.durable.data();
    if (copy_end > begin) std::memcpy(to + begin, node.current.data() + begin, copy_end - begin);
    if (end > copy_end) std::memset(to + copy_end, 0, end - copy_end);
  }
  node.current = node.durable;
  node.dirty.clear();
}

// --- Corruption and inspection ---

void SimDiskState::CollectFiles(uint64_t dir, const std::string& prefix,
                                std::vector<std::pair<std::string, uint64_t>>& out) const {
  for (const auto& [name, child] : NodeAt(dir).entries) {
    std::string path = io::JoinPath(prefix, name);
    if (NodeAt(child).is_dir) {
      CollectFiles(child, path, out);
    } else {
      out.emplace_back(std::move(path), child);
    }
  }
}

void SimDiskState::FlipAt(uint64_t id, uint64_t offset, int bit) {
  Node& node = NodeAt(id);
  APOGEE_ASSERT(!node.is_dir);
  APOGEE_ASSERT(offset < node.durable.size());
  APOGEE_ASSERT(bit >= 0);
  APOGEE_ASSERT(bit < 8);
  auto mask = static_cast<uint8_t>(1u << bit);
  node.durable[offset] ^= mask;
  // A clean sector reads the durable bytes; a dirty one keeps its unsynced bytes on top.
  if (!node.dirty.contains(offset / kSimSectorBytes)) {
    APOGEE_ASSERT(offset < node.current.size());
    node.current[offset] ^= mask;
  }
  stats_.bit_flips++;
  Fault(DiskFaultCode::kBitFlip, (id << 40) ^ (offset << 3) ^ static_cast<uint64_t>(bit));
}

Result<std::string> SimDiskState::FlipRandomBit() {
  std::vector<std::pair<std::string, uint64_t>> files;
  CollectFiles(kRootId, "", files);
  std::erase_if(files, [this](const auto& file) { return NodeAt(file.second).durable.empty(); });
  if (files.empty()) return Status(ErrorCode::kNotFound, "no file with durable data");
  const auto& [path, id] = files[random_->Uniform(files.size())];
  uint64_t offset = random_->Uniform(NodeAt(id).durable.size());
  int bit = static_cast<int>(random_->Uniform(8));
  FlipAt(id, offset, bit);
  return fmt::format("flipped bit {} of byte {} in {}", bit, offset, path);
}

Status SimDiskState::FlipBit(const std::string& raw, uint64_t offset, int bit) {
  APOGEE_ASSIGN_OR_RETURN(Path path, ParsePath(raw));
  APOGEE_ASSIGN_OR_RETURN(uint64_t id, Walk(path, path.parts.size(), /*durable=*/false));
  const Node& node = NodeAt(id);
  if (node.is_dir) {
    return Status(ErrorCode::kIsADirectory, fmt::format("'{}' is a directory", path.text));
  }
  if (bit < 0 || bit > 7) return Status(ErrorCode::kInvalidArgument, "bit outside [0, 7]");
  if (offset >= node.durable.size()) {
    return Status(ErrorCode::kOutOfRange,
                  fmt::format("byte {} is past the durable size {}", offset, node.durable.size()));
  }
  FlipAt(id, offset, bit);
  return Status::Ok();
}

Result<std::vector<uint8_t>> SimDiskState::DurableContents(const std::string& raw) const {
  APOGEE_ASSIGN_OR_RETURN(Path path, ParsePath(raw));
  Result<uint64_t> id = Walk(path, path.parts.size(), /*durable=*/true);
  if (!id.ok()) return NotFound(path.text);
  const Node& node = NodeAt(*id);
  if (node.is_dir) {
    return Status(ErrorCode::kIsADirectory, fmt::format("'{}' is a directory", path.text));
  }
  return node.durable;
}

// --- Handles ---

namespace {

using Latency = SimDiskState::Latency;

class SimFile final : public io::File {
 public:
  SimFile(std::shared_ptr<SimDiskState> state, uint64_t epoch, uint64_t id, std::string path,
          bool read_only)
      : state_(std::move(state)),
        epoch_(epoch),
        id_(id),
        path_(std::move(path)),
        read_only_(read_only) {}
  ~SimFile() override { Release(); }
  SimFile(const SimFile&) = delete;
  SimFile& operator=(const SimFile&) = delete;

  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    return Do(Latency::kRead, false, [&] { return state_->ReadAt(id_, offset, buf); });
  }
  Status WriteAt(uint64_t offset, std::span<const uint8_t> data) override {
    return Do(Latency::kWrite, true, [&] { return state_->WriteAt(id_, offset, data); });
  }
  Result<uint64_t> Append(std::span<const uint8_t> data) override {
    return Do(Latency::kWrite, true, [&] { return state_->Append(id_, data); });
  }
  Status Sync() override {
    return Do(Latency::kSync, false, [&] { return state_->Sync(id_); });
  }
  Status DataSync() override { return Sync(); }
  Status Truncate(uint64_t size) override {
    return Do(Latency::kWrite, true, [&] { return state_->Truncate(id_, size); });
  }
  Result<uint64_t> Size() override {
    APOGEE_RETURN_IF_ERROR(Check(false));
    return state_->Size(id_);
  }
  Status Close() override {
    APOGEE_RETURN_IF_ERROR(Check(false));
    Release();
    return Status::Ok();
  }
  const std::string& path() const override { return path_; }

 private:
  Status Check(bool write) const {
    if (closed_) return Status(ErrorCode::kBadFile, fmt::format("'{}' is closed", path_));
    if (!state_->Alive(epoch_)) {
      return Status(ErrorCode::kBadFile, fmt::format("'{}' was opened before a crash", path_));
    }
    if (write && read_only_) {
      return Status(ErrorCode::kBadFile, fmt::format("'{}' is open read-only", path_));
    }
    return Status::Ok();
  }
  // Checks, waits out the latency, checks again (a Close or a crash may have come meanwhile),
  // then takes effect.
  template <typename Op>
  auto Do(Latency latency, bool write, Op op) -> decltype(op()) {
    APOGEE_RETURN_IF_ERROR(Check(write));
    state_->Delay(latency);
    APOGEE_RETURN_IF_ERROR(Check(write));
    return op();
  }
  void Release() {
    if (closed_) return;
    closed_ = true;
    if (state_->Alive(epoch_)) state_->ReleaseHandle(id_);
  }

  std::shared_ptr<SimDiskState> state_;
  uint64_t epoch_;
  uint64_t id_;
  std::string path_;
  bool read_only_;
  bool closed_ = false;
};

class SimDisk final : public io::Disk {
 public:
  SimDisk(std::shared_ptr<SimDiskState> state, uint64_t epoch)
      : state_(std::move(state)), epoch_(epoch) {}

  Result<std::unique_ptr<io::File>> Open(const std::string& path,
                                         io::OpenOptions options) override {
    APOGEE_RETURN_IF_ERROR(Check());
    APOGEE_ASSIGN_OR_RETURN(SimDiskState::Opened opened, state_->Open(path, options));
    return std::unique_ptr<io::File>(std::make_unique<SimFile>(
        state_, epoch_, opened.id, std::move(opened.path), options.read_only));
  }
  Status MakeDirs(const std::string& path) override {
    return Do(Latency::kWrite, [&] { return state_->MakeDirs(path); });
  }
  Result<std::vector<std::string>> List(const std::string& dir) override {
    APOGEE_RETURN_IF_ERROR(Check());
    return state_->List(dir);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return Do(Latency::kWrite, [&] { return state_->Rename(from, to); });
  }
  Status Remove(const std::string& path) override {
    return Do(Latency::kWrite, [&] { return state_->Remove(path); });
  }
  Status SyncDir(const std::string& dir) override {
    return Do(Latency::kSync, [&] { return state_->SyncDir(dir); });
  }
  Result<bool> Exists(const std::string& path) override {
    APOGEE_RETURN_IF_ERROR(Check());
    return state_->Exists(path);
  }
  Result<io::DiskSpace> Space() override {
    APOGEE_RETURN_IF_ERROR(Check());
    return state_->Space();
  }

 private:
  Status Check() const {
    if (state_->Alive(epoch_)) return Status::Ok();
    return Status(ErrorCode::kBadFile, "disk handle of a crashed process");
  }
  template <typename Op>
  Status Do(Latency latency, Op op) {
    APOGEE_RETURN_IF_ERROR(Check());
    state_->Delay(latency);
    APOGEE_RETURN_IF_ERROR(Check());
    return op();
  }

  std::shared_ptr<SimDiskState> state_;
  uint64_t epoch_;
};

}  // namespace

// --- SimMachineDisk ---

SimMachineDisk::SimMachineDisk(Kernel& kernel, std::string machine_name, DiskFaults faults)
    : state_(std::make_shared<SimDiskState>(kernel, std::move(machine_name), faults)) {}

SimMachineDisk::~SimMachineDisk() { state_->Detach(); }

std::unique_ptr<io::Disk> SimMachineDisk::Attach() {
  return std::make_unique<SimDisk>(state_, state_->epoch());
}

void SimMachineDisk::Crash(CrashMode mode) { state_->Crash(mode); }
void SimMachineDisk::set_faults(const DiskFaults& faults) { state_->set_faults(faults); }
const DiskFaults& SimMachineDisk::faults() const { return state_->faults(); }
Result<std::string> SimMachineDisk::FlipRandomBit() { return state_->FlipRandomBit(); }
Status SimMachineDisk::FlipBit(const std::string& path, uint64_t offset, int bit) {
  return state_->FlipBit(path, offset, bit);
}
uint64_t SimMachineDisk::used_bytes() const { return state_->used_bytes(); }
const SimMachineDisk::Stats& SimMachineDisk::stats() const { return state_->stats(); }
Result<std::vector<uint8_t>> SimMachineDisk::DurableContents(const std::string& path) const {
  return state_->DurableContents(path);
}

}  // namespace apogee::sim
