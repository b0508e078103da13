#include "core/base/assert.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace apogee {
namespace {

int64_t FixedTime(const void*) { return 2'000'000'005; }  // 2.000000005 s

// Puts a known node, time and seed into this thread's diagnostic context.
void SetDiag() {
  DiagContext& d = CurrentDiag();
  d.node = "node7";
  d.now_ns = &FixedTime;
  d.now_arg = nullptr;
  d.has_seed = true;
  d.seed = 99;
}

int calls = 0;
int Counted() {
  calls++;
  return 0;
}

TEST(AssertTest, PassingAssertionEvaluatesNoMessageArguments) {
  // Proves a holding assertion costs only its condition: the message arguments are not
  // evaluated, so assertions can stay on in production.
  calls = 0;
  APOGEE_ASSERT(calls == 0, "calls={}", Counted());
  EXPECT_EQ(calls, 0);
}

TEST(AssertTest, DiagPrefixNamesNodeTimeAndSeed) {
  // Proves DiagPrefix renders "node t=s.nnnnnnnnns seed=N" and leaves out what is unknown.
  DiagContext saved = CurrentDiag();
  CurrentDiag() = DiagContext{};
  EXPECT_EQ(DiagPrefix(), "-");
  SetDiag();
  EXPECT_EQ(DiagPrefix(), "node7 t=2.000000005s seed=99");
  CurrentDiag().has_seed = false;
  EXPECT_EQ(DiagPrefix(), "node7 t=2.000000005s");
  CurrentDiag() = saved;
}

TEST(AssertDeathTest, PrintsConditionMessageAndContext) {
  // Proves a failed assertion aborts after printing the condition, its location, the node, time
  // and seed from DiagContext, and the formatted message.
  EXPECT_DEATH(
      {
        SetDiag();
        APOGEE_ASSERT(false, "msg {}", 1);
      },
      "assertion failed: false at .*assert_test\\.cc:[0-9]+ "
      "\\[node7 t=2\\.000000005s seed=99\\]: msg 1");
}

TEST(AssertDeathTest, WithoutMessagePrintsConditionOnly) {
  // Proves an assertion without a message names the exact condition text that failed.
  int a = 1;
  int b = 2;
  EXPECT_DEATH(APOGEE_ASSERT(a == b), "assertion failed: a == b at .*assert_test\\.cc:[0-9]+");
}

TEST(AssertDeathTest, UnreachableAborts) {
  // Proves APOGEE_UNREACHABLE aborts with its message.
  EXPECT_DEATH(APOGEE_UNREACHABLE("state {}", "bogus"),
               "assertion failed: unreachable at .*: state bogus");
}

void ExitWithCode3(std::string_view report) {
  // The report must reach the hook intact; print it where the death test can see it.
  std::fprintf(stderr, "hook saw <%.*s>\n", static_cast<int>(report.size()), report.data());
  std::fflush(stderr);
  _exit(3);
}

TEST(AssertDeathTest, FailureHookRunsBeforeAbort) {
  // Proves the installed failure hook receives the full report and may end the process with a
  // code of its own choice (the simulator's "crash" outcome) instead of abort().
  EXPECT_EXIT(
      {
        SetAssertFailureHook(&ExitWithCode3);
        APOGEE_ASSERT(1 + 1 == 3, "math is {}", "broken");
      },
      ::testing::ExitedWithCode(3),
      "hook saw <assertion failed: 1 \\+ 1 == 3 at .*: math is broken>");
}

}  // namespace
}  // namespace apogee
