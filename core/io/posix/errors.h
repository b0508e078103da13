#pragma once

// Maps errno values to Status, one mapping per domain, so that the POSIX backend fails with
// exactly the codes the seam headers promise (and the simulator injects). Every message names
// the operation and carries the system's text for the errno.

#include <string>
#include <string_view>

#include "core/base/status.h"

namespace apogee::io {

// The system's description of `err` ("No such file or directory"). Thread-safe.
std::string ErrnoText(int err);

// File and directory calls: ENOENT kNotFound, EEXIST kAlreadyExists, ENOSPC/EDQUOT kNoSpace,
// EISDIR kIsADirectory, ENOTDIR kNotADirectory, ENOTEMPTY kDirectoryNotEmpty, EBADF kBadFile,
// EIO and everything else kIoError. REQUIRES: err != 0.
Status DiskError(int err, std::string_view what);

// Socket calls: ECONNREFUSED kConnectionRefused, ECONNRESET/EPIPE/ECONNABORTED
// kConnectionReset, EADDRINUSE kAddressInUse, ETIMEDOUT kTimeout, EHOSTUNREACH/ENETUNREACH
// kHostUnreachable, EMFILE/ENFILE/ENOBUFS/ENOMEM kResourceExhausted, EINVAL/EADDRNOTAVAIL (not
// an address of this host) kInvalidArgument, everything else kInternal. REQUIRES: err != 0.
Status NetError(int err, std::string_view what);

}  // namespace apogee::io
