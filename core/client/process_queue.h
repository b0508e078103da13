#pragma once

// ProcessQueue: the messages of one assigned queue that were pulled and not yet consumed
// (RocketMQ's ProcessQueue), keyed by queue offset.
//
// Concurrent consumption takes batches out of order; RemoveMessages() then answers the offset
// that may be committed: the smallest offset still held, or one past the largest ever held
// when none is left, so a commit never passes an unconsumed message.
// Orderly consumption takes messages in offset order (TakeMessages) into a consuming set;
// Commit() forgets them and answers one past the largest taken; MakeMessagesToConsumeAgain()
// puts them back (a suspended batch).
//
// Invariants:
//   - msgs_ and consuming_ are disjoint; every key is a queue offset of this queue.
//   - `consuming` (orderly) is true from the PutMessages that dispatched a consume request
//     until a TakeMessages that found nothing: at most one request per queue is in flight.

#include <cstdint>
#include <map>
#include <vector>

#include "core/base/time.h"
#include "core/io/sync.h"
#include "core/protocol/message.h"

namespace apogee::client {

using protocol::MessageExt;

class ProcessQueue {
 public:
  explicit ProcessQueue(io::Runtime& runtime) : consume_mu(runtime) {}

  // Adds pulled messages (ones already held are ignored). Returns true when an orderly consume
  // request should be dispatched: there are messages and none is being consumed.
  bool PutMessages(std::vector<MessageExt> msgs);
  // Removes consumed messages; returns the offset to commit, or -1 when nothing was ever held.
  int64_t RemoveMessages(const std::vector<MessageExt>& msgs);

  // Orderly: up to `n` messages in offset order, moved to the consuming set. An empty answer
  // clears `consuming`.
  std::vector<MessageExt> TakeMessages(size_t n);
  // Orderly: forgets the consuming set; returns one past its largest offset, or -1 if empty.
  int64_t Commit();
  // Orderly: puts `msgs` (possibly with updated reconsume counts) back to be taken again.
  void MakeMessagesToConsumeAgain(const std::vector<MessageExt>& msgs);

  size_t msg_count() const { return msgs_.size() + consuming_.size(); }
  // The span of offsets held (for flow control), 0 when empty.
  int64_t MaxSpan() const;
  bool IsLockExpired(Instant now, Duration lock_live) const { return now - last_lock > lock_live; }

  bool dropped = false;
  bool locked = false;
  Instant last_lock{};
  bool consuming = false;
  // Orderly: held while a queue's messages are consumed, and by rebalance before unlocking it.
  io::Mutex consume_mu;

 private:
  std::map<int64_t, MessageExt> msgs_;
  std::map<int64_t, MessageExt> consuming_;
  int64_t max_offset_ = -1;  // the largest queue offset ever put
};

}  // namespace apogee::client
