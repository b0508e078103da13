#pragma once

// Fiber-blocking primitives: Event, Mutex, Channel<T>, Promise<T>/Future<T>. All are built on
// WaitQueue, wake waiters in FIFO order, and take an optional deadline. Every call that may
// yield says so. Results:
//   OK         the condition holds (event set, lock held, item received, value ready);
//   kTimeout   the deadline passed first;
//   kClosed    the channel was closed (and, for Recv, drained);
//   kCancelled the fiber is being unwound by a kill and must not block (only seen by code
//              running in destructors during that unwinding).
// Each object belongs to one Runtime and is used only on its thread.

#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include "core/base/status.h"
#include "core/io/wait_queue.h"

namespace apogee::io {

Status WaitStatus(WakeReason reason, const char* what);

namespace detail {
// Runs `fn` when its scope is left by an exception (a kill unwinding the fiber), not otherwise.
template <typename F>
class OnUnwind {
 public:
  explicit OnUnwind(F fn) : fn_(std::move(fn)), uncaught_(std::uncaught_exceptions()) {}
  ~OnUnwind() {
    if (std::uncaught_exceptions() > uncaught_) fn_();
  }
  OnUnwind(const OnUnwind&) = delete;
  OnUnwind& operator=(const OnUnwind&) = delete;

 private:
  F fn_;
  int uncaught_;
};
}  // namespace detail

// A manual-reset flag: Wait() returns once Set() has been called, until Reset().
class Event {
 public:
  explicit Event(Runtime& runtime) : waiters_(runtime) {}
  void Set() {
    set_ = true;
    waiters_.NotifyAll();
  }
  void Reset() { set_ = false; }
  bool is_set() const { return set_; }
  // May yield.
  Status Wait(Deadline deadline = {});

 private:
  bool set_ = false;
  WaitQueue waiters_;
};

// A mutual-exclusion lock for fibers, handed over in FIFO order so no waiter starves.
class Mutex {
 public:
  explicit Mutex(Runtime& runtime) : waiters_(runtime) {}
  ~Mutex() { APOGEE_ASSERT(!locked_, "mutex destroyed while held"); }
  // May yield.
  Status Lock(Deadline deadline = {});
  bool TryLock();
  // REQUIRES: held by the caller.
  void Unlock();
  bool locked() const { return locked_; }

 private:
  bool locked_ = false;
  Fiber* owner_ = nullptr;  // the fiber that holds the lock
  WaitQueue waiters_;
};

// Holds a Mutex for a scope. Check ok(): under a kill or a deadline the lock may not be held.
class MutexLock {
 public:
  explicit MutexLock(Mutex& mu, Deadline deadline = {}) : mu_(&mu), status_(mu.Lock(deadline)) {}
  ~MutexLock() {
    if (status_.ok()) mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

 private:
  Mutex* mu_;
  Status status_;
};

// A FIFO queue between fibers with a capacity (0 means unbounded). Send blocks while full;
// Recv blocks while empty. After Close(), Send fails with kClosed and Recv drains what is left
// and then fails with kClosed.
template <typename T>
class Channel {
 public:
  Channel(Runtime& runtime, size_t capacity)
      : capacity_(capacity), readers_(runtime), writers_(runtime) {}

  // May yield.
  Status Send(T item, Deadline deadline = {}) {
    {
      // A sender killed after it was notified of room must not take the wake-up with it.
      detail::OnUnwind pass_on([this] {
        if (HasRoom()) writers_.NotifyOne();
      });
      while (!closed_ && !HasRoom()) {
        WakeReason r = writers_.Wait(deadline);
        if (r != WakeReason::kNotified) return WaitStatus(r, "channel send");
      }
    }
    if (closed_) return Status(ErrorCode::kClosed, "channel closed");
    items_.push_back(std::move(item));
    readers_.NotifyOne();
    return Status::Ok();
  }
  // Never blocks: fails with kResourceExhausted when full.
  Status TrySend(T item) {
    if (closed_) return Status(ErrorCode::kClosed, "channel closed");
    if (!HasRoom()) return Status(ErrorCode::kResourceExhausted, "channel full");
    items_.push_back(std::move(item));
    readers_.NotifyOne();
    return Status::Ok();
  }
  // May yield.
  Result<T> Recv(Deadline deadline = {}) {
    {
      // A receiver killed after it was notified of an item must not take the wake-up with it.
      detail::OnUnwind pass_on([this] {
        if (!items_.empty()) readers_.NotifyOne();
      });
      while (items_.empty() && !closed_) {
        WakeReason r = readers_.Wait(deadline);
        if (r != WakeReason::kNotified) return WaitStatus(r, "channel recv");
      }
    }
    if (items_.empty()) return Status(ErrorCode::kClosed, "channel closed");
    T item = std::move(items_.front());
    items_.pop_front();
    writers_.NotifyOne();
    // Another reader may be waiting for what is left.
    if (!items_.empty()) readers_.NotifyOne();
    return item;
  }
  std::optional<T> TryRecv() {
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    writers_.NotifyOne();
    return item;
  }
  void Close() {
    closed_ = true;
    readers_.NotifyAll();
    writers_.NotifyAll();
  }
  bool closed() const { return closed_; }
  size_t size() const { return items_.size(); }

 private:
  bool HasRoom() const { return capacity_ == 0 || items_.size() < capacity_; }

  size_t capacity_;
  bool closed_ = false;
  std::deque<T> items_;
  WaitQueue readers_;
  WaitQueue writers_;
};

template <typename T>
class Future;

// The write side of a one-shot value. Set at most once; a Promise destroyed unset breaks the
// future with kCancelled ("broken promise").
template <typename T>
class Promise {
 public:
  explicit Promise(Runtime& runtime) : state_(std::make_shared<State>(runtime)) {}
  Promise(Promise&&) = default;
  // Assigning over a promise that was never set breaks its future, as destroying it would.
  Promise& operator=(Promise&& other) noexcept {
    if (this != &other) {
      Break();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~Promise() { Break(); }

  Future<T> GetFuture() { return Future<T>(state_); }
  void SetValue(T value) { Set(std::move(value)); }
  void SetError(Status status) { Set(std::move(status)); }
  bool is_set() const { return state_->value.has_value(); }

 private:
  friend class Future<T>;
  struct State {
    explicit State(Runtime& runtime) : waiters(runtime) {}
    std::optional<Result<T>> value;
    WaitQueue waiters;
  };
  void Break() {
    if (state_ != nullptr && !state_->value.has_value()) {
      Set(Status(ErrorCode::kCancelled, "broken promise"));
    }
  }
  // Builds the Result in place from a T or a Status. (Moving a Result<T> temporary in instead
  // trips GCC 12's -Wmaybe-uninitialized false positive at -O3 for Promise<int>.)
  template <typename V>
  void Set(V&& v) {
    APOGEE_ASSERT(state_ != nullptr, "use of a moved-from promise");
    APOGEE_ASSERT(!state_->value.has_value(), "promise set twice");
    state_->value.emplace(std::forward<V>(v));
    state_->waiters.NotifyAll();
  }
  std::shared_ptr<State> state_;
};

template <typename T>
class Future {
 public:
  Future() = default;
  bool valid() const { return state_ != nullptr; }
  bool ready() const { return state_->value.has_value(); }
  // Waits for the value. May yield. The value is copied so several fibers may Get() it.
  Result<T> Get(Deadline deadline = {}) const {
    APOGEE_ASSERT(valid());
    std::shared_ptr<State> state = state_;
    while (!state->value.has_value()) {
      WakeReason r = state->waiters.Wait(deadline);
      if (r != WakeReason::kNotified && !state->value.has_value()) {
        return WaitStatus(r, "future get");
      }
    }
    return *state->value;
  }

 private:
  friend class Promise<T>;
  using State = typename Promise<T>::State;
  explicit Future(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace apogee::io
