#include "core/io/posix/posix_file.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "core/io/posix/errors.h"

namespace apogee::io {
namespace {

// Writes all of `size` bytes at `offset`, looping over short writes.
Status PwriteAll(int fd, const uint8_t* data, size_t size, uint64_t offset,
                 const std::string& path) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return DiskError(errno, fmt::format("write {} at {} after {} of {} bytes", path,
                                          offset + done, done, size));
    }
    if (n == 0) {
      return Status(ErrorCode::kIoError,
                    fmt::format("write {} at {} made no progress", path, offset + done));
    }
    done += static_cast<size_t>(n);
  }
  APOGEE_ASSERT(done == size);
  return Status::Ok();
}

Result<uint64_t> SizeOf(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return DiskError(errno, fmt::format("stat {}", path));
  APOGEE_ASSERT(st.st_size >= 0);
  return static_cast<uint64_t>(st.st_size);
}

// PwriteAll() for a file that was `old_size` bytes long. disk.h promises that a write failing
// with kNoSpace wrote nothing, but the kernel may have written a prefix before it ran out of
// space; cutting the file back to `old_size` removes every byte that prefix added. Bytes it
// overwrote below `old_size` stay overwritten: a full disk refuses new blocks, which such an
// overwrite does not need except over a hole or on a copy-on-write file system.
// REQUIRES: the caller holds the file's write_mu.
Status WriteUndoingNoSpace(int fd, const uint8_t* data, size_t size, uint64_t offset,
                           uint64_t old_size, const std::string& path) {
  Status s = PwriteAll(fd, data, size, offset, path);
  if (s.code() != ErrorCode::kNoSpace) return s;
  Result<uint64_t> size_now = SizeOf(fd, path);
  if (size_now.ok() && *size_now <= old_size) return s;  // the file did not grow
  int rc;
  do {
    rc = ::ftruncate(fd, static_cast<off_t>(old_size));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    // The file may now hold part of the write: the device is failing, not just full.
    return DiskError(
        errno, fmt::format("{}; then cutting {} back to {} bytes", s.message(), path, old_size));
  }
  return s;
}

// What a read job hands back: bytes it owns, copied into the caller's buffer on the fiber.
struct ReadBytes {
  std::unique_ptr<uint8_t[]> data;
  size_t size = 0;
};

class PosixFile final : public File {
 public:
  PosixFile(IoPool& pool, std::shared_ptr<FileHandle> handle, std::string path, bool read_only)
      : pool_(pool), handle_(std::move(handle)), path_(std::move(path)), read_only_(read_only) {}

  ~PosixFile() override {
    // Close in the background: a destructor may run where no fiber can wait (unwinding, or
    // outside any fiber). The job drops the last reference, which closes the descriptor.
    if (handle_ != nullptr) pool_.Submit([h = std::move(handle_)]() mutable { h.reset(); });
  }

  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    if (handle_ == nullptr) return Closed("read");
    if (buf.empty()) return size_t{0};
    size_t want = buf.size();
    Result<ReadBytes> got = pool_.Call<Result<ReadBytes>>(
        [h = handle_, offset, want, path = path_]() -> Result<ReadBytes> {
          ReadBytes out{std::make_unique_for_overwrite<uint8_t[]>(want), 0};
          while (out.size < want) {
            ssize_t n = ::pread(h->fd, out.data.get() + out.size, want - out.size,
                                static_cast<off_t>(offset + out.size));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return DiskError(errno, fmt::format("read {} at {}", path, offset));
            if (n == 0) break;  // end of file
            out.size += static_cast<size_t>(n);
          }
          return out;
        });
    if (!got.ok()) return got.status();
    APOGEE_ASSERT(got->size <= want);
    if (got->size > 0) std::memcpy(buf.data(), got->data.get(), got->size);
    return got->size;
  }

  Status WriteAt(uint64_t offset, std::span<const uint8_t> data) override {
    APOGEE_RETURN_IF_ERROR(CheckWritable("write"));
    if (data.empty()) return Status::Ok();
    return pool_.Call<Status>([h = handle_, offset,
                               bytes = std::vector<uint8_t>(data.begin(), data.end()),
                               path = path_]() -> Status {
      std::lock_guard<std::mutex> lock(h->write_mu);
      APOGEE_ASSIGN_OR_RETURN(uint64_t old_size, SizeOf(h->fd, path));
      return WriteUndoingNoSpace(h->fd, bytes.data(), bytes.size(), offset, old_size, path);
    });
  }

  Result<uint64_t> Append(std::span<const uint8_t> data) override {
    APOGEE_RETURN_IF_ERROR(CheckWritable("append"));
    return pool_.Call<Result<uint64_t>>([h = handle_,
                                         bytes = std::vector<uint8_t>(data.begin(), data.end()),
                                         path = path_]() -> Result<uint64_t> {
      std::lock_guard<std::mutex> lock(h->write_mu);
      APOGEE_ASSIGN_OR_RETURN(uint64_t end, SizeOf(h->fd, path));
      APOGEE_RETURN_IF_ERROR(
          WriteUndoingNoSpace(h->fd, bytes.data(), bytes.size(), end, end, path));
      return end;
    });
  }

  Status Sync() override {
    if (handle_ == nullptr) return Closed("sync");
    return pool_.Call<Status>([h = handle_, path = path_] {
      if (::fsync(h->fd) != 0) return DiskError(errno, fmt::format("fsync {}", path));
      return Status::Ok();
    });
  }

  Status DataSync() override {
    if (handle_ == nullptr) return Closed("datasync");
    return pool_.Call<Status>([h = handle_, path = path_] {
      if (::fdatasync(h->fd) != 0) return DiskError(errno, fmt::format("fdatasync {}", path));
      return Status::Ok();
    });
  }

  Status Truncate(uint64_t size) override {
    APOGEE_RETURN_IF_ERROR(CheckWritable("truncate"));
    return pool_.Call<Status>([h = handle_, size, path = path_] {
      std::lock_guard<std::mutex> lock(h->write_mu);
      int rc;
      do {
        rc = ::ftruncate(h->fd, static_cast<off_t>(size));
      } while (rc != 0 && errno == EINTR);
      if (rc != 0) return DiskError(errno, fmt::format("truncate {} to {}", path, size));
      return Status::Ok();
    });
  }

  Result<uint64_t> Size() override {
    if (handle_ == nullptr) return Closed("size");
    return pool_.Call<Result<uint64_t>>(
        [h = handle_, path = path_] { return SizeOf(h->fd, path); });
  }

  Status Close() override {
    if (handle_ == nullptr) return Closed("close");
    // The File lets go first: whatever happens to this fiber, the job closes the descriptor.
    return pool_.Call<Status>([h = std::move(handle_), path = path_]() mutable {
      if (h.use_count() > 1) {
        // A job of a killed fiber still runs on it; the last holder closes it.
        h.reset();
        return Status::Ok();
      }
      int fd = std::exchange(h->fd, -1);
      h.reset();
      // After EINTR the descriptor is released all the same (Linux): never retry a close.
      if (::close(fd) != 0 && errno != EINTR) {
        return DiskError(errno, fmt::format("close {}", path));
      }
      return Status::Ok();
    });
  }

  const std::string& path() const override { return path_; }

 private:
  Status Closed(std::string_view what) const {
    return Status(ErrorCode::kBadFile, fmt::format("{} {}: file is closed", what, path_));
  }
  Status CheckWritable(std::string_view what) const {
    if (handle_ == nullptr) return Closed(what);
    if (read_only_) {
      return Status(ErrorCode::kBadFile, fmt::format("{} {}: opened read-only", what, path_));
    }
    return Status::Ok();
  }

  IoPool& pool_;
  std::shared_ptr<FileHandle> handle_;  // null once closed
  std::string path_;
  bool read_only_;
};

}  // namespace

FileHandle::FileHandle(int descriptor) : fd(descriptor) { APOGEE_ASSERT(fd >= 0); }

FileHandle::~FileHandle() {
  if (fd >= 0) ::close(fd);  // nobody is left to report an error to
}

std::unique_ptr<File> NewPosixFile(IoPool& pool, std::shared_ptr<FileHandle> handle,
                                   std::string path, bool read_only) {
  APOGEE_ASSERT(handle != nullptr);
  return std::make_unique<PosixFile>(pool, std::move(handle), std::move(path), read_only);
}

}  // namespace apogee::io
