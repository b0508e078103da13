#include "core/io/runtime.h"

#include <algorithm>
#include <exception>

#include "core/base/assert.h"
#include "core/io/wait_queue.h"

namespace apogee::io {

struct FiberControl {
  explicit FiberControl(Runtime& rt) : runtime(&rt), joiners(rt) {}
  Runtime* runtime;
  FiberId id = 0;
  bool done = false;
  WaitQueue joiners;
};

struct Fiber {
  FiberId id = 0;
  GroupId group = 0;
  std::string name;
  std::function<void()> fn;
  std::unique_ptr<Context> context;
  std::shared_ptr<FiberControl> control;
  Runtime* runtime = nullptr;
  enum class State : uint8_t { kReady, kRunning, kParked, kDone } state = State::kReady;
  bool killed = false;
  // Its function has returned or unwound: a kill can no longer be thrown, only reported, since
  // what runs now (destructors of captured state) may not throw.
  bool epilogue = false;
  // FiberKilled has been thrown on this fiber and is unwinding it: the destructors that run now
  // must not get a second one. Kept per fiber: std::uncaught_exceptions() counts the whole
  // thread, so an exception in flight on the loop's own stack (a test failing while its world is
  // torn down) or on another fiber would wrongly stop a kill from being thrown.
  bool unwinding = false;
  // It called Yield() and has not run since: it waits for every fiber that was ready before it.
  bool yielded = false;
  uint64_t ready_stamp = 0;  // when it last became ready; smaller is older
  WakeReason wake = WakeReason::kNone;
};

bool FiberHandle::done() const {
  APOGEE_ASSERT(valid());
  return control_->done;
}

FiberId FiberHandle::id() const {
  APOGEE_ASSERT(valid());
  return control_->id;
}

WakeReason FiberHandle::Join(Deadline deadline) {
  APOGEE_ASSERT(valid());
  // Keep the control block alive while waiting even if the handle is moved from.
  std::shared_ptr<FiberControl> control = control_;
  while (!control->done) {
    WakeReason r = control->joiners.Wait(deadline);
    if (control->done) break;
    // kKilled: the caller is being unwound and may not block; waiting again would spin.
    if (r == WakeReason::kTimeout || r == WakeReason::kKilled) return r;
  }
  return WakeReason::kNotified;
}

void FiberHandle::Kill() {
  APOGEE_ASSERT(valid());
  if (!control_->done) control_->runtime->Kill(control_->id);
}

Runtime::Runtime(RuntimeHooks* hooks, size_t stack_bytes) : hooks_(hooks), stacks_(stack_bytes) {
  APOGEE_ASSERT(hooks != nullptr);
  groups_.emplace_back();
  groups_.back().name = "loop";  // group 0: never handed out, names the loop
}

Runtime::~Runtime() {
  APOGEE_ASSERT(current_ == nullptr, "runtime destroyed from a fiber");
  for (GroupId g = 1; g < groups_.size(); g++) KillGroup(g);
  for (auto& [id, fiber] : fibers_) {
    if (fiber->state == Fiber::State::kParked) Wake(fiber.get(), WakeReason::kKilled);
  }
  for (Group& group : groups_) group.paused = false;
  // Let every fiber unwind; events are dropped, they may only wake fibers that are gone.
  while (!ready_.empty() || std::any_of(groups_.begin(), groups_.end(),
                                        [](const Group& g) { return !g.held.empty(); })) {
    for (Group& group : groups_) {
      for (Fiber* f : group.held) ready_.push_back(f);
      group.held.clear();
    }
    while (!ready_.empty()) RunOne();
  }
  APOGEE_ASSERT(fibers_.empty(), "{} fibers did not unwind", fibers_.size());
}

Runtime::Group& Runtime::GroupOf(GroupId group) {
  APOGEE_ASSERT(group > 0 && group < groups_.size(), "unknown group {}", group);
  return groups_[group];
}

const Runtime::Group& Runtime::GroupOf(GroupId group) const {
  APOGEE_ASSERT(group > 0 && group < groups_.size(), "unknown group {}", group);
  return groups_[group];
}

GroupId Runtime::NewGroup(std::string name) {
  groups_.emplace_back();
  groups_.back().name = std::move(name);
  return static_cast<GroupId>(groups_.size() - 1);
}

const std::string& Runtime::GroupName(GroupId group) const {
  APOGEE_ASSERT(group < groups_.size());
  return groups_[group].name;
}

void Runtime::KillGroup(GroupId group) {
  Group& g = GroupOf(group);
  if (!g.killed && g.live > 0) unwinding_groups_++;
  g.killed = true;
  for (auto& [id, fiber] : fibers_) {
    if (fiber->group != group || fiber->killed) continue;
    fiber->killed = true;
    if (fiber->state == Fiber::State::kParked) Wake(fiber.get(), WakeReason::kKilled);
  }
  // A killed node's fibers unwind even if it was paused: the process is gone.
  if (g.paused) ResumeGroup(group);
}

bool Runtime::GroupKilled(GroupId group) const { return GroupOf(group).killed; }

void Runtime::PauseGroup(GroupId group) {
  Group& g = GroupOf(group);
  if (g.killed) return;
  g.paused = true;
}

void Runtime::ResumeGroup(GroupId group) {
  Group& g = GroupOf(group);
  if (!g.paused) return;
  g.paused = false;
  for (Fiber* f : g.held) ready_.push_back(f);
  g.held.clear();
}

bool Runtime::GroupPaused(GroupId group) const { return GroupOf(group).paused; }
size_t Runtime::LiveFibers(GroupId group) const { return GroupOf(group).live; }

FiberHandle Runtime::Spawn(GroupId group, std::string name, std::function<void()> fn) {
  Group& g = GroupOf(group);
  auto fiber = std::make_unique<Fiber>();
  fiber->id = next_fiber_id_++;
  fiber->group = group;
  fiber->name = std::move(name);
  fiber->fn = std::move(fn);
  fiber->runtime = this;
  fiber->killed = g.killed;
  fiber->control = std::make_shared<FiberControl>(*this);
  fiber->control->id = fiber->id;
  fiber->context = std::make_unique<Context>(stacks_, &Runtime::FiberMain, fiber.get());
  FiberHandle handle(fiber->control);
  Fiber* raw = fiber.get();
  fibers_.emplace(raw->id, std::move(fiber));
  if (g.killed && g.live == 0) unwinding_groups_++;
  g.live++;
  MakeReady(raw);
  return handle;
}

void Runtime::Kill(FiberId id) {
  auto it = fibers_.find(id);
  if (it == fibers_.end()) return;
  Fiber* fiber = it->second.get();
  fiber->killed = true;
  if (fiber->state == Fiber::State::kParked) Wake(fiber, WakeReason::kKilled);
  // A fiber that kills itself unwinds at once.
  if (fiber == current_) ThrowIfKilled();
}

FiberId Runtime::CurrentId() const { return current_ == nullptr ? 0 : current_->id; }
GroupId Runtime::CurrentGroup() const { return current_ == nullptr ? 0 : current_->group; }
std::string_view Runtime::CurrentName() const {
  return current_ == nullptr ? std::string_view("loop") : std::string_view(current_->name);
}

void Runtime::FiberMain(void* arg) {
  auto* fiber = static_cast<Fiber*>(arg);
  if (!fiber->killed) {
    try {
      fiber->fn();
    } catch (const FiberKilled&) {
      // The fiber's group was killed: its stack has unwound and its destructors ran.
    }
  }
  // Drop captured state while still on this stack, so its destructors run inside the fiber.
  fiber->epilogue = true;
  fiber->fn = nullptr;
  fiber->state = Fiber::State::kDone;
}

void Runtime::ThrowIfKilled() {
  APOGEE_ASSERT(current_ != nullptr);
  if (current_->killed && !current_->epilogue && !current_->unwinding) {
    current_->unwinding = true;
    throw FiberKilled{};
  }
}

WakeReason Runtime::Park(Deadline deadline) {
  Fiber* self = current_;
  APOGEE_ASSERT(self != nullptr, "Park() outside a fiber");
  if (self->killed) {
    ThrowIfKilled();
    return WakeReason::kKilled;  // already unwinding: do not block a destructor
  }
  EventId timer;
  if (deadline.has_value()) {
    timer = At(*deadline, [this, self] { Wake(self, WakeReason::kTimeout); });
  }
  self->state = Fiber::State::kParked;
  self->wake = WakeReason::kNone;
  self->context->Suspend();
  APOGEE_ASSERT(current_ == self);
  APOGEE_ASSERT(self->state == Fiber::State::kRunning);
  if (timer.valid()) Cancel(timer);
  ThrowIfKilled();
  return self->killed ? WakeReason::kKilled : self->wake;
}

void Runtime::Wake(Fiber* fiber, WakeReason reason) {
  APOGEE_ASSERT(fiber != nullptr);
  if (fiber->state != Fiber::State::kParked) return;
  fiber->wake = reason;
  MakeReady(fiber);
}

void Runtime::MakeReady(Fiber* fiber) {
  fiber->state = Fiber::State::kReady;
  fiber->ready_stamp = next_ready_stamp_++;
  Group& g = groups_[fiber->group];
  if (g.paused) {
    g.held.push_back(fiber);
    return;
  }
  ready_.push_back(fiber);
}

void Runtime::Yield() {
  Fiber* self = current_;
  APOGEE_ASSERT(self != nullptr, "Yield() outside a fiber");
  ThrowIfKilled();
  if (!self->yielded) yielders_++;
  self->yielded = true;
  MakeReady(self);
  self->context->Suspend();
  APOGEE_ASSERT(current_ == self);
  ThrowIfKilled();
}

void Runtime::SleepUntil(Instant when) {
  while (Now() < when) {
    WakeReason r = Park(when);
    if (r == WakeReason::kKilled) return;
  }
}

EventId Runtime::At(Instant when, std::function<void()> fn) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  APOGEE_ASSERT(!s.pending);
  s.pending = true;
  s.fn = std::move(fn);
  heap_.push_back(HeapEntry{when, next_sequence_++, slot, s.generation});
  std::push_heap(heap_.begin(), heap_.end(), [](const HeapEntry& a, const HeapEntry& b) {
    if (a.when != b.when) return a.when > b.when;
    return a.sequence > b.sequence;
  });
  return EventId{slot, s.generation};
}

void Runtime::Cancel(EventId id) {
  if (!id.valid() || id.slot >= slots_.size()) return;
  Slot& s = slots_[id.slot];
  if (s.generation != id.generation || !s.pending) return;
  // The heap entry stays until it surfaces; the bumped generation marks it stale. The slot is
  // recycled only then, so a stale entry can never match a new event.
  s.pending = false;
  s.fn = nullptr;
}

bool Runtime::FireDue(Instant now) {
  auto later = [](const HeapEntry& a, const HeapEntry& b) {
    if (a.when != b.when) return a.when > b.when;
    return a.sequence > b.sequence;
  };
  bool fired = false;
  while (!heap_.empty() && heap_.front().when <= now) {
    HeapEntry top = heap_.front();
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
    Slot& s = slots_[top.slot];
    APOGEE_ASSERT(s.generation == top.generation);
    bool live = s.pending;
    std::function<void()> fn = std::move(s.fn);
    s.fn = nullptr;
    s.pending = false;
    s.generation = s.generation == UINT32_MAX ? 1 : s.generation + 1;
    free_slots_.push_back(top.slot);
    if (!live) continue;
    events_fired_++;
    hooks_->OnEvent(top.sequence);
    fn();
    fired = true;
  }
  return fired;
}

Deadline Runtime::NextEventTime() {
  auto later = [](const HeapEntry& a, const HeapEntry& b) {
    if (a.when != b.when) return a.when > b.when;
    return a.sequence > b.sequence;
  };
  // Drop cancelled entries so an idle wait is not cut short by an event that will not fire.
  while (!heap_.empty() && !slots_[heap_.front().slot].pending) {
    HeapEntry top = heap_.front();
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
    Slot& s = slots_[top.slot];
    s.generation = s.generation == UINT32_MAX ? 1 : s.generation + 1;
    free_slots_.push_back(top.slot);
  }
  if (heap_.empty()) return std::nullopt;
  return heap_.front().when;
}

void Runtime::RunOne() {
  APOGEE_ASSERT(!ready_.empty());
  size_t pick = 0;
  std::optional<size_t> killed = unwinding_groups_ > 0 ? PickYoungestKilled() : std::nullopt;
  if (killed.has_value()) {
    pick = *killed;
  } else if (yielders_ > 0) {
    pick = PickHonouringYields();
  } else if (ready_.size() > 1) {
    pick = hooks_->PickReady(ready_.size());
  }
  APOGEE_ASSERT(pick < ready_.size());
  if (pick != 0) std::swap(ready_[0], ready_[pick]);
  Fiber* fiber = ready_.front();
  ready_.pop_front();
  Group& g = groups_[fiber->group];
  if (g.paused) {
    g.held.push_back(fiber);
    return;
  }
  APOGEE_ASSERT(fiber->state == Fiber::State::kReady);
  if (fiber->yielded) {
    APOGEE_ASSERT(yielders_ > 0);
    yielders_--;
    fiber->yielded = false;
  }
  fiber->state = Fiber::State::kRunning;
  current_ = fiber;
  DiagContext& diag = CurrentDiag();
  std::string_view loop_node = diag.node;
  diag.node = g.name;
  fiber_resumes_++;
  hooks_->OnResume(fiber->id, fiber->group);
  fiber->context->Resume();
  diag.node = loop_node;
  current_ = nullptr;
  if (fiber->state == Fiber::State::kDone) Reap(fiber);
}

std::optional<size_t> Runtime::PickYoungestKilled() const {
  // A killed node unwinds youngest fiber first, before anything else runs, as a stack unwinds:
  // a fiber's objects are usually used by fibers it spawned later, which are gone by the time
  // its own destructors run (a consumer's pull loops before the consumer that owns their state).
  std::optional<size_t> pick;
  for (size_t i = 0; i < ready_.size(); i++) {
    if (!ready_[i]->killed) continue;
    if (!pick.has_value() || ready_[i]->id > ready_[*pick]->id) pick = i;
  }
  return pick;
}

size_t Runtime::PickHonouringYields() {
  // Yield() promises that every fiber ready before the yield runs first, whatever order the
  // hooks pick in. So a fiber that yielded is eligible only once it is the oldest ready fiber;
  // every other fiber stays eligible, and the hooks choose among the eligible ones.
  uint64_t oldest = UINT64_MAX;
  for (const Fiber* f : ready_) oldest = std::min(oldest, f->ready_stamp);
  eligible_.clear();
  for (size_t i = 0; i < ready_.size(); i++) {
    if (!ready_[i]->yielded || ready_[i]->ready_stamp == oldest) eligible_.push_back(i);
  }
  APOGEE_ASSERT(!eligible_.empty());  // the oldest fiber always is
  return eligible_.size() > 1 ? eligible_[hooks_->PickReady(eligible_.size())] : eligible_[0];
}

void Runtime::Reap(Fiber* fiber) {
  std::shared_ptr<FiberControl> control = fiber->control;
  Group& g = groups_[fiber->group];
  APOGEE_ASSERT(g.live > 0);
  g.live--;
  if (g.killed && g.live == 0) {
    APOGEE_ASSERT(unwinding_groups_ > 0);
    unwinding_groups_--;
  }
  fibers_.erase(fiber->id);  // frees the stack
  control->done = true;
  control->joiners.NotifyAll();
}

void Runtime::Run() {
  APOGEE_ASSERT(current_ == nullptr, "Run() from a fiber");
  stop_ = false;
  uint32_t since_poll = 0;
  while (!stop_) {
    FireDue(hooks_->Now());
    if (stop_) break;
    if (!ready_.empty()) {
      RunOne();
      if (++since_poll >= 64) {
        since_poll = 0;
        hooks_->Poll();
      }
      continue;
    }
    if (stop_) break;
    if (!hooks_->Idle(NextEventTime())) break;
  }
}

// --- WaitQueue ---

WaitQueue::~WaitQueue() { APOGEE_ASSERT(head_ == nullptr, "WaitQueue destroyed with waiters"); }

void WaitQueue::Link(Waiter* w) {
  w->prev = tail_;
  w->next = nullptr;
  if (tail_ != nullptr)
    tail_->next = w;
  else
    head_ = w;
  tail_ = w;
  w->linked = true;
}

void WaitQueue::Unlink(Waiter* w) {
  if (!w->linked) return;
  if (w->prev != nullptr)
    w->prev->next = w->next;
  else
    head_ = w->next;
  if (w->next != nullptr)
    w->next->prev = w->prev;
  else
    tail_ = w->prev;
  w->prev = w->next = nullptr;
  w->linked = false;
}

WakeReason WaitQueue::Wait(Deadline deadline) {
  Waiter w;
  w.fiber = runtime_->Current();
  APOGEE_ASSERT(w.fiber != nullptr, "WaitQueue::Wait outside a fiber");
  Link(&w);
  struct Guard {
    WaitQueue* q;
    Waiter* w;
    ~Guard() { q->Unlink(w); }
  } guard{this, &w};
  for (;;) {
    WakeReason r = runtime_->Park(deadline);
    if (w.notified) return WakeReason::kNotified;
    if (r == WakeReason::kTimeout || r == WakeReason::kKilled) return r;
    // Woken by someone else's Wake() without a notification of ours: keep waiting.
  }
}

Fiber* WaitQueue::NotifyOne() {
  Waiter* w = head_;
  if (w == nullptr) return nullptr;
  Unlink(w);
  w->notified = true;
  runtime_->Wake(w->fiber, WakeReason::kNotified);
  return w->fiber;
}

size_t WaitQueue::NotifyAll() {
  size_t n = 0;
  while (NotifyOne() != nullptr) n++;
  return n;
}

}  // namespace apogee::io
