#pragma once

// PosixDisk: io::Disk over the files under one root directory. It keeps the contract of
// core/io/disk.h; what is particular to POSIX files:
//
//   - Every path is taken relative to the root (a leading '/' included); empty and "."
//     components are skipped, a ".." component or a NUL byte is kInvalidArgument.
//   - Every file syscall runs on the I/O pool while the calling fiber parks, so a slow device
//     stalls only that fiber. Jobs copy what they read and write: a fiber killed in the middle
//     of a file call leaves no pointer into its buffers behind (the call still completes).
//   - Sync() is fsync(2), DataSync() fdatasync(2), SyncDir() fsync(2) of the directory.
//   - Append() and WriteAt() of one File are serialized, so two fibers appending to one file
//     never overlap.
//   - A File's descriptor is closed on the I/O pool, by Close() or by the destructor, once no
//     job of it is in flight: a descriptor number is never reused under a pending job.
//   - A WriteAt() or Append() failing with kNoSpace cuts the file back to its size before the
//     call, so it leaves no new bytes (disk.h); what it overwrote below that size stays (only
//     possible over a hole or on a copy-on-write file system).
//   - MakeDirs() creates the root too if it is missing.
// Errno mapping: see DiskError() in errors.h.
// REQUIRES: used on the reactor's loop thread, from fibers (every call may yield).

#include <memory>
#include <string>
#include <vector>

#include "core/io/disk.h"
#include "core/io/posix/io_pool.h"

namespace apogee::io {

class PosixDisk final : public Disk {
 public:
  // Mode bits of new files and directories (before the umask).
  static constexpr unsigned kFileMode = 0644;
  static constexpr unsigned kDirMode = 0755;

  // Serves the files under `root`, which need not exist yet. Touches nothing until called.
  // REQUIRES: `root` is not empty; `pool` outlives the disk and every File it opened.
  PosixDisk(IoPool& pool, std::string root);

  Result<std::unique_ptr<File>> Open(const std::string& path, OpenOptions options) override;
  Status MakeDirs(const std::string& path) override;
  Result<std::vector<std::string>> List(const std::string& dir) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  Result<bool> Exists(const std::string& path) override;
  Result<DiskSpace> Space() override;

  const std::string& root() const { return root_; }
  // The OS path of `path` under the root; kInvalidArgument as described above.
  Result<std::string> Resolve(const std::string& path) const;

 private:
  IoPool& pool_;
  std::string root_;  // without a trailing '/' (except the root directory "/" itself)
};

}  // namespace apogee::io
