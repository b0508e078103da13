#include "core/io/posix/posix_disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

#include "core/io/posix/errors.h"
#include "core/io/posix/posix_file.h"
#include "core/io/posix/unique_fd.h"

namespace apogee::io {
namespace {

Status MakeDirsNow(const std::string& full) {
  // mkdir -p: every prefix that ends before a '/', then the whole path.
  for (size_t end = 1; end <= full.size(); end++) {
    if (end < full.size() && full[end] != '/') continue;
    if (full[end - 1] == '/') continue;  // "//" or a trailing '/'
    std::string prefix = full.substr(0, end);
    if (::mkdir(prefix.c_str(), PosixDisk::kDirMode) == 0) continue;
    int err = errno;
    if (err != EEXIST) return DiskError(err, fmt::format("mkdir {}", prefix));
    struct stat st {};
    if (::stat(prefix.c_str(), &st) != 0) return DiskError(errno, fmt::format("stat {}", prefix));
    if (!S_ISDIR(st.st_mode)) {
      return Status(ErrorCode::kNotADirectory,
                    fmt::format("mkdir {}: a file is in the way", prefix));
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> ListNow(const std::string& full) {
  DIR* dir = ::opendir(full.c_str());
  if (dir == nullptr) return DiskError(errno, fmt::format("list {}", full));
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    dirent* entry = ::readdir(dir);
    if (entry == nullptr) break;
    std::string_view name(entry->d_name);
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return DiskError(err, fmt::format("list {}", full));
  std::sort(names.begin(), names.end());
  return names;
}

Status RemoveNow(const std::string& full) {
  if (::unlink(full.c_str()) == 0) return Status::Ok();
  int unlink_err = errno;
  // Linux says EISDIR for a directory; POSIX allows EPERM.
  if (unlink_err != EISDIR && unlink_err != EPERM) {
    return DiskError(unlink_err, fmt::format("remove {}", full));
  }
  if (::rmdir(full.c_str()) == 0) return Status::Ok();
  int err = errno;
  if (err == ENOTDIR) return DiskError(unlink_err, fmt::format("remove {}", full));
  // POSIX allows EEXIST for a directory that is not empty.
  if (err == EEXIST) err = ENOTEMPTY;
  return DiskError(err, fmt::format("remove {}", full));
}

Status SyncDirNow(const std::string& full) {
  UniqueFd dir(::open(full.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return DiskError(errno, fmt::format("open directory {}", full));
  if (::fsync(dir.get()) != 0) return DiskError(errno, fmt::format("fsync directory {}", full));
  return Status::Ok();
}

}  // namespace

PosixDisk::PosixDisk(IoPool& pool, std::string root) : pool_(pool), root_(std::move(root)) {
  APOGEE_ASSERT(!root_.empty(), "disk root is empty");
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

Result<std::string> PosixDisk::Resolve(const std::string& path) const {
  if (path.find('\0') != std::string::npos) {
    return Status(ErrorCode::kInvalidArgument, "path contains a NUL byte");
  }
  std::string full = root_;
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t end = std::min(path.find('/', begin), path.size());
    std::string_view part(path.data() + begin, end - begin);
    begin = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return Status(ErrorCode::kInvalidArgument, fmt::format("path '{}' leaves the root", path));
    }
    if (full.back() != '/') full += '/';
    full += part;
  }
  return full;
}

Result<std::unique_ptr<File>> PosixDisk::Open(const std::string& path, OpenOptions options) {
  APOGEE_ASSIGN_OR_RETURN(std::string full, Resolve(path));
  if (options.read_only && options.truncate) {
    return Status(ErrorCode::kInvalidArgument, fmt::format("open {}: truncate read-only", path));
  }
  int flags = O_CLOEXEC | (options.read_only ? O_RDONLY : O_RDWR);
  if (options.create) flags |= O_CREAT;
  if (options.create && options.exclusive) flags |= O_EXCL;
  if (options.truncate) flags |= O_TRUNC;
  // The job returns an owning handle, so a descriptor opened for a fiber killed meanwhile is
  // closed when the dropped result goes.
  APOGEE_ASSIGN_OR_RETURN(std::shared_ptr<FileHandle> handle,
                          pool_.Call<Result<std::shared_ptr<FileHandle>>>(
                              [full, flags]() -> Result<std::shared_ptr<FileHandle>> {
                                int fd;
                                do {
                                  fd = ::open(full.c_str(), flags, kFileMode);
                                } while (fd < 0 && errno == EINTR);
                                if (fd < 0) return DiskError(errno, fmt::format("open {}", full));
                                auto handle = std::make_shared<FileHandle>(fd);
                                // A directory opens read-only without complaint; a File of it would
                                // be useless.
                                struct stat st {};
                                if (::fstat(fd, &st) != 0)
                                  return DiskError(errno, fmt::format("stat {}", full));
                                if (S_ISDIR(st.st_mode)) {
                                  return Status(ErrorCode::kIsADirectory,
                                                fmt::format("open {}: a directory", full));
                                }
                                return handle;
                              }));
  return NewPosixFile(pool_, std::move(handle), path, options.read_only);
}

Status PosixDisk::MakeDirs(const std::string& path) {
  APOGEE_ASSIGN_OR_RETURN(std::string full, Resolve(path));
  return pool_.Call<Status>([full] { return MakeDirsNow(full); });
}

Result<std::vector<std::string>> PosixDisk::List(const std::string& dir) {
  APOGEE_ASSIGN_OR_RETURN(std::string full, Resolve(dir));
  return pool_.Call<Result<std::vector<std::string>>>([full] { return ListNow(full); });
}

Status PosixDisk::Rename(const std::string& from, const std::string& to) {
  APOGEE_ASSIGN_OR_RETURN(std::string full_from, Resolve(from));
  APOGEE_ASSIGN_OR_RETURN(std::string full_to, Resolve(to));
  return pool_.Call<Status>([full_from, full_to] {
    if (::rename(full_from.c_str(), full_to.c_str()) != 0) {
      return DiskError(errno, fmt::format("rename {} to {}", full_from, full_to));
    }
    return Status::Ok();
  });
}

Status PosixDisk::Remove(const std::string& path) {
  APOGEE_ASSIGN_OR_RETURN(std::string full, Resolve(path));
  if (full == root_) return Status(ErrorCode::kInvalidArgument, "remove of the disk root");
  return pool_.Call<Status>([full] { return RemoveNow(full); });
}

Status PosixDisk::SyncDir(const std::string& dir) {
  APOGEE_ASSIGN_OR_RETURN(std::string full, Resolve(dir));
  return pool_.Call<Status>([full] { return SyncDirNow(full); });
}

Result<bool> PosixDisk::Exists(const std::string& path) {
  APOGEE_ASSIGN_OR_RETURN(std::string full, Resolve(path));
  return pool_.Call<Result<bool>>([full]() -> Result<bool> {
    struct stat st {};
    if (::stat(full.c_str(), &st) == 0) return true;
    // ENOTDIR: a parent is a file, so nothing can exist below it.
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return DiskError(errno, fmt::format("stat {}", full));
  });
}

Result<DiskSpace> PosixDisk::Space() {
  std::string root = root_;
  return pool_.Call<Result<DiskSpace>>([root]() -> Result<DiskSpace> {
    struct statvfs vfs {};
    if (::statvfs(root.c_str(), &vfs) != 0)
      return DiskError(errno, fmt::format("statvfs {}", root));
    return DiskSpace{.capacity_bytes = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize,
                     .free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize};
  });
}

}  // namespace apogee::io
