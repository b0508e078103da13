#pragma once

// SimStoreRig: one simulated machine for store tests that crash it or damage its disk. Each
// incarnation runs the body given to Run(); the disk (and whatever was made durable on it)
// survives Crash().

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/io/env.h"
#include "sim/world.h"

namespace apogee::store::testing {

class SimStoreRig {
 public:
  explicit SimStoreRig(uint64_t seed = 11, sim::DiskFaults faults = {}) : world_(seed) {
    node_ = world_.AddNode(sim::NodeSpec{"store", "10.0.0.1",
                                         [this](io::Env& env) {
                                           body_(env);
                                           done_ = true;
                                         },
                                         faults});
  }

  // Starts a new incarnation running `body` and drives the world until it returns (true) or
  // `limit` of virtual time passes (false). A process still up is crashed first with kDrop (the
  // harshest mode: a clean shutdown left nothing unsynced, so it changes nothing then). The
  // incarnation stays up afterwards, with whatever fibers the body left running.
  bool Run(std::function<void(io::Env&)> body, Duration limit = std::chrono::seconds(600)) {
    Crash(sim::CrashMode::kDrop);
    body_ = std::move(body);
    done_ = false;
    world_.Start(node_);
    return Drive(limit);
  }
  // Runs `body` on a new fiber of the running incarnation (its store and fibers still there).
  bool RunInNode(std::function<void(io::Env&)> body, Duration limit = std::chrono::seconds(600)) {
    done_ = false;
    io::Env& env = world_.env(node_);
    world_.env(node_).scheduler.Spawn("test", [this, body = std::move(body), &env] {
      body(env);
      done_ = true;
    });
    return Drive(limit);
  }
  // Drives the world without starting anything.
  void RunFor(Duration d) { world_.RunFor(d); }
  // Kills the process; the disk drops, keeps or tears what was not synced.
  void Crash(sim::CrashMode mode) {
    if (world_.state(node_) != sim::NodeState::kDown) world_.Crash(node_, mode);
  }
  bool up() { return world_.state(node_) != sim::NodeState::kDown; }

  sim::World& world() { return world_; }
  sim::SimMachineDisk& disk() { return world_.disk(node_); }
  sim::NodeId node() const { return node_; }

 private:
  bool Drive(Duration limit) {
    Instant until = world_.Now() + limit;
    while (!done_ && world_.Now() < until) world_.RunFor(std::chrono::milliseconds(1));
    return done_;
  }

  sim::World world_;
  sim::NodeId node_ = 0;
  std::function<void(io::Env&)> body_;
  bool done_ = false;
};

}  // namespace apogee::store::testing
