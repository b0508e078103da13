#include "core/io/posix/errors.h"

#include <fmt/format.h>

#include <cerrno>
#include <system_error>

namespace apogee::io {
namespace {

ErrorCode DiskCode(int err) {
  switch (err) {
    case ENOENT:
      return ErrorCode::kNotFound;
    case EEXIST:
      return ErrorCode::kAlreadyExists;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:  // the file may not grow that far: as the simulator reports it
      return ErrorCode::kNoSpace;
    case EINVAL:  // for example renaming a directory into itself
      return ErrorCode::kInvalidArgument;
    case EISDIR:
      return ErrorCode::kIsADirectory;
    case ENOTDIR:
      return ErrorCode::kNotADirectory;
    case ENOTEMPTY:
      return ErrorCode::kDirectoryNotEmpty;
    case EBADF:
      return ErrorCode::kBadFile;
    default:
      return ErrorCode::kIoError;
  }
}

ErrorCode NetCode(int err) {
  switch (err) {
    case ECONNREFUSED:
      return ErrorCode::kConnectionRefused;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
      return ErrorCode::kConnectionReset;
    case EADDRINUSE:
      return ErrorCode::kAddressInUse;
    case ETIMEDOUT:
      return ErrorCode::kTimeout;
    case EHOSTUNREACH:
    case ENETUNREACH:
      return ErrorCode::kHostUnreachable;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      return ErrorCode::kResourceExhausted;
    case EINVAL:
    case EADDRNOTAVAIL:
      return ErrorCode::kInvalidArgument;
    default:
      return ErrorCode::kInternal;
  }
}

}  // namespace

std::string ErrnoText(int err) { return std::generic_category().message(err); }

Status DiskError(int err, std::string_view what) {
  APOGEE_ASSERT(err != 0, "{}: error mapped from errno 0", what);
  return Status(DiskCode(err), fmt::format("{}: {}", what, ErrnoText(err)));
}

Status NetError(int err, std::string_view what) {
  APOGEE_ASSERT(err != 0, "{}: error mapped from errno 0", what);
  return Status(NetCode(err), fmt::format("{}: {}", what, ErrnoText(err)));
}

}  // namespace apogee::io
