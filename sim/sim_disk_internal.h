#pragma once

// Private to the simulated disk's implementation files (sim_disk*.cc); nothing outside sim/
// includes it. SimDiskState holds everything a machine's disk keeps and implements every
// operation; its definitions are split by concern:
//   - sim_disk_path.cc: parsing paths and walking them through the namespace.
//   - sim_disk_state.cc: inodes, sectors, space accounting, garbage collection, latencies.
//   - sim_disk_file.cc: the data operations on an open file.
//   - sim_disk_namespace.cc: the namespace operations of io::Disk.
//   - sim_disk_crash.cc: what a crash does with unsynced data and names.
//   - sim_disk_corruption.cc: bit flips and durable-image inspection.
//   - sim_disk_handle.cc: the io::Disk and io::File handles a process works through.
//   - sim_disk.cc: SimMachineDisk, a thin owner that forwards here.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/io/disk.h"
#include "sim/kernel.h"
#include "sim/sim_disk.h"

namespace apogee::sim {

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
    // The smallest size a truncate left the file at since it was last all durable (kNoCut:
    // none). A torn crash may keep the truncate and lose what was written after it: the bytes
    // it cut off were freed, so they come back as zeros, or the file ends where it was cut.
    uint64_t cut_to = kNoCut;
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

  static constexpr uint64_t kRootId = 1;
  static constexpr uint64_t kNoCut = ~uint64_t{0};

  static Result<Path> ParsePath(const std::string& raw);
  static Status NotFound(const std::string& path);
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

// A handle for the process incarnation `epoch` (the state's current one when attached). It fails
// every call with kBadFile once the state has moved past `epoch` (a crash) or is detached.
std::unique_ptr<io::Disk> NewSimDiskHandle(std::shared_ptr<SimDiskState> state, uint64_t epoch);

}  // namespace apogee::sim
