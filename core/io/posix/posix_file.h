#pragma once

// The File of PosixDisk, and the descriptor it shares with its jobs on the I/O pool.

#include <memory>
#include <mutex>
#include <string>

#include "core/io/disk.h"
#include "core/io/posix/io_pool.h"

namespace apogee::io {

// An open descriptor, shared by its File and by the pool jobs working on it, and closed when the
// last of them lets go. The File only ever lets go inside a job, so the close runs on an I/O
// thread, and never while another job may still use the descriptor number.
struct FileHandle {
  explicit FileHandle(int descriptor);
  ~FileHandle();
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;

  int fd;
  // Serializes the writes of one file (WriteAt, Append, Truncate), so that Append's
  // "size, then write there" is atomic with respect to the others.
  std::mutex write_mu;
};

// Wraps an open descriptor. `path` is the name the caller opened (for path() and messages).
std::unique_ptr<File> NewPosixFile(IoPool& pool, std::shared_ptr<FileHandle> handle,
                                   std::string path, bool read_only);

}  // namespace apogee::io
