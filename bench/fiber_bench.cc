// Fiber and simulator-kernel benchmarks. Items are the unit each target is stated in:
// context switches, scheduler events, delivered messages.

#include <benchmark/benchmark.h>

#include <boost/context/detail/fcontext.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>

#include "core/io/fiber.h"
#include "core/io/runtime.h"
#include "sim/kernel.h"

namespace apogee {
namespace {

namespace bctx = boost::context::detail;

// Boost's own fcontext switch, the baseline BM_FiberSwitch is compared against: a ping-pong
// between the benchmark loop and a context; each iteration is two switches (there and back).
void BM_FcontextSwitch(benchmark::State& state) {
  boost::context::protected_fixedsize_stack alloc(64 * 1024);
  boost::context::stack_context stack = alloc.allocate();
  auto entry = [](bctx::transfer_t t) {
    for (;;) t = bctx::jump_fcontext(t.fctx, nullptr);
  };
  bctx::fcontext_t ctx = bctx::make_fcontext(stack.sp, stack.size, entry);
  for (auto _ : state) {
    ctx = bctx::jump_fcontext(ctx, nullptr).fctx;
  }
  state.SetItemsProcessed(state.iterations() * 2);  // items = switches
  state.counters["ns_per_switch"] =
      benchmark::Counter(static_cast<double>(state.iterations() * 2),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  // The context is parked inside its loop for ever; its stack is simply released.
  alloc.deallocate(stack);
}
BENCHMARK(BM_FcontextSwitch);

// Our io::Context (fcontext plus the runtime's bookkeeping and, in ASan builds, the sanitizer
// annotations): the same ping-pong, so the two are directly comparable.
void BM_FiberSwitch(benchmark::State& state) {
  io::StackPool pool;
  struct Ping {
    io::Context* self = nullptr;
    bool stop = false;
  } ping;
  io::Context ctx(
      pool,
      [](void* arg) {
        auto* p = static_cast<Ping*>(arg);
        while (!p->stop) p->self->Suspend();
      },
      &ping);
  ping.self = &ctx;
  for (auto _ : state) ctx.Resume();
  ping.stop = true;
  ctx.Resume();  // lets the context finish so it can be destroyed
  state.SetItemsProcessed(state.iterations() * 2);  // items = switches
  state.counters["ns_per_switch"] =
      benchmark::Counter(static_cast<double>(state.iterations() * 2),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_FiberSwitch);

// The simulator's scheduler: `range(0)` fibers each sleep 1 us in a loop, so every iteration of
// a fiber is one timer event firing plus one fiber resume. Items = those scheduler events.
void BM_SimEvents(benchmark::State& state) {
  const int fibers = static_cast<int>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    sim::Kernel kernel(42);
    io::Runtime& rt = kernel.runtime();
    io::Scheduler s(rt, rt.NewGroup("bench"));
    for (int i = 0; i < fibers; i++) {
      s.Spawn("sleeper", [&s] {
        for (int k = 0; k < 10000; k++) s.Sleep(std::chrono::microseconds(1));
      });
    }
    state.ResumeTiming();
    kernel.RunUntilQuiet();
    state.SetItemsProcessed(state.items_processed() +
                            static_cast<int64_t>(rt.events_fired() + rt.fiber_resumes()));
  }
}
BENCHMARK(BM_SimEvents)->Arg(1)->Arg(16)->Arg(256)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace apogee
