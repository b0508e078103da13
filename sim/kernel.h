#pragma once

// The simulator's kernel: one OS thread, virtual time that jumps to the next event, events in
// (time, sequence) order, and a seeded choice among the fibers ready at the same instant, so a
// seed explores one schedule among many and replays it exactly. One root seed is split into
// independent named streams (the scheduler's, each node's, the network's, the disk's), so adding
// a stream does not disturb the others. Everything that could make two runs differ is folded
// into the trace.
//
// Invariants:
//   - Virtual time never goes back.
//   - Given the same seed and the same code, every run makes the same decisions in the same
//     order and ends with the same trace hash.

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "core/io/random.h"
#include "core/io/runtime.h"
#include "sim/trace.h"

namespace apogee::sim {

class Kernel;

// A named random stream whose every draw is folded into the trace.
class TracedRandom final : public io::Random {
 public:
  TracedRandom(uint64_t seed, uint32_t stream_id, Kernel* kernel)
      : rng_(seed), stream_id_(stream_id), kernel_(kernel) {}
  uint64_t Next() override;
  uint32_t stream_id() const { return stream_id_; }

 private:
  io::SeededRandom rng_;
  uint32_t stream_id_;
  Kernel* kernel_;
};

class Kernel final : public io::RuntimeHooks {
 public:
  explicit Kernel(uint64_t seed);
  // Unwinds every fiber first, while the kernel still answers the runtime's calls.
  ~Kernel() override;
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  io::Runtime& runtime() { return *runtime_; }
  uint64_t seed() const { return seed_; }
  Trace& trace() { return trace_; }

  // A new stream, seeded from the root seed and `purpose` alone: the same purpose gives the same
  // numbers whatever other streams exist. REQUIRES: each purpose is asked for once (two streams
  // of one purpose would draw the same numbers).
  std::unique_ptr<TracedRandom> NewStream(std::string_view purpose);

  // Runs until virtual time reaches `t` or the runtime is stopped. Events due at `t` fire, but
  // fibers they make ready run only in the next Run call. If nothing is left to run earlier,
  // time still advances to `t`.
  void RunUntil(Instant t);
  void RunFor(Duration d) { RunUntil(now_ + d); }
  // Runs until nothing is ready and no event is queued.
  void RunUntilQuiet();

  // Folds a step of the caller's into the trace (faults, scenario milestones).
  void Note(TraceKind kind, uint64_t a, uint64_t b) { trace_.Fold(kind, a, b, ToNanos(now_)); }
  uint64_t steps() const { return trace_.count(); }

  // io::RuntimeHooks
  Instant Now() override { return now_; }
  size_t PickReady(size_t ready_count) override;
  bool Idle(Deadline next_event) override;
  void OnResume(io::FiberId fiber, io::GroupId group) override;
  void OnEvent(uint64_t sequence) override;

 private:
  friend class TracedRandom;
  uint64_t seed_;
  Instant now_{};
  Trace trace_;
  io::SeededRandom schedule_rng_;
  uint32_t next_stream_id_ = 1;
  std::set<std::string, std::less<>> purposes_;
  std::unique_ptr<io::Runtime> runtime_;
};

// The kernel most recently built on this thread and still alive, or nullptr: what a crash
// handler reads to report how far a run got (trace hash, time, steps) before it died.
Kernel* CurrentKernel();

}  // namespace apogee::sim
