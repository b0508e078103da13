#pragma once

// The fiber runtime shared by both backends: fibers, the ready set, a queue of timed events and
// the loop that runs them. What differs between the simulator and the POSIX backend is behind
// RuntimeHooks: where time comes from, which ready fiber runs next, and how the loop waits when
// nothing is ready (epoll in production, a jump of virtual time in the simulator).
//
// Single-threaded: every method is called on the loop's thread. Fibers are cooperative: a fiber
// runs until it parks (waits on a primitive, sleeps, yields) or returns.
//
// Groups: every fiber belongs to a group, one per incarnation of a node. KillGroup() unwinds all
// fibers of a group: each one throws FiberKilled from the point where it waits, its destructors
// run, and it ends. PauseGroup() holds a group's fibers back until ResumeGroup().
//
// Invariants:
//   - A fiber is in exactly one of: ready (in ready_ or its group's held list), running, parked,
//     done. Only the running fiber executes code.
//   - Events fire in (time, sequence) order; an event never fires before its time.
//   - A fiber of a killed group never returns normally from Park(): it throws FiberKilled.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/time.h"
#include "core/io/fiber.h"

namespace apogee::io {

using GroupId = uint32_t;
using FiberId = uint64_t;

// Thrown from the wait point of a fiber whose group was killed; caught only by the runtime at
// the bottom of the fiber. Never catch it with catch (...) and never swallow it.
struct FiberKilled {};

enum class WakeReason : uint8_t { kNone, kNotified, kTimeout, kKilled };

class RuntimeHooks {
 public:
  virtual ~RuntimeHooks() = default;
  // The loop's current time (monotonic).
  virtual Instant Now() = 0;
  // Which of `ready_count` (>= 2) ready fibers runs next: 0 is the oldest. The simulator draws
  // it from the seed; production takes 0 (FIFO).
  virtual size_t PickReady(size_t ready_count) = 0;
  // Nothing is ready. Wait until `next_event` (if any) or until outside work arrives, and make
  // that work ready. Returns false when nothing can ever arrive: the loop then ends.
  virtual bool Idle(Deadline next_event) = 0;
  // Fibers are ready but outside work may be waiting too: take it without blocking.
  virtual void Poll() {}
  // Observes every fiber resume and event firing (the simulator folds them into its trace).
  virtual void OnResume(FiberId fiber, GroupId group) {
    (void)fiber;
    (void)group;
  }
  virtual void OnEvent(uint64_t sequence) { (void)sequence; }
};

struct Fiber;

// Shared state of a spawned fiber that outlives it, so a handle can be joined after the end.
struct FiberControl;

class FiberHandle {
 public:
  FiberHandle() = default;
  explicit FiberHandle(std::shared_ptr<FiberControl> control) : control_(std::move(control)) {}

  bool valid() const { return control_ != nullptr; }
  bool done() const;
  FiberId id() const;
  // Waits until the fiber has ended (returned or unwound). May yield.
  // Returns kNotified when it ended, kTimeout at the deadline, and kKilled at once (without
  // waiting) if the caller itself is being unwound by a kill.
  WakeReason Join(Deadline deadline = {});
  // Unwinds this fiber alone (see Runtime::Kill).
  void Kill();

 private:
  std::shared_ptr<FiberControl> control_;
};

struct EventId {
  uint32_t slot = 0;
  uint32_t generation = 0;  // 0 never names a live event
  bool valid() const { return generation != 0; }
};

class Runtime {
 public:
  explicit Runtime(RuntimeHooks* hooks, size_t stack_bytes = kFiberStackBytes);
  // Kills every group and runs the loop until all fibers have unwound.
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // --- Groups ---
  GroupId NewGroup(std::string name);
  const std::string& GroupName(GroupId group) const;
  // Groups handed out so far plus the loop's group 0: ids are 0 .. group_count() - 1.
  size_t group_count() const { return groups_.size(); }
  // Every fiber of the group throws FiberKilled from its wait point as soon as it runs again;
  // fibers spawned into a killed group never start. Does not wait for the unwinding.
  void KillGroup(GroupId group);
  bool GroupKilled(GroupId group) const;
  void PauseGroup(GroupId group);
  void ResumeGroup(GroupId group);
  bool GroupPaused(GroupId group) const;
  size_t LiveFibers(GroupId group) const;

  // --- Fibers ---
  FiberHandle Spawn(GroupId group, std::string name, std::function<void()> fn);
  // Unwinds one fiber, as KillGroup does for a group.
  void Kill(FiberId fiber);
  // The running fiber, or nullptr on the loop itself.
  Fiber* Current() const { return current_; }
  FiberId CurrentId() const;
  GroupId CurrentGroup() const;
  std::string_view CurrentName() const;

  // Parks the running fiber until Wake() or the deadline. Returns why it woke.
  // Throws FiberKilled if the fiber's group is killed (unless it is already unwinding, or its
  // function has ended and its captured state is being destroyed: then it returns kKilled at once
  // so destructors may still call blocking code safely).
  WakeReason Park(Deadline deadline = {});
  // Makes a parked fiber ready. No effect on a fiber that is not parked.
  void Wake(Fiber* fiber, WakeReason reason);
  // Lets every other fiber that is ready now run first (the simulator still picks their order).
  // May yield.
  void Yield();
  void SleepUntil(Instant when);

  // --- Events ---
  // Runs `fn` on the loop at `when` (or at once, in order, if `when` has passed). `fn` must not
  // park: it runs on the loop, not on a fiber.
  EventId At(Instant when, std::function<void()> fn);
  // Cancels a pending event; no effect if it already fired or was cancelled.
  void Cancel(EventId id);

  Instant Now() const { return hooks_->Now(); }

  // --- Loop ---
  // Runs until Stop() or until nothing is ready, no event is queued and the hooks say no work
  // can arrive. REQUIRES: not called from a fiber.
  void Run();
  // Ends Run() after the current step.
  void Stop() { stop_ = true; }

  uint64_t fiber_resumes() const { return fiber_resumes_; }
  uint64_t events_fired() const { return events_fired_; }
  size_t pending_events() const { return heap_.size(); }
  size_t ready_count() const { return ready_.size(); }
  size_t live_fibers() const { return fibers_.size(); }

 private:
  struct Group {
    std::string name;
    bool killed = false;
    bool paused = false;
    size_t live = 0;
    std::vector<Fiber*> held;  // ready while paused, in the order they became ready
  };
  struct HeapEntry {
    Instant when;
    uint64_t sequence;
    uint32_t slot;
    uint32_t generation;
  };
  struct Slot {
    uint32_t generation = 1;
    bool pending = false;
    std::function<void()> fn;
  };

  static void FiberMain(void* arg);
  void MakeReady(Fiber* fiber);
  void RunOne();
  size_t PickHonouringYields();
  // The ready killed fiber spawned last, if any is ready.
  std::optional<size_t> PickYoungestKilled() const;
  void Reap(Fiber* fiber);
  bool FireDue(Instant now);
  Deadline NextEventTime();
  void ThrowIfKilled();
  Group& GroupOf(GroupId group);
  const Group& GroupOf(GroupId group) const;

  RuntimeHooks* hooks_;
  StackPool stacks_;
  std::vector<Group> groups_;
  std::map<FiberId, std::unique_ptr<Fiber>> fibers_;  // by id: kills visit in spawn order
  std::deque<Fiber*> ready_;
  Fiber* current_ = nullptr;
  FiberId next_fiber_id_ = 1;
  uint64_t next_ready_stamp_ = 1;
  size_t yielders_ = 0;           // fibers that yielded and have not run since
  size_t unwinding_groups_ = 0;   // killed groups that still have live fibers
  std::vector<size_t> eligible_;  // scratch for PickHonouringYields()
  std::vector<HeapEntry> heap_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  uint64_t next_sequence_ = 0;
  bool stop_ = false;
  uint64_t fiber_resumes_ = 0;
  uint64_t events_fired_ = 0;
};

// The per-node view of the runtime handed to code through Env: everything it spawns belongs to
// the node's group, so killing the node unwinds exactly its fibers.
class Scheduler {
 public:
  Scheduler(Runtime& runtime, GroupId group) : runtime_(&runtime), group_(group) {}

  FiberHandle Spawn(std::string name, std::function<void()> fn) {
    return runtime_->Spawn(group_, std::move(name), std::move(fn));
  }
  // May yield.
  void Sleep(Duration d) { runtime_->SleepUntil(runtime_->Now() + d); }
  // May yield.
  void SleepUntil(Instant when) { runtime_->SleepUntil(when); }
  // May yield.
  void Yield() { runtime_->Yield(); }
  Instant Now() const { return runtime_->Now(); }
  Deadline After(Duration d) const { return SaturatingAdd(runtime_->Now(), d); }

  Runtime& runtime() const { return *runtime_; }
  GroupId group() const { return group_; }

 private:
  Runtime* runtime_;
  GroupId group_;
};

}  // namespace apogee::io
