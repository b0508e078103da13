#include "core/io/sync.h"

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/io/wait_queue.h"
#include "sim/kernel.h"
#include "tests/io/sim_runtime_fixture.h"

namespace apogee::io {
namespace {

Instant At(Duration d) { return Instant(d); }

class SyncTest : public SimRuntimeFixture {};

// --- WaitQueue ---

TEST_F(SyncTest, WaitQueueNotifiesInFifoOrder) {
  // Proves NotifyOne() wakes waiters oldest first and NotifyAll() wakes the rest, counting them.
  WaitQueue& q = Make<WaitQueue>(rt_);
  std::vector<int> woke;
  for (int i = 0; i < 4; i++) {
    s_.Spawn("waiter", [&, i] {
      s_.Sleep(std::chrono::milliseconds(i));  // queue up in order 0, 1, 2, 3
      EXPECT_EQ(q.Wait(), WakeReason::kNotified);
      woke.push_back(i);
    });
  }
  k_.RunFor(10ms);
  EXPECT_NE(q.NotifyOne(), nullptr);
  k_.RunFor(1ms);
  EXPECT_EQ(woke, (std::vector<int>{0}));
  EXPECT_EQ(q.NotifyAll(), 3u);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.NotifyOne(), nullptr);
  k_.RunFor(1ms);
  ASSERT_EQ(woke.size(), 4u);
}

TEST_F(SyncTest, WaitQueueTimeoutUnlinksTheWaiter) {
  // Proves a wait that times out returns kTimeout at its deadline and leaves the queue, so a
  // later notification goes to nobody rather than to a fiber that stopped waiting.
  WaitQueue& q = Make<WaitQueue>(rt_);
  std::pair<WakeReason, Instant> result{WakeReason::kNone, Instant{}};
  s_.Spawn("waiter", [&] {
    WakeReason r = q.Wait(s_.After(5ms));
    result = {r, s_.Now()};
  });
  k_.RunFor(10ms);
  EXPECT_EQ(result, std::make_pair(WakeReason::kTimeout, At(5ms)));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.NotifyOne(), nullptr);
}

TEST_F(SyncTest, WaitQueueKilledWaiterUnlinksItself) {
  // Proves a waiter unwound by a kill removes its record from the queue on the way out.
  WaitQueue& q = Make<WaitQueue>(rt_);
  FiberHandle h = s_.Spawn("waiter", [&] { (void)q.Wait(); });
  k_.RunFor(1ms);
  EXPECT_FALSE(q.empty());
  h.Kill();
  k_.RunFor(1ms);
  EXPECT_TRUE(h.done());
  EXPECT_TRUE(q.empty());
}

TEST_F(SyncTest, NotificationWinsOverATimeoutFiredFirst) {
  // Proves a notification is never lost to a timeout at the same instant: here the waiter's
  // timer fires first (it was scheduled first), the notification right after, in one step; the
  // waiter still reports kNotified.
  WaitQueue& q = Make<WaitQueue>(rt_);
  WakeReason result = WakeReason::kNone;
  s_.Spawn("waiter", [&] { result = q.Wait(At(10ms)); });
  k_.RunFor(1ms);  // the waiter is parked; its timer (due at 10ms) is queued
  rt_.At(At(10ms), [&] { ASSERT_NE(q.NotifyOne(), nullptr); });
  k_.RunFor(20ms);
  EXPECT_EQ(result, WakeReason::kNotified);
}

TEST_F(SyncTest, NotificationWinsOverATimeoutFiredSecond) {
  // Proves the same when the notification comes first in the step and the timer second.
  WaitQueue& q = Make<WaitQueue>(rt_);
  WakeReason result = WakeReason::kNone;
  rt_.At(At(10ms), [&] { ASSERT_NE(q.NotifyOne(), nullptr); });
  s_.Spawn("waiter", [&] { result = q.Wait(At(10ms)); });
  k_.RunFor(20ms);
  EXPECT_EQ(result, WakeReason::kNotified);
}

// --- Event ---

TEST_F(SyncTest, EventWaitOnSetEventReturnsAtOnce) {
  // Proves Wait() on a set event returns OK without waiting, as often as asked.
  Event& ev = Make<Event>(rt_);
  ev.Set();
  EXPECT_TRUE(ev.is_set());
  std::vector<Instant> times;
  s_.Spawn("f", [&] {
    s_.Sleep(1ms);
    for (int i = 0; i < 3; i++) {
      EXPECT_TRUE(ev.Wait(s_.After(1ms)).ok());
      times.push_back(s_.Now());
    }
  });
  k_.RunFor(10ms);
  EXPECT_EQ(times, std::vector<Instant>(3, At(1ms)));
}

TEST_F(SyncTest, EventSetWakesAllWaiters) {
  // Proves Set() wakes every waiter, at the time of the Set.
  Event& ev = Make<Event>(rt_);
  std::vector<Instant> woke;
  for (int i = 0; i < 3; i++) {
    s_.Spawn("waiter", [&] {
      EXPECT_TRUE(ev.Wait().ok());
      woke.push_back(s_.Now());
    });
  }
  rt_.At(At(7ms), [&] { ev.Set(); });
  k_.RunFor(10ms);
  EXPECT_EQ(woke, std::vector<Instant>(3, At(7ms)));
}

TEST_F(SyncTest, EventResetBlocksAgainUntilDeadline) {
  // Proves Reset() makes Wait() block again, and that a deadline ends the wait with kTimeout
  // exactly at the deadline; a later Set() releases a new wait.
  Event& ev = Make<Event>(rt_);
  ev.Set();
  ev.Reset();
  EXPECT_FALSE(ev.is_set());
  std::vector<std::pair<ErrorCode, Instant>> results;
  s_.Spawn("waiter", [&] {
    Status st = ev.Wait(s_.After(5ms));
    results.emplace_back(st.code(), s_.Now());
    st = ev.Wait(s_.After(100ms));
    results.emplace_back(st.code(), s_.Now());
  });
  rt_.At(At(8ms), [&] { ev.Set(); });
  k_.RunFor(200ms);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], std::make_pair(ErrorCode::kTimeout, At(5ms)));
  EXPECT_EQ(results[1], std::make_pair(ErrorCode::kOk, At(8ms)));
}

// --- Mutex ---

TEST_F(SyncTest, MutexHandsOverInFifoOrder) {
  // Proves Unlock() hands the lock to the oldest waiter, in arrival order, and that a fiber
  // arriving at the moment of hand-over cannot barge in with TryLock().
  Mutex& mu = Make<Mutex>(rt_);
  std::vector<int> order;
  bool barged = true;
  s_.Spawn("holder", [&] {
    EXPECT_TRUE(mu.Lock().ok());
    s_.Sleep(10ms);
    mu.Unlock();
    barged = mu.TryLock();  // the lock went to waiter 0 with the Unlock
    if (barged) mu.Unlock();
  });
  for (int i = 0; i < 3; i++) {
    s_.Spawn("waiter", [&, i] {
      s_.Sleep(std::chrono::milliseconds(i + 1));
      MutexLock lock(mu);
      EXPECT_TRUE(lock.ok());
      order.push_back(i);
      s_.Sleep(1ms);
    });
  }
  k_.RunFor(100ms);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_FALSE(barged);
  EXPECT_FALSE(mu.locked());
}

TEST_F(SyncTest, MutexLockTimesOutWithoutTheLock) {
  // Proves Lock() with a deadline fails with kTimeout at the deadline without taking the lock,
  // and that the next waiter still receives it on Unlock().
  Mutex& mu = Make<Mutex>(rt_);
  std::pair<ErrorCode, Instant> timed_out{ErrorCode::kOk, Instant{}};
  Instant second_got{};
  s_.Spawn("holder", [&] {
    EXPECT_TRUE(mu.TryLock());
    s_.Sleep(10ms);
    mu.Unlock();
  });
  s_.Spawn("impatient", [&] {
    s_.Sleep(1ms);
    Status st = mu.Lock(s_.After(2ms));
    timed_out = {st.code(), s_.Now()};
  });
  s_.Spawn("patient", [&] {
    s_.Sleep(2ms);
    MutexLock lock(mu);
    EXPECT_TRUE(lock.ok());
    second_got = s_.Now();
  });
  k_.RunFor(100ms);
  EXPECT_EQ(timed_out, std::make_pair(ErrorCode::kTimeout, At(3ms)));
  EXPECT_EQ(second_got, At(10ms));
  EXPECT_FALSE(mu.locked());
}

TEST_F(SyncTest, MutexHandOverWinsOverASimultaneousTimeout) {
  // Proves a waiter handed the lock in the same instant its deadline passes owns the lock
  // (Lock() is OK), so the lock is never left owned by a fiber that thinks it failed. The
  // waiter's timer fires first in that step, the hand-over right after it.
  Mutex& mu = Make<Mutex>(rt_);
  ASSERT_TRUE(mu.TryLock());  // held by the loop
  Status st(ErrorCode::kInternal, "not run");
  s_.Spawn("waiter", [&] {
    st = mu.Lock(At(5ms));
    if (st.ok()) mu.Unlock();
  });
  k_.RunFor(1ms);                         // the waiter is parked, its timer queued
  rt_.At(At(5ms), [&] { mu.Unlock(); });  // queued after the timer: fires second
  k_.RunFor(10ms);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(mu.locked());
  if (mu.locked()) mu.Unlock();  // only after a failure: leave the mutex destructible
}

TEST_F(SyncTest, MutexWaiterKilledAfterHandOverPassesTheLockOn) {
  // Proves a waiter killed after Unlock() handed it the lock, but before it ran, passes the
  // lock on as it unwinds: the next waiter gets it and nothing deadlocks.
  Mutex& mu = Make<Mutex>(rt_);
  bool victim_got = false;
  Instant third_got{};
  FiberHandle victim;
  s_.Spawn("holder", [&] {
    EXPECT_TRUE(mu.Lock().ok());
    s_.Sleep(10ms);
    mu.Unlock();    // hands the lock to the victim...
    victim.Kill();  // ...which dies before it runs
  });
  victim = s_.Spawn("victim", [&] {
    s_.Sleep(1ms);
    MutexLock lock(mu);
    victim_got = true;
  });
  s_.Spawn("third", [&] {
    s_.Sleep(2ms);
    MutexLock lock(mu);
    EXPECT_TRUE(lock.ok());
    third_got = s_.Now();
  });
  k_.RunFor(100ms);
  EXPECT_TRUE(victim.done());
  EXPECT_FALSE(victim_got);
  EXPECT_EQ(third_got, At(10ms));
  EXPECT_FALSE(mu.locked());
}

TEST_F(SyncTest, MutexWaiterKilledBeforeHandOverPassesTheLockOn) {
  // Proves the same when the kill comes first: the killed waiter is still queued when Unlock()
  // runs in the same step, receives the lock, and passes it on while unwinding.
  Mutex& mu = Make<Mutex>(rt_);
  Instant third_got{};
  FiberHandle victim;
  s_.Spawn("holder", [&] {
    EXPECT_TRUE(mu.Lock().ok());
    s_.Sleep(10ms);
    victim.Kill();
    mu.Unlock();
  });
  victim = s_.Spawn("victim", [&] {
    s_.Sleep(1ms);
    MutexLock lock(mu);
    ADD_FAILURE() << "a killed waiter must not proceed";
  });
  s_.Spawn("third", [&] {
    s_.Sleep(2ms);
    MutexLock lock(mu);
    third_got = s_.Now();
  });
  k_.RunFor(100ms);
  EXPECT_EQ(third_got, At(10ms));
  EXPECT_FALSE(mu.locked());
}

// --- Channel ---

TEST_F(SyncTest, ChannelBoundedSendBlocksUntilThereIsRoom) {
  // Proves Send() on a full channel blocks until a Recv() makes room, and items arrive in FIFO
  // order.
  auto& ch = Make<Channel<int>>(rt_, 2);
  std::vector<std::pair<int, Instant>> sent;
  std::vector<int> received;
  s_.Spawn("producer", [&] {
    for (int i = 0; i < 4; i++) {
      EXPECT_TRUE(ch.Send(i).ok());
      sent.emplace_back(i, s_.Now());
    }
  });
  s_.Spawn("consumer", [&] {
    for (int i = 0; i < 4; i++) {
      s_.Sleep(10ms);
      Result<int> r = ch.Recv();
      ASSERT_TRUE(r.ok());
      received.push_back(*r);
    }
  });
  k_.RunFor(100ms);
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0].second, At(0ms));
  EXPECT_EQ(sent[1].second, At(0ms));
  EXPECT_EQ(sent[2].second, At(10ms));  // had to wait for the first Recv
  EXPECT_EQ(sent[3].second, At(20ms));
  EXPECT_EQ(received, (std::vector<int>{0, 1, 2, 3}));
}

TEST_F(SyncTest, ChannelCloseDrainsThenReportsClosed) {
  // Proves that after Close() a receiver still gets every queued item, then kClosed, and that
  // Send() and TrySend() fail with kClosed.
  auto& ch = Make<Channel<std::string>>(rt_, 0);
  for (std::string s : {"a", "b", "c"}) ASSERT_TRUE(ch.TrySend(s).ok());
  ch.Close();
  EXPECT_TRUE(ch.closed());
  EXPECT_EQ(ch.TrySend("d").code(), ErrorCode::kClosed);
  std::vector<std::string> got;
  ErrorCode end = ErrorCode::kOk;
  Status send_status;
  s_.Spawn("reader", [&] {
    send_status = ch.Send("e");
    for (;;) {
      Result<std::string> r = ch.Recv();
      if (!r.ok()) {
        end = r.code();
        break;
      }
      got.push_back(*r);
    }
  });
  k_.RunFor(1ms);
  EXPECT_EQ(send_status.code(), ErrorCode::kClosed);
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(end, ErrorCode::kClosed);
}

TEST_F(SyncTest, ChannelCloseWakesBlockedSendersAndReceivers) {
  // Proves Close() releases fibers blocked in Send() (full) and Recv() (empty) with kClosed.
  auto& full = Make<Channel<int>>(rt_, 1);
  auto& empty = Make<Channel<int>>(rt_, 1);
  ASSERT_TRUE(full.TrySend(1).ok());
  ErrorCode send_end = ErrorCode::kOk;
  ErrorCode recv_end = ErrorCode::kOk;
  s_.Spawn("sender", [&] { send_end = full.Send(2).code(); });
  s_.Spawn("receiver", [&] { recv_end = empty.Recv().code(); });
  k_.RunFor(1ms);
  EXPECT_EQ(send_end, ErrorCode::kOk);  // still blocked
  full.Close();
  empty.Close();
  k_.RunFor(1ms);
  EXPECT_EQ(send_end, ErrorCode::kClosed);
  EXPECT_EQ(recv_end, ErrorCode::kClosed);
  EXPECT_EQ(full.size(), 1u);
}

TEST_F(SyncTest, ChannelTryOperationsNeverBlock) {
  // Proves TrySend() fails with kResourceExhausted when full and TryRecv() returns nothing when
  // empty, both from the loop without a fiber, and that TryRecv() makes room for a sender.
  auto& ch = Make<Channel<int>>(rt_, 1);
  EXPECT_FALSE(ch.TryRecv().has_value());
  EXPECT_TRUE(ch.TrySend(1).ok());
  EXPECT_EQ(ch.TrySend(2).code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(ch.size(), 1u);
  EXPECT_EQ(ch.TryRecv(), std::optional<int>(1));
  EXPECT_TRUE(ch.TrySend(3).ok());
  EXPECT_EQ(ch.TryRecv(), std::optional<int>(3));
}

TEST_F(SyncTest, ChannelUnboundedNeverBlocksSend) {
  // Proves capacity 0 means unbounded: a thousand sends complete without a receiver.
  auto& ch = Make<Channel<int>>(rt_, 0);
  int sent = 0;
  s_.Spawn("producer", [&] {
    for (int i = 0; i < 1000; i++) {
      if (ch.Send(i, s_.After(1ms)).ok()) sent++;
    }
  });
  k_.RunFor(1ms);
  EXPECT_EQ(sent, 1000);
  EXPECT_EQ(ch.size(), 1000u);
}

TEST_F(SyncTest, ChannelRecvAndSendHonourDeadlines) {
  // Proves Recv() on an empty channel and Send() on a full one fail with kTimeout at their
  // deadlines.
  auto& ch = Make<Channel<int>>(rt_, 1);
  std::vector<std::pair<ErrorCode, Instant>> results;
  s_.Spawn("f", [&] {
    ErrorCode code = ch.Recv(s_.After(3ms)).code();
    results.emplace_back(code, s_.Now());
    EXPECT_TRUE(ch.Send(1).ok());
    code = ch.Send(2, s_.After(4ms)).code();
    results.emplace_back(code, s_.Now());
  });
  k_.RunFor(10ms);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], std::make_pair(ErrorCode::kTimeout, At(3ms)));
  EXPECT_EQ(results[1], std::make_pair(ErrorCode::kTimeout, At(7ms)));
}

TEST_F(SyncTest, ChannelReceiverKilledAfterNotificationPassesItOn) {
  // Proves a receiver that was notified of an item but killed before it ran does not take the
  // wake-up with it: the next waiting receiver gets the item.
  auto& ch = Make<Channel<int>>(rt_, 0);
  std::vector<int> second_got;
  FiberHandle first = s_.Spawn("first", [&] { (void)ch.Recv(); });
  k_.RunFor(1ms);
  s_.Spawn("second", [&] {
    Result<int> r = ch.Recv();
    if (r.ok()) second_got.push_back(*r);
  });
  k_.RunFor(1ms);
  rt_.At(At(5ms), [&] {
    ASSERT_TRUE(ch.TrySend(42).ok());  // notifies "first", the oldest receiver
    first.Kill();
  });
  k_.RunFor(10ms);
  EXPECT_TRUE(first.done());
  EXPECT_EQ(second_got, (std::vector<int>{42}));
}

TEST_F(SyncTest, ChannelSenderKilledAfterNotificationPassesItOn) {
  // Proves the same for senders: a blocked sender notified of room but killed before it ran
  // passes the wake-up to the next blocked sender.
  auto& ch = Make<Channel<int>>(rt_, 1);
  ASSERT_TRUE(ch.TrySend(0).ok());
  bool second_sent = false;
  FiberHandle first = s_.Spawn("first", [&] { (void)ch.Send(1); });
  k_.RunFor(1ms);
  s_.Spawn("second", [&] { second_sent = ch.Send(2).ok(); });
  k_.RunFor(1ms);
  rt_.At(At(5ms), [&] {
    ASSERT_EQ(ch.TryRecv(), std::optional<int>(0));  // notifies "first", the oldest sender
    first.Kill();
  });
  k_.RunFor(10ms);
  EXPECT_TRUE(first.done());
  EXPECT_TRUE(second_sent);
  EXPECT_EQ(ch.TryRecv(), std::optional<int>(2));
}

// --- Promise / Future ---

TEST_F(SyncTest, FutureDeliversTheValueToEveryWaiter) {
  // Proves every fiber waiting on a future receives (a copy of) the value when it is set, and
  // a later Get() returns it at once.
  auto& p = Make<Promise<std::string>>(rt_);
  Future<std::string> f = p.GetFuture();
  EXPECT_TRUE(f.valid());
  EXPECT_FALSE(f.ready());
  std::vector<std::pair<std::string, Instant>> got;
  for (int i = 0; i < 2; i++) {
    s_.Spawn("waiter", [&] {
      Result<std::string> r = f.Get();
      ASSERT_TRUE(r.ok());
      got.emplace_back(*r, s_.Now());
    });
  }
  rt_.At(At(3ms), [&] { p.SetValue("v"); });
  k_.RunFor(10ms);
  EXPECT_TRUE(p.is_set());
  EXPECT_TRUE(f.ready());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(std::string("v"), At(3ms)));
  EXPECT_EQ(got[1], std::make_pair(std::string("v"), At(3ms)));
  s_.Spawn("late", [&] { EXPECT_EQ(*f.Get(), "v"); });
  k_.RunFor(1ms);
}

TEST_F(SyncTest, FutureDeliversAnError) {
  // Proves SetError() reaches the waiter as the same error status.
  auto& p = Make<Promise<int>>(rt_);
  Future<int> f = p.GetFuture();
  Status got;
  s_.Spawn("waiter", [&] { got = f.Get().status(); });
  rt_.At(At(1ms), [&] { p.SetError(Status(ErrorCode::kBusy, "broker busy")); });
  k_.RunFor(10ms);
  EXPECT_EQ(got, Status(ErrorCode::kBusy, "broker busy"));
}

TEST_F(SyncTest, BrokenPromiseCancelsTheFuture) {
  // Proves a promise destroyed without a value breaks its future: waiters get kCancelled.
  auto p = std::make_unique<Promise<int>>(rt_);
  Future<int> f = p->GetFuture();
  ErrorCode got = ErrorCode::kOk;
  s_.Spawn("waiter", [&] { got = f.Get().code(); });
  rt_.At(At(1ms), [&] { p.reset(); });
  k_.RunFor(10ms);
  EXPECT_EQ(got, ErrorCode::kCancelled);
}

TEST_F(SyncTest, OverwrittenPromiseBreaksItsFuture) {
  // Proves move-assigning over a promise that was never set breaks the future it handed out,
  // as its destruction would; the waiter must not wait for ever.
  auto& p = Make<Promise<int>>(rt_);
  Future<int> f = p.GetFuture();
  ErrorCode got = ErrorCode::kOk;
  s_.Spawn("waiter", [&] { got = f.Get(s_.After(100ms)).code(); });
  rt_.At(At(1ms), [&] { p = Promise<int>(rt_); });
  k_.RunFor(200ms);
  EXPECT_EQ(got, ErrorCode::kCancelled);
}

TEST_F(SyncTest, FutureGetHonoursItsDeadline) {
  // Proves Get() with a deadline fails with kTimeout at the deadline when no value comes.
  auto& p = Make<Promise<int>>(rt_);
  Future<int> f = p.GetFuture();
  std::pair<ErrorCode, Instant> got{ErrorCode::kOk, Instant{}};
  s_.Spawn("waiter", [&] { got = {f.Get(s_.After(4ms)).code(), s_.Now()}; });
  k_.RunFor(10ms);
  EXPECT_EQ(got, std::make_pair(ErrorCode::kTimeout, At(4ms)));
  p.SetValue(1);
}

TEST(PromiseDeathTest, SetTwiceAsserts) {
  // Proves a promise cannot be fulfilled twice: the second SetValue() is an assertion failure.
  EXPECT_DEATH(
      {
        sim::Kernel k(1);
        Promise<int> p(k.runtime());
        p.SetValue(1);
        p.SetValue(2);
      },
      "promise set twice");
}

}  // namespace
}  // namespace apogee::io
