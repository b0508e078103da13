#include "core/base/status.h"

#include <fmt/format.h>

namespace apogee {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "OK";
    case ErrorCode::kInvalidArgument:
      return "InvalidArgument";
    case ErrorCode::kNotFound:
      return "NotFound";
    case ErrorCode::kAlreadyExists:
      return "AlreadyExists";
    case ErrorCode::kTimeout:
      return "Timeout";
    case ErrorCode::kCancelled:
      return "Cancelled";
    case ErrorCode::kClosed:
      return "Closed";
    case ErrorCode::kOutOfRange:
      return "OutOfRange";
    case ErrorCode::kCorruption:
      return "Corruption";
    case ErrorCode::kUnsupported:
      return "Unsupported";
    case ErrorCode::kResourceExhausted:
      return "ResourceExhausted";
    case ErrorCode::kInternal:
      return "Internal";
    case ErrorCode::kBusy:
      return "Busy";
    case ErrorCode::kConnectionRefused:
      return "ConnectionRefused";
    case ErrorCode::kConnectionReset:
      return "ConnectionReset";
    case ErrorCode::kHostUnreachable:
      return "HostUnreachable";
    case ErrorCode::kAddressInUse:
      return "AddressInUse";
    case ErrorCode::kFrameTooLarge:
      return "FrameTooLarge";
    case ErrorCode::kMalformed:
      return "Malformed";
    case ErrorCode::kIoError:
      return "IoError";
    case ErrorCode::kNoSpace:
      return "NoSpace";
    case ErrorCode::kNotADirectory:
      return "NotADirectory";
    case ErrorCode::kIsADirectory:
      return "IsADirectory";
    case ErrorCode::kDirectoryNotEmpty:
      return "DirectoryNotEmpty";
    case ErrorCode::kBadFile:
      return "BadFile";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  if (message_.empty()) return std::string(ErrorCodeName(code_));
  return fmt::format("{}: {}", ErrorCodeName(code_), message_);
}

}  // namespace apogee
