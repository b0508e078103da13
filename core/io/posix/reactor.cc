#include "core/io/posix/reactor.h"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "core/io/posix/errors.h"
#include "core/io/posix/posix_clock.h"

namespace apogee::io {
namespace {

constexpr uint32_t kReadEvents = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
constexpr uint32_t kWriteEvents = EPOLLOUT | EPOLLHUP | EPOLLERR;

}  // namespace

// --- FdWatch ---

FdWatch::FdWatch(PosixReactor& reactor, int fd)
    : reactor_(&reactor), fd_(fd), readers_(reactor.runtime()), writers_(reactor.runtime()) {}

FdWatch::~FdWatch() {
  APOGEE_ASSERT(readers_.empty(), "fd {} watch destroyed with a waiting reader", fd_);
  APOGEE_ASSERT(writers_.empty(), "fd {} watch destroyed with a waiting writer", fd_);
  Unregister();
  reactor_->watches_--;
}

WakeReason FdWatch::WaitReadable(Deadline deadline) { return Wait(readers_, deadline); }
WakeReason FdWatch::WaitWritable(Deadline deadline) { return Wait(writers_, deadline); }

WakeReason FdWatch::Wait(WaitQueue& queue, Deadline deadline) {
  APOGEE_ASSERT(registered_, "waiting on fd {} that is no longer registered", fd_);
  APOGEE_ASSERT(reactor_->OnLoopThread());
  // Counted so that Idle() knows a descriptor event may still wake someone. The guard also
  // uncounts a fiber that leaves by FiberKilled.
  struct Counted {
    size_t* count;
    explicit Counted(size_t* c) : count(c) { ++*count; }
    ~Counted() { --*count; }
  } counted(&reactor_->fd_waiters_);
  return queue.Wait(deadline);
}

void FdWatch::WakeAll() {
  readers_.NotifyAll();
  writers_.NotifyAll();
}

void FdWatch::Unregister() {
  if (!registered_) return;
  registered_ = false;
  // Linux ignores the event argument of EPOLL_CTL_DEL (kernels before 2.6.9 wanted non-null).
  epoll_event ignored{};
  int rc = ::epoll_ctl(reactor_->epoll_.get(), EPOLL_CTL_DEL, fd_, &ignored);
  APOGEE_ASSERT(rc == 0, "epoll_ctl(DEL, fd {}): {}", fd_, ErrnoText(errno));
}

void FdWatch::OnEvents(uint32_t events) {
  if ((events & kReadEvents) != 0) readers_.NotifyAll();
  if ((events & kWriteEvents) != 0) writers_.NotifyAll();
}

// --- PosixReactor ---

PosixReactor::PosixReactor()
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)), wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  APOGEE_ASSERT(epoll_.valid(), "epoll_create1: {}", ErrnoText(errno));
  APOGEE_ASSERT(wake_.valid(), "eventfd: {}", ErrnoText(errno));
  // Level-triggered: the eventfd stays readable until DrainPosted() reads it, so a wake-up can
  // never be lost between a drain and the next wait.
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = this;  // tags the eventfd: no FdWatch lives at the reactor's address
  int rc = ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  APOGEE_ASSERT(rc == 0, "epoll_ctl(ADD, eventfd): {}", ErrnoText(errno));
}

PosixReactor::~PosixReactor() {
  APOGEE_ASSERT(watches_ == 0, "reactor destroyed with {} descriptors registered", watches_);
  APOGEE_ASSERT(fd_waiters_ == 0);
  std::lock_guard<std::mutex> lock(posted_mu_);
  posted_.clear();
}

void PosixReactor::Attach(Runtime& runtime) {
  APOGEE_ASSERT(runtime_ == nullptr, "reactor attached twice");
  runtime_ = &runtime;
  loop_thread_ = std::this_thread::get_id();
}

Runtime& PosixReactor::runtime() const {
  APOGEE_ASSERT(runtime_ != nullptr, "reactor not attached to a runtime");
  return *runtime_;
}

Instant PosixReactor::Now() { return MonotonicNow(); }

size_t PosixReactor::PickReady(size_t ready_count) {
  APOGEE_ASSERT(ready_count >= 2);
  return 0;
}

bool PosixReactor::Idle(Deadline next_event) {
  APOGEE_ASSERT(OnLoopThread());
  if (!next_event.has_value() && fd_waiters_ == 0 && outside_work_ == 0 && !HasPosted()) {
    return false;
  }
  std::optional<Duration> timeout;
  if (next_event.has_value()) timeout = std::max(Duration::zero(), *next_event - Now());
  WaitAndDispatch(timeout);
  return true;
}

void PosixReactor::Poll() {
  APOGEE_ASSERT(OnLoopThread());
  WaitAndDispatch(Duration::zero());
}

int PosixReactor::EpollWait(epoll_event* events, std::optional<Duration> timeout) {
  if (use_pwait2_) {
    // Nanosecond timeout: a timer 300us away waits 300us, not a whole millisecond. The kernel
    // measures it on CLOCK_MONOTONIC from a point after our Now(), so it cannot end early.
    timespec ts{};
    if (timeout.has_value()) {
      ts.tv_sec = static_cast<time_t>(timeout->count() / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(timeout->count() % 1'000'000'000);
    }
    int n = ::epoll_pwait2(epoll_.get(), events, kEventsMax, timeout ? &ts : nullptr, nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    use_pwait2_ = false;
  }
  // Millisecond fallback, rounded up so that a timer never fires early.
  int timeout_ms = -1;
  if (timeout.has_value()) {
    int64_t ms = (timeout->count() + 999'999) / 1'000'000;
    timeout_ms = static_cast<int>(std::min<int64_t>(ms, INT_MAX));
  }
  return ::epoll_wait(epoll_.get(), events, kEventsMax, timeout_ms);
}

void PosixReactor::WaitAndDispatch(std::optional<Duration> timeout) {
  epoll_event events[kEventsMax];
  int n = EpollWait(events, timeout);
  if (n < 0) {
    // A signal interrupted the wait: the loop simply comes round again.
    APOGEE_ASSERT(errno == EINTR, "epoll_wait: {}", ErrnoText(errno));
    return;
  }
  APOGEE_ASSERT(n <= kEventsMax);
  bool posted = false;
  // Descriptor events first: waking a fiber only makes it ready, nothing runs meanwhile, so
  // every FdWatch named in this batch is still alive. Posted functions may run arbitrary code
  // and come after.
  for (int i = 0; i < n; i++) {
    if (events[i].data.ptr == this) {
      posted = true;
      continue;
    }
    static_cast<FdWatch*>(events[i].data.ptr)->OnEvents(events[i].events);
  }
  if (posted) DrainPosted();
}

bool PosixReactor::HasPosted() {
  std::lock_guard<std::mutex> lock(posted_mu_);
  return !posted_.empty();
}

void PosixReactor::DrainPosted() {
  // Read the counter before taking the functions: a Post() after this read writes it again,
  // so its function is either taken now or announced to the next wait.
  uint64_t count = 0;
  ssize_t rc = ::read(wake_.get(), &count, sizeof(count));
  APOGEE_ASSERT(rc == sizeof(count) || errno == EAGAIN, "read(eventfd): {}", ErrnoText(errno));
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    batch.swap(posted_);
  }
  for (std::function<void()>& fn : batch) fn();
}

void PosixReactor::Post(std::function<void()> fn) {
  APOGEE_ASSERT(fn != nullptr);
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    was_empty = posted_.empty();
    posted_.push_back(std::move(fn));
  }
  // Only the first of a batch needs to wake the loop: the drain takes them all.
  if (!was_empty) return;
  uint64_t one = 1;
  ssize_t rc = ::write(wake_.get(), &one, sizeof(one));
  // EAGAIN means the counter is saturated, which still wakes the loop.
  APOGEE_ASSERT(rc == sizeof(one) || errno == EAGAIN, "write(eventfd): {}", ErrnoText(errno));
}

void PosixReactor::BeginOutsideWork() {
  APOGEE_ASSERT(OnLoopThread());
  outside_work_++;
}

void PosixReactor::EndOutsideWork() {
  APOGEE_ASSERT(OnLoopThread());
  APOGEE_ASSERT(outside_work_ > 0, "EndOutsideWork() without BeginOutsideWork()");
  outside_work_--;
}

Result<std::unique_ptr<FdWatch>> PosixReactor::Watch(int fd) {
  APOGEE_ASSERT(fd >= 0);
  APOGEE_ASSERT(OnLoopThread());
  std::unique_ptr<FdWatch> watch(new FdWatch(*this, fd));
  watches_++;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = watch.get();
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    return NetError(errno, "epoll_ctl(ADD)");  // `watch` unregistered: its destructor uncounts
  }
  watch->registered_ = true;
  return watch;
}

}  // namespace apogee::io
