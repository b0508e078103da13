#pragma once

// The simulated disk of one simulated machine (after FoundationDB's AsyncFileNonDurable and
// RocksDB's FaultInjectionTestFS). It belongs to the machine, not to a process: it outlives
// process crashes, and each process incarnation works on it through a handle from Attach().
//
// Model:
//   - A file is an inode, shared by every name that links to it. It keeps a `current` image
//     (what reads see), a `durable` image (what a crash falls back to; its length is the durable
//     size) and the set of dirty 512-byte sectors where the two may differ. Sync() and
//     DataSync() copy the dirty sectors and the size from current to durable.
//   - The namespace is a tree of directories. Each directory keeps its current entries
//     (name -> inode) and its durable entries. Open with create, MakeDirs, Rename and Remove
//     change current entries only; SyncDir(dir) copies that directory's current entries to its
//     durable ones (creates, renames in and out, removals). A rename between two directories
//     needs both synced; if only the target is, a crash may leave both names (a hard link).
//   - Crash(mode) ends every handle and file of earlier incarnations, applies `mode` to every
//     unsynced name change and every dirty sector, then makes the result both current and
//     durable. Inodes no name reaches afterwards are gone.
//
// Timing: each data operation takes its effect after its latency, so a fiber killed while it
// waits (FiberKilled propagates out of the call) changes nothing, and a crash during the wait
// makes the call fail with kBadFile. ReadAt takes a read latency; WriteAt, Append, Truncate,
// MakeDirs, Rename and Remove a write latency; Sync, DataSync and SyncDir a sync latency. Open,
// Close, Size, List, Exists and Space take no time. REQUIRES: with non-zero latencies, calls
// come from a fiber.
//
// Faults are drawn from the machine's stream ("disk/<machine>") of the kernel, and every injected
// fault is also folded into the kernel's trace as TraceKind::kFault with a DiskFaultCode, so a
// replay confirms them. Nothing iterates in pointer order: nodes are kept by id, names sorted.
//
// Limits: a file may not grow beyond kSimFileBytesMax (such writes fail with kNoSpace); a path
// may not exceed 4096 bytes, nor a name 255 (kInvalidArgument).
//
// Invariants (per file inode):
//   - Every byte where current and durable differ, or where one has a byte and the other none,
//     lies in a dirty sector.
//   - used_bytes() is the sum of the current sizes of the files that the current namespace
//     names or that a live handle holds open.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/base/time.h"
#include "core/io/disk.h"
#include "sim/kernel.h"

namespace apogee::sim {

inline constexpr uint64_t kSimSectorBytes = 512;
// 256 MiB: the simulator keeps whole images in memory, so one write at a wild offset must not
// be able to allocate gigabytes (scenarios use small segment sizes).
inline constexpr uint64_t kSimFileBytesMax = uint64_t{256} << 20;

// What a crash does with what was not synced: the unsynced data of each file and the unsynced
// name changes of each directory. The values are stable (fault plans draw them as 0..2).
enum class CrashMode : uint8_t {
  kDrop = 0,  // all of it is lost
  kKeep = 1,  // all of it survives
  kTear = 2,  // each dirty sector independently kept or dropped; each file's size anywhere between
              // its durable and current sizes (at sector granularity); each unsynced name change
              // independently kept or undone (a rename is one change: old name or new, never none)
};

// "drop", "keep" or "tear".
const char* CrashModeName(CrashMode mode);

// The `a` of every TraceKind::kFault note the disk folds into the kernel's trace.
enum class DiskFaultCode : uint64_t {
  kReadError = 0xD001,     // b = inode id
  kWriteError = 0xD002,    // b = inode id
  kSyncError = 0xD003,     // b = inode id
  kSyncDirError = 0xD004,  // b = directory inode id
  kNoSpace = 0xD005,       // b = inode id
  kBitFlip = 0xD006,       // b = inode id << 40 ^ offset << 3 ^ bit
  kCrash = 0xD007,         // b = CrashMode
  kTornSectors = 0xD008,   // b = sectors kept << 32 | sectors dropped
};

struct DiskFaults {
  // Each ReadAt fails with kIoError.
  double read_error_probability = 0;
  // Each WriteAt, Append or Truncate fails with kIoError and writes nothing.
  double write_error_probability = 0;
  // Each Sync or DataSync fails with kIoError and the file's dirty data is lost at once: its
  // dirty sectors revert to the durable image and its size to the durable size. Each SyncDir
  // fails with kIoError and makes nothing durable (the current names stay as they are).
  double sync_error_probability = 0;
  // The sum of all file sizes (see used_bytes()) may not exceed this: a write or truncate that
  // would grow past it fails with kNoSpace and writes nothing. UINT64_MAX: unlimited (Space()
  // then reports a capacity of kUnlimitedCapacityReportBytes).
  uint64_t capacity_bytes = UINT64_MAX;
  // Each operation parks the calling fiber for a latency drawn uniformly from [min, max];
  // zero does not yield at all.
  Duration read_latency_min = Duration{0};
  Duration read_latency_max = Duration{0};
  Duration write_latency_min = Duration{0};
  Duration write_latency_max = Duration{0};
  Duration sync_latency_min = Duration{0};
  Duration sync_latency_max = Duration{0};

  static constexpr uint64_t kUnlimitedCapacityReportBytes = uint64_t{1} << 40;  // 1 TiB
};

class SimDiskState;

class SimMachineDisk {
 public:
  // Draws all its randomness from kernel.NewStream("disk/" + machine_name).
  // REQUIRES: the kernel outlives this disk; the faults are valid (see set_faults).
  SimMachineDisk(Kernel& kernel, std::string machine_name, DiskFaults faults = {});
  // Handles and files still alive afterwards fail every call with kBadFile.
  ~SimMachineDisk();
  SimMachineDisk(const SimMachineDisk&) = delete;
  SimMachineDisk& operator=(const SimMachineDisk&) = delete;

  // A handle for one process incarnation. It works until the next Crash().
  std::unique_ptr<io::Disk> Attach();

  // The process (or machine) crashed: every handle and file from earlier Attach() calls stops
  // working (calls fail with kBadFile; destructors are harmless); what was not synced is
  // dropped, kept or torn as `mode` says. Does not yield.
  void Crash(CrashMode mode);

  // REQUIRES: probabilities in [0, 1]; latencies non-negative with min <= max.
  void set_faults(const DiskFaults& faults);
  const DiskFaults& faults() const;

  // Silent corruption of the medium: flips one bit of a file's durable image. Reads see it unless
  // the sector has unsynced writes over it (then it shows only if a crash drops them).
  // FlipRandomBit picks a file with a non-empty durable image among those the current namespace
  // names (in path order), an offset and a bit from the stream, and returns a description such
  // as "flipped bit 3 of byte 1234 in commitlog/0000"; kNotFound if there is no such file.
  // FlipBit fails with kNotFound / kIsADirectory / kNotADirectory for a bad path,
  // kInvalidArgument for a bit outside [0, 7], kOutOfRange for an offset at or past the durable
  // size. Neither yields.
  Result<std::string> FlipRandomBit();
  Status FlipBit(const std::string& path, uint64_t offset, int bit);

  uint64_t used_bytes() const;

  struct Stats {
    uint64_t reads = 0;   // successful ReadAt calls
    uint64_t writes = 0;  // successful WriteAt, Append and Truncate calls
    uint64_t syncs = 0;   // successful Sync, DataSync and SyncDir calls
    uint64_t failed_syncs = 0;
    uint64_t read_errors = 0;
    uint64_t write_errors = 0;
    uint64_t no_space = 0;
    uint64_t bit_flips = 0;
    uint64_t crashes = 0;
    // Dirty sectors within the chosen size that kTear crashes kept or dropped (sectors cut off
    // by the size are not counted).
    uint64_t torn_sectors_kept = 0;
    uint64_t torn_sectors_dropped = 0;
  };
  const Stats& stats() const;

  // For tests and checkers: the durable bytes of a file, as they would be after a kDrop crash,
  // without crashing. The path is looked up in the durable namespace: kNotFound if it has no
  // such file, kIsADirectory if it names a directory, kInvalidArgument for a bad path.
  Result<std::vector<uint8_t>> DurableContents(const std::string& path) const;

 private:
  std::shared_ptr<SimDiskState> state_;
};

}  // namespace apogee::sim
