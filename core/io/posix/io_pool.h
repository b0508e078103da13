#pragma once

// IoPool: a few OS threads that run blocking file syscalls, so that a slow fsync or a read that
// misses the page cache stalls only the fiber that asked for it, never the reactor's loop.
//
// A fiber hands a job to Run() or Call() and parks; a worker runs the job and posts its
// completion back through the reactor, which wakes the fiber on the loop thread. Jobs must own
// everything they touch (capture by value or by shared_ptr, never a pointer into the caller's
// stack or buffers): a fiber may be killed, or its deadline may pass, while its job still runs.
// The job then runs to its end and what it produced is dropped.
//
// Threads: Run(), Call() and Submit() are called on the loop thread; jobs run on the workers.
// The queue has no bound of its own: each queued job belongs to a parked fiber (or to a File
// being closed), so the node's fiber count bounds it.
//
// Invariants:
//   - Every job is run exactly once, even when the pool is destroyed with jobs queued.
//   - A job's completion runs on the loop thread, after the job returned, or never (when the
//     reactor is destroyed first, which PosixEnv's member order rules out while fibers live).

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/base/time.h"
#include "core/io/posix/reactor.h"

namespace apogee::io {

class IoPool {
 public:
  static constexpr size_t kThreadsDefault = 4;
  static constexpr size_t kThreadsMax = 64;

  // Starts `threads` worker threads that post completions through `reactor`.
  // REQUIRES: 1 <= threads <= kThreadsMax; `reactor` outlives the pool.
  explicit IoPool(PosixReactor& reactor, size_t threads = kThreadsDefault);
  // Runs every job still queued, then joins the workers. Completions they post are run by the
  // reactor's next Poll()/Idle() or dropped with the reactor.
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  // Runs `work` on a worker and parks the calling fiber until it has returned. May yield.
  // Returns OK once `work` has returned; kTimeout at the deadline; kCancelled, without waiting,
  // when the fiber is already unwinding from a kill; throws FiberKilled when killed while
  // waiting. In every case but OK, `work` still runs and its effects happen (see above).
  // REQUIRES: called on a fiber of the reactor's runtime.
  Status Run(std::function<void()> work, Deadline deadline = {});

  // Runs `work` on a worker and returns what it returned. R is Status or Result<T>; a failed
  // wait returns the error of Run(). May yield. REQUIRES: as Run().
  template <typename R>
  R Call(std::function<R()> work, Deadline deadline = {}) {
    auto out = std::make_shared<std::optional<R>>();
    Status waited = Run([out, work = std::move(work)] { out->emplace(work()); }, deadline);
    if (!waited.ok()) return waited;
    APOGEE_ASSERT(out->has_value());
    return std::move(**out);
  }

  // Queues `work` and returns at once; nobody waits for it. Usable on the loop thread outside
  // fibers too (File destructors close their descriptors this way).
  void Submit(std::function<void()> work);

  size_t threads() const { return workers_.size(); }

 private:
  struct Job {
    std::function<void()> work;  // runs on a worker
    std::function<void()> done;  // posted to the loop after `work`; may be empty
  };
  void Enqueue(Job job);
  void WorkerMain(size_t index);

  PosixReactor& reactor_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;  // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace apogee::io
