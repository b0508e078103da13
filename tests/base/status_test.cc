#include "core/base/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

namespace apogee {
namespace {

TEST(StatusTest, DefaultIsOk) {
  // Proves a default Status is OK, carries no message and prints as "OK".
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s, Status::Ok());
}

TEST(StatusTest, ErrorKeepsCodeAndMessage) {
  // Proves an error Status keeps its code and message and prints "Name: message".
  Status s(ErrorCode::kConnectionReset, "peer 10.0.0.2:9876 reset the connection");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kConnectionReset);
  EXPECT_EQ(s.message(), "peer 10.0.0.2:9876 reset the connection");
  EXPECT_EQ(s.ToString(), "ConnectionReset: peer 10.0.0.2:9876 reset the connection");
}

TEST(StatusTest, ErrorWithoutMessagePrintsNameOnly) {
  // Proves an empty message prints the code name alone, without a dangling colon.
  EXPECT_EQ(Status(ErrorCode::kTimeout, "").ToString(), "Timeout");
}

TEST(StatusTest, EqualityComparesCodeAndMessage) {
  // Proves two statuses are equal only when both code and message match.
  EXPECT_EQ(Status(ErrorCode::kNotFound, "x"), Status(ErrorCode::kNotFound, "x"));
  EXPECT_NE(Status(ErrorCode::kNotFound, "x"), Status(ErrorCode::kNotFound, "y"));
  EXPECT_NE(Status(ErrorCode::kNotFound, "x"), Status(ErrorCode::kIoError, "x"));
  EXPECT_NE(Status(ErrorCode::kNotFound, "x"), Status::Ok());
}

TEST(StatusTest, ErrorCodeNamesAreStable) {
  // Proves every code prints under its stable name (reports and scenarios depend on them) and
  // an out-of-range value prints as "Unknown" instead of crashing.
  const std::pair<ErrorCode, const char*> kNames[] = {
      {ErrorCode::kOk, "OK"},
      {ErrorCode::kInvalidArgument, "InvalidArgument"},
      {ErrorCode::kNotFound, "NotFound"},
      {ErrorCode::kAlreadyExists, "AlreadyExists"},
      {ErrorCode::kTimeout, "Timeout"},
      {ErrorCode::kCancelled, "Cancelled"},
      {ErrorCode::kClosed, "Closed"},
      {ErrorCode::kOutOfRange, "OutOfRange"},
      {ErrorCode::kCorruption, "Corruption"},
      {ErrorCode::kUnsupported, "Unsupported"},
      {ErrorCode::kResourceExhausted, "ResourceExhausted"},
      {ErrorCode::kInternal, "Internal"},
      {ErrorCode::kBusy, "Busy"},
      {ErrorCode::kConnectionRefused, "ConnectionRefused"},
      {ErrorCode::kConnectionReset, "ConnectionReset"},
      {ErrorCode::kHostUnreachable, "HostUnreachable"},
      {ErrorCode::kAddressInUse, "AddressInUse"},
      {ErrorCode::kFrameTooLarge, "FrameTooLarge"},
      {ErrorCode::kMalformed, "Malformed"},
      {ErrorCode::kIoError, "IoError"},
      {ErrorCode::kNoSpace, "NoSpace"},
      {ErrorCode::kNotADirectory, "NotADirectory"},
      {ErrorCode::kIsADirectory, "IsADirectory"},
      {ErrorCode::kDirectoryNotEmpty, "DirectoryNotEmpty"},
      {ErrorCode::kBadFile, "BadFile"},
  };
  for (const auto& [code, name] : kNames) {
    EXPECT_EQ(ErrorCodeName(code), name) << static_cast<int>(code);
  }
  EXPECT_EQ(ErrorCodeName(static_cast<ErrorCode>(9999)), "Unknown");
}

TEST(StatusTest, ErrorCodesKeepTheirDomainRanges) {
  // Proves the numeric values are the stable ones: generic below 100, network 100..199, disk
  // 200..299 (codes are printed in reports, so renumbering would break old reports).
  EXPECT_EQ(static_cast<int>(ErrorCode::kTimeout), 4);
  EXPECT_EQ(static_cast<int>(ErrorCode::kConnectionRefused), 100);
  EXPECT_EQ(static_cast<int>(ErrorCode::kMalformed), 105);
  EXPECT_EQ(static_cast<int>(ErrorCode::kIoError), 200);
  EXPECT_EQ(static_cast<int>(ErrorCode::kBadFile), 205);
}

TEST(StatusDeathTest, ErrorWithOkCodeAsserts) {
  // Proves an "error" built with code kOk is rejected: it would read as success.
  EXPECT_DEATH(Status(ErrorCode::kOk, "oops").IgnoreError(), "code != ErrorCode::kOk");
}

TEST(ResultTest, HoldsValue) {
  // Proves a Result built from a value is ok, reports an OK status and yields the value.
  Result<int> r(42);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.code(), ErrorCode::kOk);
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
}

TEST(ResultTest, HoldsError) {
  // Proves a Result built from an error is not ok and keeps the error as its status.
  Result<std::string> r(Status(ErrorCode::kNotFound, "no topic"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(), "no topic");
}

TEST(ResultTest, ArrowReachesMembers) {
  // Proves operator-> reaches the held value, mutably.
  Result<std::string> r(std::string("abc"));
  EXPECT_EQ(r->size(), 3u);
  r->push_back('d');
  EXPECT_EQ(r.value(), "abcd");
}

TEST(ResultTest, MoveOnlyValueCanBeTakenOut) {
  // Proves a move-only value can be moved out of an rvalue Result.
  Result<std::unique_ptr<int>> r(std::make_unique<int>(7));
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

TEST(ResultDeathTest, ValueOfErrorAsserts) {
  // Proves reading the value of an error Result aborts and names the error it held.
  Result<int> r(Status(ErrorCode::kCorruption, "bad crc"));
  EXPECT_DEATH((void)r.value(), "value\\(\\) of an error Result: Corruption: bad crc");
}

TEST(ResultDeathTest, OkStatusAsErrorAsserts) {
  // Proves a Result cannot be built from an OK status: it would hold neither value nor error.
  EXPECT_DEATH(Result<int>(Status::Ok()).ok(), "ok\\(\\)");
}

// --- APOGEE_RETURN_IF_ERROR / APOGEE_ASSIGN_OR_RETURN ---

Status Step(bool fail, int* calls) {
  (*calls)++;
  if (fail) return Status(ErrorCode::kIoError, "step failed");
  return Status::Ok();
}

Status TwoSteps(bool fail_first, int* calls, bool* reached_end) {
  APOGEE_RETURN_IF_ERROR(Step(fail_first, calls));
  APOGEE_RETURN_IF_ERROR(Step(false, calls));
  *reached_end = true;
  return Status::Ok();
}

TEST(StatusMacroTest, ReturnIfErrorStopsAtFirstError) {
  // Proves APOGEE_RETURN_IF_ERROR returns the first error unchanged and skips the rest.
  int calls = 0;
  bool reached_end = false;
  Status s = TwoSteps(true, &calls, &reached_end);
  EXPECT_EQ(s, Status(ErrorCode::kIoError, "step failed"));
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(reached_end);
}

TEST(StatusMacroTest, ReturnIfErrorPassesOk) {
  // Proves APOGEE_RETURN_IF_ERROR falls through on OK and evaluates its expression once.
  int calls = 0;
  bool reached_end = false;
  EXPECT_TRUE(TwoSteps(false, &calls, &reached_end).ok());
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(reached_end);
}

Result<int> Parse(int v) {
  if (v < 0) return Status(ErrorCode::kInvalidArgument, "negative");
  return v;
}

Result<std::unique_ptr<int>> Box(int v) {
  if (v == 0) return Status(ErrorCode::kOutOfRange, "zero");
  return std::make_unique<int>(v);
}

Result<int> SumOf(int a, int b) {
  // Two uses in one function: the temporaries must not collide.
  APOGEE_ASSIGN_OR_RETURN(int x, Parse(a));
  APOGEE_ASSIGN_OR_RETURN(int y, Parse(b));
  return x + y;
}

Result<int> Unbox(int v) {
  APOGEE_ASSIGN_OR_RETURN(std::unique_ptr<int> p, Box(v));
  return *p * 10;
}

TEST(StatusMacroTest, AssignOrReturnBindsValues) {
  // Proves APOGEE_ASSIGN_OR_RETURN binds the value of each successful Result.
  Result<int> r = SumOf(2, 3);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 5);
}

TEST(StatusMacroTest, AssignOrReturnReturnsTheError) {
  // Proves APOGEE_ASSIGN_OR_RETURN returns the error of the first failing Result, converted to
  // the enclosing function's Result type.
  EXPECT_EQ(SumOf(-1, 3).status(), Status(ErrorCode::kInvalidArgument, "negative"));
  EXPECT_EQ(SumOf(1, -3).status(), Status(ErrorCode::kInvalidArgument, "negative"));
}

TEST(StatusMacroTest, AssignOrReturnMovesMoveOnlyValues) {
  // Proves APOGEE_ASSIGN_OR_RETURN works with move-only values, and passes their errors on.
  EXPECT_EQ(*Unbox(4), 40);
  EXPECT_EQ(Unbox(0).code(), ErrorCode::kOutOfRange);
}

}  // namespace
}  // namespace apogee
