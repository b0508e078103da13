#include "core/io/sync.h"

#include <exception>

namespace apogee::io {

Status WaitStatus(WakeReason reason, const char* what) {
  switch (reason) {
    case WakeReason::kNotified:
      return Status::Ok();
    case WakeReason::kTimeout:
      return Status(ErrorCode::kTimeout, std::string(what) + " timed out");
    case WakeReason::kKilled:
      return Status(ErrorCode::kCancelled, std::string(what) + " interrupted by a kill");
    case WakeReason::kNone:
      break;
  }
  APOGEE_UNREACHABLE("wait ended without a reason");
}

Status Event::Wait(Deadline deadline) {
  while (!set_) {
    WakeReason r = waiters_.Wait(deadline);
    if (r != WakeReason::kNotified && !set_) return WaitStatus(r, "event wait");
  }
  return Status::Ok();
}

Status Mutex::Lock(Deadline deadline) {
  Fiber* self = waiters_.runtime().Current();
  APOGEE_ASSERT(self != nullptr, "Mutex::Lock outside a fiber");
  APOGEE_ASSERT(owner_ != self, "recursive Mutex::Lock");
  if (!locked_) {
    locked_ = true;
    owner_ = self;
    return Status::Ok();
  }
  // Ownership is handed over by Unlock() to the oldest waiter together with its notification,
  // so a notified waiter holds the lock even if its deadline passed in the same instant. If the
  // waiter is killed after the hand-over, it passes the lock on as it unwinds.
  detail::OnUnwind abandon([this, self] {
    if (owner_ == self) Unlock();
  });
  WakeReason r = waiters_.Wait(deadline);
  if (r == WakeReason::kNotified) {
    APOGEE_ASSERT(owner_ == self);
    return Status::Ok();
  }
  return WaitStatus(r, "mutex lock");
}

bool Mutex::TryLock() {
  if (locked_) return false;
  locked_ = true;
  owner_ = waiters_.runtime().Current();
  return true;
}

void Mutex::Unlock() {
  APOGEE_ASSERT(locked_, "unlock of a mutex that is not held");
  // Hand over to the oldest waiter, or release.
  owner_ = waiters_.NotifyOne();
  if (owner_ == nullptr) locked_ = false;
}

}  // namespace apogee::io
