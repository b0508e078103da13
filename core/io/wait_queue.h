#pragma once

// WaitQueue: the one blocking primitive every other is built on. Fibers wait in FIFO order;
// a notifier wakes the oldest (NotifyOne) or all (NotifyAll). A waiter that was notified
// reports kNotified even if its deadline passed in the same instant: a notification is never
// lost to a timeout. Waiter records live on the waiting fiber's stack, so a fiber unwound by a
// kill unlinks itself on the way out.

#include <cstddef>

#include "core/io/runtime.h"

namespace apogee::io {

class WaitQueue {
 public:
  explicit WaitQueue(Runtime& runtime) : runtime_(&runtime) {}
  // REQUIRES: no fiber waits.
  ~WaitQueue();
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;

  // Parks the running fiber until notified or the deadline. May yield.
  // Returns kNotified or kTimeout; throws FiberKilled if the fiber is killed meanwhile.
  WakeReason Wait(Deadline deadline = {});
  // Wakes the oldest waiter and returns its fiber, or nullptr if there was none.
  Fiber* NotifyOne();
  // Wakes every waiter; returns how many.
  size_t NotifyAll();
  bool empty() const { return head_ == nullptr; }
  Runtime& runtime() const { return *runtime_; }

 private:
  struct Waiter {
    Fiber* fiber = nullptr;
    Waiter* prev = nullptr;
    Waiter* next = nullptr;
    bool linked = false;
    bool notified = false;
  };
  void Link(Waiter* w);
  void Unlink(Waiter* w);

  Runtime* runtime_;
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
};

}  // namespace apogee::io
