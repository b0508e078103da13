#include "core/io/fiber.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/io/runtime.h"
#include "sim/kernel.h"

namespace apogee::io {
namespace {

// A context whose entry runs `steps` steps, suspending between them and logging each one.
struct Stepper {
  std::vector<std::string>* log;
  std::string name;
  int steps;
  Context* context = nullptr;

  static void Entry(void* arg) {
    auto* self = static_cast<Stepper*>(arg);
    // This local lives on the context's own stack and must survive every switch.
    std::string mine = self->name;
    for (int i = 0; i < self->steps; i++) {
      self->log->push_back(fmt::format("{}{}", mine, i));
      if (i + 1 < self->steps) self->context->Suspend();
    }
  }
};

TEST(FiberContextTest, ResumeAndSuspendAlternate) {
  // Proves a context starts on its first Resume(), returns to the loop at each Suspend(),
  // continues where it left off on the next Resume(), and reports started/finished.
  StackPool pool;
  std::vector<std::string> log;
  Stepper stepper{&log, "a", 3};
  Context c(pool, &Stepper::Entry, &stepper);
  stepper.context = &c;
  EXPECT_FALSE(c.started());
  c.Resume();
  EXPECT_TRUE(c.started());
  EXPECT_FALSE(c.finished());
  EXPECT_EQ(log, (std::vector<std::string>{"a0"}));
  c.Resume();
  EXPECT_EQ(log, (std::vector<std::string>{"a0", "a1"}));
  c.Resume();
  EXPECT_TRUE(c.finished());
  EXPECT_EQ(log, (std::vector<std::string>{"a0", "a1", "a2"}));
}

TEST(FiberContextTest, InterleavedContextsKeepTheirOwnStacks) {
  // Proves many contexts resumed round-robin each keep their own stack state across switches.
  StackPool pool;
  std::vector<std::string> log;
  constexpr int kCount = 50;
  std::vector<std::unique_ptr<Stepper>> steppers;
  std::vector<std::unique_ptr<Context>> contexts;
  for (int i = 0; i < kCount; i++) {
    steppers.push_back(std::make_unique<Stepper>(Stepper{&log, fmt::format("c{}.", i), 3}));
    contexts.push_back(std::make_unique<Context>(pool, &Stepper::Entry, steppers.back().get()));
    steppers.back()->context = contexts.back().get();
  }
  for (int round = 0; round < 3; round++) {
    for (auto& c : contexts) c->Resume();
  }
  ASSERT_EQ(log.size(), 3u * kCount);
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < kCount; i++) {
      EXPECT_EQ(log[round * kCount + i], fmt::format("c{}.{}", i, round));
    }
  }
  for (auto& c : contexts) EXPECT_TRUE(c->finished());
}

TEST(FiberContextTest, NeverStartedContextIsDestroyedCleanly) {
  // Proves a context that was never resumed can be destroyed, returning its stack to the pool
  // (ASan reports a leak otherwise).
  StackPool pool;
  auto c = std::make_unique<Context>(
      pool, [](void*) { ADD_FAILURE() << "must not run"; }, nullptr);
  EXPECT_FALSE(c->started());
  c.reset();
}

// Exceptions must unwind across frames on a fiber stack: the runtime kills fibers that way.
void ThrowingEntry(void* arg) {
  auto* caught = static_cast<int*>(arg);
  try {
    auto nested = [](int v) { throw v; };
    nested(41);
  } catch (int v) {
    *caught = v + 1;
  }
}

TEST(FiberContextTest, ExceptionsUnwindOnAFiberStack) {
  // Proves C++ exceptions thrown and caught on a fiber stack work (FiberKilled relies on it).
  StackPool pool;
  int caught = 0;
  Context c(pool, &ThrowingEntry, &caught);
  c.Resume();
  EXPECT_TRUE(c.finished());
  EXPECT_EQ(caught, 42);
}

TEST(StackPoolTest, ReusesReleasedStacksUpToItsLimit) {
  // Proves the pool hands a released stack out again instead of mapping a new one, and keeps
  // at most `keep_max` stacks (the rest are unmapped).
  StackPool pool(64 * 1024, 1);
  boost::context::stack_context a = pool.Allocate();
  boost::context::stack_context b = pool.Allocate();
  ASSERT_NE(a.sp, b.sp);
  EXPECT_GE(a.size, 64u * 1024);
  pool.Release(a);
  pool.Release(b);  // over the limit of one: unmapped
  boost::context::stack_context c = pool.Allocate();
  EXPECT_EQ(c.sp, a.sp);
  pool.Release(c);
}

// Recurses `depth` times with a 1 KiB frame each. Returns the lowest frame address reached and
// whether every frame still held what it wrote before its callee ran. Not instrumented by ASan
// so the arrays stay on the real stack (not ASan's fake stack) and the depth is measurable.
struct Depth {
  uintptr_t lowest;
  bool intact;
};

__attribute__((noinline, no_sanitize("address"))) Depth Recurse(int depth) {
  volatile char frame[1024];
  for (size_t i = 0; i < sizeof(frame); i += 64) frame[i] = static_cast<char>(depth + i);
  Depth d = depth == 0 ? Depth{reinterpret_cast<uintptr_t>(&frame[0]), true} : Recurse(depth - 1);
  for (size_t i = 0; i < sizeof(frame); i += 64) {
    if (frame[i] != static_cast<char>(depth + i)) d.intact = false;
  }
  d.lowest = std::min(d.lowest, reinterpret_cast<uintptr_t>(&frame[0]));
  return d;
}

TEST(FiberStackTest, DeepRecursionFitsOnAFiberStack) {
  // Proves a fiber can use at least 100 KiB of stack: 100 nested 1 KiB frames run on a fiber of
  // the runtime, keep their contents, and really span 100 KiB of its stack.
  sim::Kernel k(1);
  Scheduler s(k.runtime(), k.runtime().NewGroup("n"));
  Depth d{0, false};
  uintptr_t top = 0;
  s.Spawn("deep", [&] {
    // The real frame (ASan may move locals to its fake stack, never the frame itself).
    top = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    d = Recurse(100);
  });
  k.RunFor(1ms);
  ASSERT_NE(top, 0u);
  EXPECT_TRUE(d.intact);
  EXPECT_GE(top - d.lowest, 100u * 1024);
  EXPECT_LT(top - d.lowest, kFiberStackBytes);
}

}  // namespace
}  // namespace apogee::io
