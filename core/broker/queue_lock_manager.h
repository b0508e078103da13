#pragma once

// QueueLockManager: the broker's locks on message queues for orderly consumers (RocketMQ's
// RebalanceLockManager), behind LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42).
//
// Per consumer group and message queue the broker remembers which client holds the lock and when
// it last locked it (monotonic time). A client locks the queues it was allocated before consuming
// them in order, and renews every 20 s; the lock lapses lock_expiry (60 s) after the last renewal,
// so a client that died frees its queues within a minute.
//
// Rules (TryLockBatch):
//   - a queue nobody holds, or whose holder has not renewed for more than lock_expiry, is granted
//     to the caller (it takes an expired lock over);
//   - a queue the caller holds is granted again and its time refreshed (renewal);
//   - a queue another client holds and renewed within lock_expiry is refused.
// UnlockBatch releases only the caller's own locks; others' are left alone.
//
// Invariants:
//   - At most one client holds a given (group, queue) at any instant that a grant could observe:
//     a grant to B while A holds it happens only once A's lock has lapsed.
//   - Iteration order depends only on values (std::map), never on pointers: deterministic.
// State lives in memory only: after a broker restart every lock is free, as in RocketMQ (clients
// re-lock within their 20 s renewal period).

#include <cstddef>
#include <map>
#include <set>
#include <string>

#include "core/base/time.h"
#include "core/protocol/bodies.h"
#include "core/remoting/command.h"

namespace apogee::broker {

class QueueLockManager {
 public:
  explicit QueueLockManager(Duration lock_expiry = std::chrono::seconds(60));

  // Locks what it can of `mqs` for `client_id` in `group` at `now`; returns the queues the caller
  // now holds (a subset of `mqs`).
  std::set<protocol::MessageQueue> TryLockBatch(const std::string& group,
                                                const std::string& client_id,
                                                const std::set<protocol::MessageQueue>& mqs,
                                                Instant now);
  // Releases those of `mqs` that `client_id` holds in `group`; returns how many.
  size_t UnlockBatch(const std::string& group, const std::string& client_id,
                     const std::set<protocol::MessageQueue>& mqs);
  // True when `client_id` holds `mq` in `group` and its lock has not lapsed at `now`.
  bool IsLockedBy(const std::string& group, const protocol::MessageQueue& mq,
                  const std::string& client_id, Instant now) const;
  // Forgets lapsed locks (they would be taken over anyway), so groups and clients that went away
  // do not hold memory. Returns how many were dropped.
  size_t PruneExpired(Instant now);
  // Locks held, lapsed or not.
  size_t size() const;
  Duration lock_expiry() const { return lock_expiry_; }

 private:
  struct Lock {
    std::string client_id;
    Instant last_locked;
  };
  bool Expired(const Lock& lock, Instant now) const {
    return now - lock.last_locked > lock_expiry_;
  }

  Duration lock_expiry_;
  std::map<std::string, std::map<protocol::MessageQueue, Lock>> groups_;
};

// LOCK_BATCH_MQ: the body is a LockBatchRequestBody; the answer is SUCCESS with a
// LockBatchResponseBody of the queues granted, or SYSTEM_ERROR when the body does not parse.
RemotingCommand HandleLockBatch(QueueLockManager& locks, const RemotingCommand& request,
                                Instant now);
// UNLOCK_BATCH_MQ: the body is an UnlockBatchRequestBody; the answer is SUCCESS without a body,
// or SYSTEM_ERROR when the body does not parse.
RemotingCommand HandleUnlockBatch(QueueLockManager& locks, const RemotingCommand& request);

}  // namespace apogee::broker
