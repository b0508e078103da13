#pragma once

// A stackful execution context on Boost.Context's fcontext: a stack of its own and a saved
// machine context. It knows nothing about scheduling: the runtime's loop Resume()s a context,
// the code on it Suspend()s back to the loop. Every switch is announced to AddressSanitizer
// (__sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber) when built with
// APOGEE_ASAN, so ASan tracks the right stack and fake stack on both sides.
//
// Invariants:
//   - A context runs only between Resume() and the matching Suspend() (or its end).
//   - Resume() is called only from the loop, Suspend() only from code on the context.
//   - A finished context is never resumed again.

#include <boost/context/detail/fcontext.hpp>
#include <boost/context/stack_context.hpp>
#include <cstddef>
#include <vector>

#include "core/base/assert.h"

#if defined(APOGEE_ASAN)
#include <sanitizer/common_interface_defs.h>
#define APOGEE_START_SWITCH(fake_save, bottom, size) \
  __sanitizer_start_switch_fiber(fake_save, bottom, size)
#define APOGEE_FINISH_SWITCH(fake_save, bottom_old, size_old) \
  __sanitizer_finish_switch_fiber(fake_save, bottom_old, size_old)
#else
#define APOGEE_START_SWITCH(fake_save, bottom, size) ((void)0)
#define APOGEE_FINISH_SWITCH(fake_save, bottom_old, size_old) ((void)0)
#endif

namespace apogee::io {

// Stack size of a fiber. Generous because stacks are mapped lazily: untouched pages cost no
// memory. ASan builds grow frames with redzones, so they get more.
#if defined(APOGEE_ASAN)
inline constexpr size_t kFiberStackBytes = 1024 * 1024;
#else
inline constexpr size_t kFiberStackBytes = 256 * 1024;
#endif

// Keeps released stacks for reuse, so spawning a fiber does not map and unmap memory. Stacks
// have a guard page below them (boost's protected_fixedsize_stack), so an overflow faults.
class StackPool {
 public:
  explicit StackPool(size_t stack_bytes = kFiberStackBytes, size_t keep_max = 256);
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  boost::context::stack_context Allocate();
  void Release(boost::context::stack_context stack);

 private:
  size_t stack_bytes_;
  size_t keep_max_;
  std::vector<boost::context::stack_context> free_;
};

class Context {
 public:
  using Entry = void (*)(void* arg);

  // The context starts at `entry(arg)` on the first Resume(). The stack comes from `pool` and
  // goes back to it on destruction.
  Context(StackPool& pool, Entry entry, void* arg);
  // REQUIRES: the context has finished or was never resumed.
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Switches from the loop to this context; returns when it suspends or finishes. Inline, as is
  // Suspend(): jump_fcontext leaves by a jump, not a return, so every extra call level around it
  // costs a mispredicted return.
  void Resume() {
    APOGEE_ASSERT(!finished_);
    started_ = true;
    [[maybe_unused]] const void* bottom = static_cast<char*>(stack_.sp) - stack_.size;
    APOGEE_START_SWITCH(&loop_fake_stack_, bottom, stack_.size);
    boost::context::detail::transfer_t back = boost::context::detail::jump_fcontext(self_, this);
    APOGEE_FINISH_SWITCH(loop_fake_stack_, nullptr, nullptr);
    // The context suspended (or finished); `back.fctx` is where to continue it.
    self_ = back.fctx;
  }
  // Switches from this context back to the loop; returns when the loop resumes it again.
  void Suspend() {
    APOGEE_START_SWITCH(&self_fake_stack_, loop_stack_bottom_, loop_stack_size_);
    boost::context::detail::transfer_t back =
        boost::context::detail::jump_fcontext(caller_, nullptr);
    APOGEE_FINISH_SWITCH(self_fake_stack_, &loop_stack_bottom_, &loop_stack_size_);
    caller_ = back.fctx;
  }

  bool started() const { return started_; }
  bool finished() const { return finished_; }

 private:
  static void Trampoline(boost::context::detail::transfer_t transfer);

  StackPool& pool_;
  boost::context::stack_context stack_;
  Entry entry_;
  void* arg_;
  boost::context::detail::fcontext_t self_ = nullptr;
  boost::context::detail::fcontext_t caller_ = nullptr;
  bool started_ = false;
  bool finished_ = false;
  // ASan bookkeeping: the fake stack of each side while it is switched out, and the bounds of
  // the loop's stack, which the context needs to announce its switches back.
  void* loop_fake_stack_ = nullptr;
  void* self_fake_stack_ = nullptr;
  const void* loop_stack_bottom_ = nullptr;
  size_t loop_stack_size_ = 0;
};

}  // namespace apogee::io
