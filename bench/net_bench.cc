// Network benchmarks: messages through the simulated network, and a real TCP round trip over
// loopback through the POSIX backend.

#include <benchmark/benchmark.h>

#include <filesystem>

#include "core/io/posix/posix_env.h"
#include "sim/world.h"

namespace apogee {
namespace {

using namespace std::chrono_literals;

// Ping-pong of 64-byte messages between two simulated hosts over `range(0)` connections at
// once. Every message needs its own delivery event and wakes a fiber, so this is the rate at
// which the simulator moves small RPCs. Items = messages delivered.
void BM_SimNetMessages(benchmark::State& state) {
  const int connections = static_cast<int>(state.range(0));
  constexpr int kRoundTrips = 2000;
  for (auto _ : state) {
    state.PauseTiming();
    auto world = std::make_unique<sim::World>(42);
    uint64_t delivered = 0;
    world->AddNode(sim::NodeSpec{"server", "10.0.0.1", [](io::Env& env) {
                                   auto listener = env.network.Listen(io::Address{"", 80});
                                   for (;;) {
                                     auto conn = (*listener)->Accept();
                                     if (!conn.ok()) return;
                                     std::shared_ptr<io::Connection> c = std::move(*conn);
                                     env.scheduler.Spawn("echo", [c] {
                                       uint8_t buf[64];
                                       while (c->ReadFull(buf).ok()) {
                                         if (!c->Write(buf).ok()) return;
                                       }
                                     });
                                   }
                                 }});
    world->AddNode(
        sim::NodeSpec{"client", "10.0.0.2", [&](io::Env& env) {
                        for (int i = 0; i < connections; i++) {
                          env.scheduler.Spawn("ping", [&env, &delivered] {
                            auto conn = env.network.Connect(io::Address{"10.0.0.1", 80}, 1s);
                            if (!conn.ok()) return;
                            uint8_t buf[64] = {1};
                            for (int k = 0; k < kRoundTrips; k++) {
                              if (!(*conn)->Write(buf).ok()) return;
                              if (!(*conn)->ReadFull(buf).ok()) return;
                              delivered += 2;
                            }
                          });
                        }
                      }});
    world->Start(0);
    world->Start(1);
    state.ResumeTiming();
    world->RunFor(3600s);
    state.PauseTiming();
    world.reset();
    state.ResumeTiming();
    state.SetItemsProcessed(state.items_processed() + static_cast<int64_t>(delivered));
  }
}
BENCHMARK(BM_SimNetMessages)->Arg(1)->Arg(64)->Unit(benchmark::kMillisecond);

// One 64-byte request and its echo over real loopback TCP, both ends fibers on one POSIX
// runtime (epoll reactor). Items = round trips.
void BM_PosixEchoRoundTrip(benchmark::State& state) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "apogee-bench-echo";
  std::filesystem::create_directories(dir);
  io::PosixEnv posix("bench", dir.string());
  io::Env& env = posix.env();
  env.scheduler.Spawn("bench", [&] {
    auto listener = env.network.Listen(io::Address{"127.0.0.1", 0});
    if (!listener.ok()) {
      state.SkipWithError(listener.status().ToString().c_str());
      return;
    }
    io::FiberHandle server = env.scheduler.Spawn("echo", [&] {
      auto conn = (*listener)->Accept();
      if (!conn.ok()) return;
      uint8_t buf[64];
      while ((*conn)->ReadFull(buf).ok()) {
        if (!(*conn)->Write(buf).ok()) return;
      }
    });
    auto conn = env.network.Connect((*listener)->LocalAddress(), 5s);
    if (!conn.ok()) {
      state.SkipWithError(conn.status().ToString().c_str());
      return;
    }
    uint8_t buf[64] = {7};
    for (auto _ : state) {
      if (!(*conn)->Write(buf).ok() || !(*conn)->ReadFull(buf).ok()) {
        state.SkipWithError("echo failed");
        break;
      }
    }
    state.SetItemsProcessed(state.iterations());
    (*conn)->Close();
    server.Join();
  });
  posix.Run();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_PosixEchoRoundTrip)->UseRealTime();

}  // namespace
}  // namespace apogee
