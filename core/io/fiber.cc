#include "core/io/fiber.h"

#include <boost/context/protected_fixedsize_stack.hpp>

#include "core/base/assert.h"

#if defined(APOGEE_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace apogee::io {

namespace ctx = boost::context;
namespace detail = boost::context::detail;

StackPool::StackPool(size_t stack_bytes, size_t keep_max)
    : stack_bytes_(stack_bytes), keep_max_(keep_max) {}

StackPool::~StackPool() {
  ctx::protected_fixedsize_stack allocator(stack_bytes_);
  for (auto& stack : free_) allocator.deallocate(stack);
}

ctx::stack_context StackPool::Allocate() {
  if (!free_.empty()) {
    ctx::stack_context stack = free_.back();
    free_.pop_back();
    return stack;
  }
  ctx::protected_fixedsize_stack allocator(stack_bytes_);
  return allocator.allocate();
}

void StackPool::Release(ctx::stack_context stack) {
#if defined(APOGEE_ASAN)
  // A finished fiber may leave poisoned redzones behind; a reused stack starts clean.
  char* top = static_cast<char*>(stack.sp);
  ASAN_UNPOISON_MEMORY_REGION(top - stack.size, stack.size);
#endif
  if (free_.size() < keep_max_) {
    free_.push_back(stack);
    return;
  }
  ctx::protected_fixedsize_stack allocator(stack_bytes_);
  allocator.deallocate(stack);
}

Context::Context(StackPool& pool, Entry entry, void* arg)
    : pool_(pool), stack_(pool.Allocate()), entry_(entry), arg_(arg) {
  APOGEE_ASSERT(entry != nullptr);
  self_ = detail::make_fcontext(stack_.sp, stack_.size, &Context::Trampoline);
  APOGEE_ASSERT(self_ != nullptr);
}

Context::~Context() {
  APOGEE_ASSERT(finished_ || !started_, "destroying a suspended fiber context");
  pool_.Release(stack_);
}

void Context::Trampoline(detail::transfer_t transfer) {
  auto* self = static_cast<Context*>(transfer.data);
  self->caller_ = transfer.fctx;
  APOGEE_FINISH_SWITCH(nullptr, &self->loop_stack_bottom_, &self->loop_stack_size_);
  self->entry_(self->arg_);
  self->finished_ = true;
  // Leaving for good: a null fake-stack slot tells ASan to free this context's fake stack.
  APOGEE_START_SWITCH(nullptr, self->loop_stack_bottom_, self->loop_stack_size_);
  detail::jump_fcontext(self->caller_, nullptr);
  APOGEE_UNREACHABLE("a finished fiber context was resumed");
}

}  // namespace apogee::io
