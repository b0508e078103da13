#pragma once

// PosixReactor: the production RuntimeHooks, an event loop over epoll(7).
//
//   - Now() is CLOCK_MONOTONIC; PickReady() is 0, so ready fibers run in FIFO order.
//   - Idle() blocks in epoll until the next timed event or until outside work arrives: a
//     descriptor becomes ready, or another thread Post()s a function. It never returns before
//     `next_event`'s time has been reached unless something else woke it (see Idle()).
//   - Poll() collects the same outside work without blocking.
//
// Descriptors are registered once with Watch(), edge-triggered for input, output and hang-up.
// Edge-triggered means an event is reported only when readiness changes, so callers must use
// the one pattern that never misses one: try the non-blocking call first and wait only after it
// failed with EAGAIN. An event wakes every fiber waiting on that direction; wakeups may be
// spurious, so waiters always retry the call.
//
// Threads: every method except Post() runs on the loop thread (the thread that called
// Attach()). Post() may be called from any thread; the functions run on the loop thread.
//
// Invariants:
//   - fd_waiters_ counts the fibers parked in FdWatch::Wait*(); outside_work_ counts promises of
//     outside work (pending I/O pool jobs, callers of BeginOutsideWork()). While both are zero
//     and no timed event is queued, nothing can ever wake a fiber, and Idle() returns false.
//   - An FdWatch's address is in epoll only while it is registered; events are dispatched before
//     any fiber runs again, so no event can reach a destroyed FdWatch.

#include <sys/epoll.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/base/status.h"
#include "core/base/time.h"
#include "core/io/posix/unique_fd.h"
#include "core/io/runtime.h"
#include "core/io/wait_queue.h"

namespace apogee::io {

class PosixReactor;

// A descriptor registered with the reactor, with one queue of fibers waiting to read and one
// waiting to write. Does not own the descriptor: unregister (or destroy) the watch before
// closing it.
class FdWatch {
 public:
  // Unregisters if still registered. REQUIRES: no fiber waits.
  ~FdWatch();
  FdWatch(const FdWatch&) = delete;
  FdWatch& operator=(const FdWatch&) = delete;

  // Parks the running fiber until the descriptor may be readable (data, end of stream, an
  // error or a hang-up), WakeAll(), or the deadline. May yield.
  // Returns kNotified (possibly spuriously: retry the call) or kTimeout; kKilled when the fiber
  // is unwinding from a kill; throws FiberKilled when killed while waiting.
  // REQUIRES: registered; called on a fiber.
  WakeReason WaitReadable(Deadline deadline = {});
  // As WaitReadable(), for writability (buffer space, a finished connect, an error).
  WakeReason WaitWritable(Deadline deadline = {});
  // Wakes every waiter of both directions, for example when the descriptor is being closed.
  void WakeAll();
  // Removes the descriptor from epoll; no more events arrive. Idempotent.
  // REQUIRES: the descriptor is still open.
  void Unregister();
  bool registered() const { return registered_; }
  int fd() const { return fd_; }

 private:
  friend class PosixReactor;
  FdWatch(PosixReactor& reactor, int fd);
  WakeReason Wait(WaitQueue& queue, Deadline deadline);
  void OnEvents(uint32_t events);

  PosixReactor* reactor_;
  int fd_;
  bool registered_ = false;
  WaitQueue readers_;
  WaitQueue writers_;
};

class PosixReactor final : public RuntimeHooks {
 public:
  // Most events taken from the kernel by one epoll_wait.
  static constexpr int kEventsMax = 256;

  // Creates the epoll instance and the wake-up eventfd. Asserts if the kernel refuses: a node
  // without its event loop cannot run.
  PosixReactor();
  // Drops functions posted but not run. REQUIRES: every FdWatch has been destroyed.
  ~PosixReactor() override;
  PosixReactor(const PosixReactor&) = delete;
  PosixReactor& operator=(const PosixReactor&) = delete;

  // Binds the reactor to the runtime it drives and to the calling thread, which becomes the
  // loop thread. REQUIRES: called once, before Watch() and before the runtime runs.
  void Attach(Runtime& runtime);
  Runtime& runtime() const;

  // --- RuntimeHooks ---
  Instant Now() override;
  size_t PickReady(size_t ready_count) override;
  // Waits in epoll until `next_event` (rounded so that it never wakes before it), a descriptor
  // event, or a Post(); dispatches what arrived. Returns false at once, without blocking, when
  // there is no next event, no fiber waits on a descriptor, no outside work is promised and
  // nothing is posted: then no fiber can ever be woken again.
  bool Idle(Deadline next_event) override;
  void Poll() override;

  // --- Descriptors ---
  // Registers `fd` (which must be non-blocking) for edge-triggered input, output and hang-up.
  // Fails with the mapped errno of epoll_ctl (for example kResourceExhausted).
  Result<std::unique_ptr<FdWatch>> Watch(int fd);

  // --- Outside work ---
  // Runs `fn` on the loop thread, soon, in the order posted. `fn` must not park (it runs on the
  // loop, not on a fiber). Thread-safe; wakes a blocked Idle(). Not async-signal-safe.
  void Post(std::function<void()> fn);
  // Promises that outside work (a Post()) will arrive, so Idle() keeps waiting for it even when
  // nothing else could wake a fiber. Each call is paired with one EndOutsideWork() on the loop.
  void BeginOutsideWork();
  void EndOutsideWork();

  size_t outside_work() const { return outside_work_; }
  size_t fd_waiters() const { return fd_waiters_; }
  size_t watches() const { return watches_; }
  bool OnLoopThread() const { return std::this_thread::get_id() == loop_thread_; }

 private:
  friend class FdWatch;
  // Waits at most `timeout` (none: for ever; zero: not at all) and dispatches the events.
  void WaitAndDispatch(std::optional<Duration> timeout);
  int EpollWait(epoll_event* events, std::optional<Duration> timeout);
  void DrainPosted();
  bool HasPosted();

  UniqueFd epoll_;
  UniqueFd wake_;  // eventfd: written by Post(), read by DrainPosted()
  Runtime* runtime_ = nullptr;
  std::thread::id loop_thread_;
  bool use_pwait2_ = true;  // cleared when the kernel lacks epoll_pwait2 (before Linux 5.11)
  size_t fd_waiters_ = 0;
  size_t outside_work_ = 0;
  size_t watches_ = 0;

  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;  // guarded by posted_mu_
};

}  // namespace apogee::io
