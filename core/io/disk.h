#pragma once

// Disk: files and directories, with a durability contract both backends keep.
//
// Paths are '/'-separated and relative to the node's data root (absolute paths are taken as
// relative to it too); ".." is rejected with kInvalidArgument.
//
// Durability (what survives a crash of the process or the machine):
//   - Bytes written by WriteAt/Append are durable once Sync() (or DataSync()) on that file
//     returns OK. Until then a crash may drop them, keep them, or keep some sectors and not
//     others (a torn write), independently per 512-byte sector.
//   - A failed Sync() (kIoError) means the dirty data may be lost even though reads still
//     return it or not: never treat it as written. The simulator drops it at once.
//   - A new file name (Open with create), a Rename() and a Remove() are durable once SyncDir()
//     on the parent directory returns OK. A crash before that may undo them.
//   - DataSync() makes the data durable and the size, but not other metadata; for our purposes
//     it is equivalent to Sync() for files whose size it covers.
// Errors: kNotFound (missing file or directory), kAlreadyExists (exclusive create),
// kNoSpace (the disk is full; the failed call wrote nothing), kIoError
// (the device failed), kIsADirectory / kNotADirectory / kDirectoryNotEmpty, kBadFile (the file
// was closed, or its node crashed). Both backends agree on these cases (the conformance suite
// pins them): MakeDirs through or onto a file is kNotADirectory; renaming a directory into
// itself is kInvalidArgument; a read at an offset far past the end returns 0; a write that
// would grow a file past what the backend allows is kNoSpace.
// Every call may yield: in production file calls run on I/O threads while the fiber waits.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace apogee::io {

struct OpenOptions {
  bool create = false;     // create the file if it does not exist
  bool exclusive = false;  // with create: fail with kAlreadyExists if it exists
  bool truncate = false;   // cut the file to 0 bytes on open
  bool read_only = false;  // writes fail with kBadFile
};

class File {
 public:
  virtual ~File() = default;
  // Reads up to buf.size() bytes at `offset`; fewer only at end of file (0 at or past it).
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) = 0;
  // Writes all of `data` at `offset`, extending the file (with zeros over any gap) if needed.
  virtual Status WriteAt(uint64_t offset, std::span<const uint8_t> data) = 0;
  // Writes `data` at the end of the file; returns the offset where it starts.
  virtual Result<uint64_t> Append(std::span<const uint8_t> data) = 0;
  // Makes everything written so far durable (fsync).
  virtual Status Sync() = 0;
  // Makes the data durable (fdatasync).
  virtual Status DataSync() = 0;
  // Sets the size; a grown file reads zeros in the new part.
  virtual Status Truncate(uint64_t size) = 0;
  virtual Result<uint64_t> Size() = 0;
  // Releases the file. Does not sync. Further calls fail with kBadFile.
  virtual Status Close() = 0;
  virtual const std::string& path() const = 0;
};

struct DiskSpace {
  uint64_t capacity_bytes = 0;
  uint64_t free_bytes = 0;
};

class Disk {
 public:
  virtual ~Disk() = default;
  virtual Result<std::unique_ptr<File>> Open(const std::string& path, OpenOptions options) = 0;
  // Creates a directory and any missing parents; OK if it exists. Each new directory's name is
  // durable once its parent is synced.
  virtual Status MakeDirs(const std::string& path) = 0;
  // The names in a directory (not paths), sorted.
  virtual Result<std::vector<std::string>> List(const std::string& dir) = 0;
  // Atomically replaces `to` with `from`.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Removes a file or an empty directory.
  virtual Status Remove(const std::string& path) = 0;
  // Makes the names in `dir` durable (creates, renames and removes within it).
  virtual Status SyncDir(const std::string& dir) = 0;
  virtual Result<bool> Exists(const std::string& path) = 0;
  virtual Result<DiskSpace> Space() = 0;

  // Reads a whole file. May yield.
  Result<std::vector<uint8_t>> ReadAll(const std::string& path);
  // Writes a file through a temporary name, syncs it, renames it over `path` and syncs the
  // directory: afterwards either the old or the new contents survive any crash. May yield.
  Status WriteAtomically(const std::string& path, std::span<const uint8_t> data);
};

// "a/b/c" -> "a/b"; "c" -> "".
std::string ParentDir(const std::string& path);
// Joins with one '/'.
std::string JoinPath(const std::string& a, const std::string& b);

}  // namespace apogee::io
