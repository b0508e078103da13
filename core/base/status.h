#pragma once

// Status and Result<T>: expected failures as values. No exceptions cross core/ APIs.
//
// A Status is either OK or carries an ErrorCode and a message. Result<T> holds either a T or a
// non-OK Status. Both are [[nodiscard]]: dropping an error on the floor is a compile warning.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/base/assert.h"

namespace apogee {

// One code space for all domains; each domain keeps to its own range so a code names where it
// came from. Codes are stable: scenarios and reports print them.
enum class ErrorCode : uint16_t {
  kOk = 0,
  // Generic.
  kInvalidArgument = 1,
  kNotFound = 2,
  kAlreadyExists = 3,
  kTimeout = 4,
  kCancelled = 5,
  kClosed = 6,
  kOutOfRange = 7,
  kCorruption = 8,
  kUnsupported = 9,
  kResourceExhausted = 10,
  kInternal = 11,
  kBusy = 12,
  // Network (100..199).
  kConnectionRefused = 100,
  kConnectionReset = 101,
  kHostUnreachable = 102,
  kAddressInUse = 103,
  kFrameTooLarge = 104,
  kMalformed = 105,
  // Disk (200..299).
  kIoError = 200,
  kNoSpace = 201,
  kNotADirectory = 202,
  kIsADirectory = 203,
  kDirectoryNotEmpty = 204,
  kBadFile = 205,
};

std::string_view ErrorCodeName(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {
    APOGEE_ASSERT(code != ErrorCode::kOk);
  }

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "OK" or "ConnectionReset: peer 10.0.0.2:9876 reset the connection".
  std::string ToString() const;

  // Marks an intentionally ignored status (for example a best-effort close in a destructor).
  void IgnoreError() const {}

  bool operator==(const Status& other) const = default;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// Either a value or an error. Accessing value() of an error is an assertion failure.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    APOGEE_ASSERT(!std::get<Status>(v_).ok());
  }

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  ErrorCode code() const { return ok() ? ErrorCode::kOk : std::get<Status>(v_).code(); }

  T& value() & {
    APOGEE_ASSERT(ok(), "value() of an error Result: {}", std::get<Status>(v_).ToString());
    return std::get<T>(v_);
  }
  const T& value() const& {
    APOGEE_ASSERT(ok(), "value() of an error Result: {}", std::get<Status>(v_).ToString());
    return std::get<T>(v_);
  }
  T&& value() && {
    APOGEE_ASSERT(ok(), "value() of an error Result: {}", std::get<Status>(v_).ToString());
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace apogee

// Returns early from the enclosing function with the error of `expr` (a Status).
#define APOGEE_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::apogee::Status apogee_status_ = (expr);        \
    if (!apogee_status_.ok()) return apogee_status_; \
  } while (0)

#define APOGEE_CONCAT_INNER(a, b) a##b
#define APOGEE_CONCAT(a, b) APOGEE_CONCAT_INNER(a, b)

// `APOGEE_ASSIGN_OR_RETURN(auto x, MakeX());` binds the value or returns the error.
#define APOGEE_ASSIGN_OR_RETURN(lhs, expr) \
  APOGEE_ASSIGN_OR_RETURN_IMPL(APOGEE_CONCAT(apogee_result_, __LINE__), lhs, expr)
#define APOGEE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
