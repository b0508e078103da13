#pragma once

// World: a simulated cluster in one process. Each node is a machine (a host address, a disk
// that outlives crashes, a wall clock) running one process at a time (an incarnation: a fiber
// group with its own Env). Faults act on machines and processes:
//   Crash(node, mode)  the process dies: its fibers unwind (destructors run), its connections
//                      reset, its disk drops, keeps or tears what was not synced;
//   Start(node)        a new incarnation runs the node's main from the durable disk;
//   Pause / Resume     the process stops running (timers fire late, data queues), then goes on;
//   clock faults       the machine's wall clock jumps or drifts;
// and the network and disk of each machine take their own faults (SimNetwork, SimMachineDisk).
// Every fault is folded into the trace, so a replay confirms it happened at the same step.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/io/env.h"
#include "sim/kernel.h"
#include "sim/sim_buggify.h"
#include "sim/sim_clock.h"
#include "sim/sim_disk.h"
#include "sim/sim_network.h"
#include "sim/timeline.h"

namespace apogee::sim {

using NodeId = uint32_t;
using NodeMain = std::function<void(io::Env& env)>;

// Fault kinds as folded into the trace (TraceKind::kFault, a = kind).
enum class FaultKind : uint8_t {
  kCrash = 1,
  kStart = 2,
  kPause = 3,
  kResume = 4,
  kClockJump = 5,
  kClockDrift = 6,
  kPartition = 7,
  kHeal = 8,
  kClog = 9,
  kReset = 10,
  kDiskFaults = 11,
  kBitFlip = 12,
};
const char* FaultKindName(FaultKind kind);

struct NodeSpec {
  NodeSpec(std::string name_in, std::string host_in, NodeMain main_in, DiskFaults disk = {})
      : name(std::move(name_in)),
        host(std::move(host_in)),
        main(std::move(main_in)),
        disk_faults(disk) {}

  std::string name;  // "n1", "broker-a"
  std::string host;  // "10.0.0.1"
  NodeMain main;
  DiskFaults disk_faults;
};

enum class NodeState : uint8_t { kDown, kUp, kPaused };

class World {
 public:
  struct Options {
    NetworkOptions network;
  };

  explicit World(uint64_t seed) : World(seed, Options{}) {}
  World(uint64_t seed, Options options);
  // Unwinds every fiber before the machines and the network go away.
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  Kernel& kernel() { return kernel_; }
  io::Runtime& runtime() { return kernel_.runtime(); }
  SimNetwork& network() { return *network_; }
  SimBuggify& buggify() { return *buggify_; }
  uint64_t seed() const { return kernel_.seed(); }
  // What happened, for people (off unless enabled): nodes going up, down, paused and resumed
  // are noted here; the fault injector and the scenario add their own events.
  Timeline& timeline() { return timeline_; }
  Instant Now() { return kernel_.Now(); }

  // Adds a machine with its process stopped.
  NodeId AddNode(NodeSpec spec);
  size_t node_count() const { return nodes_.size(); }
  const std::string& name(NodeId id) const;
  const std::string& host(NodeId id) const;
  NodeState state(NodeId id) const;
  uint32_t incarnation(NodeId id) const;
  SimMachineDisk& disk(NodeId id);
  SimClock& clock(NodeId id);
  // The Env of the running incarnation. REQUIRES: the node is up or paused.
  io::Env& env(NodeId id);

  // Starts a new incarnation of the node's process. REQUIRES: down.
  void Start(NodeId id);
  // Kills the process. REQUIRES: up or paused.
  void Crash(NodeId id, CrashMode mode);
  void Pause(NodeId id);
  void Resume(NodeId id);
  void JumpClock(NodeId id, Duration delta);
  void SetClockDrift(NodeId id, double ppm);

  // A fiber outside every node (the scenario's own driver): never crashed or paused.
  io::FiberHandle SpawnController(std::string name, std::function<void()> fn);
  io::Scheduler& controller() { return controller_; }

  // Folds a fault into the trace.
  void NoteFault(FaultKind kind, uint64_t detail) {
    kernel_.Note(TraceKind::kFault, static_cast<uint64_t>(kind), detail);
  }

  void RunFor(Duration d) { kernel_.RunFor(d); }
  void RunUntil(Instant t) { kernel_.RunUntil(t); }

 private:
  struct Incarnation;
  struct Node;
  Node& node(NodeId id);
  const Node& node(NodeId id) const;
  void ReapIncarnations(Node& n);

  Kernel kernel_;
  std::unique_ptr<SimNetwork> network_;
  std::unique_ptr<SimBuggify> buggify_;
  io::GroupId controller_group_;
  io::Scheduler controller_;
  std::vector<std::unique_ptr<Node>> nodes_;
  Timeline timeline_;
};

}  // namespace apogee::sim
