// Property: a simulated run is a pure function of its seed. Random programs of fibers, timers,
// primitives, random draws and network traffic across several nodes, with crashes and
// partitions, give the same trace hash every time they run with the same seed.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <memory>
#include <set>

#include "core/io/sync.h"
#include "sim/world.h"

namespace apogee::sim {
namespace {

using namespace std::chrono_literals;

enum class Op : uint8_t { kSleep, kYield, kDraw, kSend, kLock, kSpawn };

struct Program {
  uint32_t nodes = 2;
  std::vector<std::vector<std::pair<Op, uint32_t>>> fibers;  // per fiber: (op, argument)
  std::vector<std::pair<uint32_t, uint32_t>> faults;         // (time ms, node) crash+restart
};

rc::Gen<Program> GenProgram() {
  return rc::gen::exec([] {
    Program p;
    p.nodes = *rc::gen::inRange<uint32_t>(2, 5);
    uint32_t fibers = *rc::gen::inRange<uint32_t>(1, 6);
    for (uint32_t f = 0; f < fibers; f++) {
      p.fibers.push_back(*rc::gen::container<std::vector<std::pair<Op, uint32_t>>>(
          *rc::gen::inRange<size_t>(1, 30),
          rc::gen::pair(
              rc::gen::element(Op::kSleep, Op::kYield, Op::kDraw, Op::kSend, Op::kLock, Op::kSpawn),
              rc::gen::inRange<uint32_t>(0, 50))));
    }
    p.faults = *rc::gen::container<std::vector<std::pair<uint32_t, uint32_t>>>(
        *rc::gen::inRange<size_t>(0, 4),
        rc::gen::pair(rc::gen::inRange<uint32_t>(1, 500), rc::gen::inRange<uint32_t>(0, 4)));
    return p;
  });
}

// Every node listens and counts what it receives; each fiber of a node runs the program's op
// list in a loop, sending to the next node over a connection it (re)opens as needed.
void NodeMain(io::Env& env, const Program& p, uint32_t index) {
  auto listener = env.network.Listen(io::Address{"", 9000});
  if (!listener.ok()) return;
  std::shared_ptr<io::Listener> l = std::move(listener).value();
  auto mu = std::make_shared<io::Mutex>(env.scheduler.runtime());
  env.scheduler.Spawn("accept", [&env, l] {
    for (;;) {
      auto conn = l->Accept();
      if (!conn.ok()) return;
      std::shared_ptr<io::Connection> c = std::move(conn).value();
      env.scheduler.Spawn("drain", [c] {
        uint8_t buf[64];
        while (true) {
          auto n = c->Read(buf);
          if (!n.ok() || *n == 0) return;
        }
      });
    }
  });
  std::string peer = fmt::format("10.0.0.{}", (index + 1) % p.nodes + 1);
  for (const auto& ops : p.fibers) {
    env.scheduler.Spawn("worker", [&env, ops, peer, mu] {
      std::unique_ptr<io::Connection> conn;
      for (int round = 0; round < 5; round++) {
        for (auto [op, arg] : ops) {
          switch (op) {
            case Op::kSleep:
              env.scheduler.Sleep(std::chrono::milliseconds(arg));
              break;
            case Op::kYield:
              env.scheduler.Yield();
              break;
            case Op::kDraw:
              (void)env.random.Uniform(arg + 1);
              break;
            case Op::kSend: {
              if (conn == nullptr) {
                auto c = env.network.Connect(io::Address{peer, 9000}, 100ms);
                if (!c.ok()) break;
                conn = std::move(c).value();
              }
              std::vector<uint8_t> data(arg + 1, static_cast<uint8_t>(arg));
              if (!conn->Write(data).ok()) conn.reset();
              break;
            }
            case Op::kLock: {
              io::MutexLock lock(*mu);
              if (lock.ok()) env.scheduler.Sleep(std::chrono::microseconds(arg));
              break;
            }
            case Op::kSpawn:
              env.scheduler.Spawn(
                  "child", [&env, arg] { env.scheduler.Sleep(std::chrono::milliseconds(arg)); });
              break;
          }
        }
      }
    });
  }
}

std::pair<uint64_t, uint64_t> RunProgram(const Program& p, uint64_t seed) {
  World world(seed);
  for (uint32_t i = 0; i < p.nodes; i++) {
    world.AddNode(NodeSpec{fmt::format("n{}", i + 1), fmt::format("10.0.0.{}", i + 1),
                           [&p, i](io::Env& env) { NodeMain(env, p, i); }});
    world.Start(i);
  }
  world.SpawnController("faults", [&] {
    uint32_t last_ms = 0;
    for (auto [at_ms, node] : p.faults) {
      uint32_t n = node % p.nodes;
      if (at_ms > last_ms) world.controller().Sleep(std::chrono::milliseconds(at_ms - last_ms));
      last_ms = std::max(last_ms, at_ms);
      if (world.state(n) != NodeState::kUp) continue;
      world.Crash(n, static_cast<CrashMode>(at_ms % 3));
      world.network().Partition(world.host(n), world.host((n + 1) % p.nodes));
      world.controller().Sleep(10ms);
      world.network().HealAll();
      world.Start(n);
    }
  });
  world.RunFor(3s);
  return {world.kernel().trace().hash(), world.kernel().steps()};
}

RC_GTEST_PROP(DeterminismProp, SameSeedSameTraceHash, ()) {
  // Proves any program of fibers, timers, primitives, draws and network traffic, with crashes
  // and partitions, runs identically twice under one seed.
  Program p = *GenProgram();
  uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  auto first = RunProgram(p, seed);
  auto second = RunProgram(p, seed);
  RC_ASSERT(first.first == second.first);
  RC_ASSERT(first.second == second.second);
  RC_ASSERT(first.second > 0u);
}

}  // namespace
}  // namespace apogee::sim

namespace apogee::sim {
namespace {

TEST(DeterminismTest, SeedsSteerNetworkPrograms) {
  // Proves the seed really steers a run: one fixed program that sends data across nodes gives
  // different traces under different seeds (latencies, chunking and schedules are drawn), so
  // the property above is not passing because nothing depends on the seed.
  Program p;
  p.nodes = 3;
  p.fibers = {{{Op::kSend, 10}, {Op::kSleep, 3}, {Op::kSend, 40}},
              {{Op::kDraw, 7}, {Op::kSend, 5}, {Op::kYield, 0}}};
  std::set<uint64_t> hashes;
  for (uint64_t seed = 1; seed <= 5; seed++) {
    auto [hash, steps] = RunProgram(p, seed);
    EXPECT_GT(steps, 100u);
    hashes.insert(hash);
  }
  EXPECT_EQ(hashes.size(), 5u);
}

}  // namespace
}  // namespace apogee::sim
