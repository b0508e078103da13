#include "core/io/posix/io_pool.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include "core/io/sync.h"
#include "core/io/wait_queue.h"

namespace apogee::io {
namespace {

// What a waiting fiber and the completion of its job share. Touched only on the loop thread;
// the worker merely carries the completion that holds it.
struct CallState {
  explicit CallState(Runtime& runtime) : waiters(runtime) {}
  bool done = false;
  WaitQueue waiters;
};

}  // namespace

IoPool::IoPool(PosixReactor& reactor, size_t threads) : reactor_(reactor) {
  APOGEE_ASSERT(threads >= 1);
  APOGEE_ASSERT(threads <= kThreadsMax, "{} I/O threads asked, at most {}", threads, kThreadsMax);
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; i++) workers_.emplace_back([this, i] { WorkerMain(i); });
  APOGEE_ASSERT(workers_.size() == threads);
}

IoPool::~IoPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& worker : workers_) worker.join();
  APOGEE_ASSERT(queue_.empty(), "I/O pool stopped with {} jobs never run", queue_.size());
}

Status IoPool::Run(std::function<void()> work, Deadline deadline) {
  Runtime& runtime = reactor_.runtime();
  APOGEE_ASSERT(runtime.Current() != nullptr, "IoPool::Run outside a fiber");
  APOGEE_ASSERT(work != nullptr);
  auto call = std::make_shared<CallState>(runtime);
  // The completion holds the reactor open until it has run, so the loop cannot end under a
  // job; it captures the reactor, not the pool, which may be gone by then.
  reactor_.BeginOutsideWork();
  PosixReactor* reactor = &reactor_;
  Enqueue(Job{std::move(work), [call, reactor] {
                call->done = true;
                call->waiters.NotifyAll();
                reactor->EndOutsideWork();
              }});
  while (!call->done) {
    WakeReason r = call->waiters.Wait(deadline);
    if (r != WakeReason::kNotified && !call->done) return WaitStatus(r, "I/O pool job");
  }
  return Status::Ok();
}

void IoPool::Submit(std::function<void()> work) {
  APOGEE_ASSERT(work != nullptr);
  Enqueue(Job{std::move(work), nullptr});
}

void IoPool::Enqueue(Job job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    APOGEE_ASSERT(!stopping_, "job queued on a stopping I/O pool");
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void IoPool::WorkerMain(size_t index) {
  // Signals belong to the loop thread (or whoever the daemon chooses), never to a worker.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::string name = fmt::format("apogee-io-{}", index);
  pthread_setname_np(pthread_self(), name.c_str());  // best effort: names are for debuggers
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      // Stopping drains the queue first: every job runs exactly once.
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job.work();
    // What the job captured is released here, on the worker: a regular file whose last
    // reference a job held is closed off the loop.
    job.work = nullptr;
    if (job.done != nullptr) reactor_.Post(std::move(job.done));
  }
}

}  // namespace apogee::io
