#pragma once

// Runs a remoting test body on either backend, as tests/io/conformance_test.cc does for the
// seam: the simulator (/Sim: a sim::World with a server node and a client node) or the POSIX
// backend (/Posix: one PosixEnv on 127.0.0.1 serving both roles).

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "core/io/env.h"
#include "core/io/posix/posix_env.h"
#include "sim/world.h"

namespace apogee::remoting_test {

using namespace std::chrono_literals;

// What a test body is handed.
struct Nodes {
  io::Env& server;  // the env the server runs on
  io::Env& client;  // the env the clients run on (the same as server on POSIX)
  std::string server_host;
  // Simulator only (empty on POSIX): blocks, then unblocks, traffic between the two nodes.
  std::function<void()> partition;
  std::function<void()> heal;
};

enum class Kind { kSim, kPosix };

inline void RunOnSim(const std::function<void(Nodes&)>& body) {
  sim::World::Options options;
  // A partition holds traffic instead of resetting connections, so a test can rely on it.
  options.network.partition_reset_probability = 0;
  sim::World world(/*seed=*/7, options);
  bool done = false;
  sim::NodeId server = world.AddNode(sim::NodeSpec{"server", "10.0.0.2", [](io::Env&) {}});
  sim::NodeId client = world.AddNode(
      sim::NodeSpec{"client", "10.0.0.1", [&](io::Env& env) {
                      Nodes nodes{world.env(server), env, "10.0.0.2",
                                  [&] { world.network().Partition("10.0.0.1", "10.0.0.2"); },
                                  [&] { world.network().Heal("10.0.0.1", "10.0.0.2"); }};
                      body(nodes);
                      done = true;
                    }});
  world.Start(server);
  world.Start(client);
  Instant limit = world.Now() + 600s;
  while (!done && world.Now() < limit) world.RunFor(100ms);
  EXPECT_TRUE(done) << "the test body did not finish within 600 virtual seconds";
}

inline void RunOnPosix(const std::function<void(Nodes&)>& body) {
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "apogee-remoting-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir_template.data()), nullptr);
  std::filesystem::path dir = dir_template;
  int rc = io::PosixEnv::RunMain("n1", dir.string(), [&](io::Env& env) {
    Nodes nodes{env, env, "127.0.0.1", nullptr, nullptr};
    body(nodes);
  });
  std::filesystem::remove_all(dir);
  EXPECT_EQ(rc, 0) << "the test body did not finish";
}

class BackendTest : public ::testing::TestWithParam<Kind> {
 protected:
  void Run(const std::function<void(Nodes&)>& body) {
    if (GetParam() == Kind::kSim) {
      RunOnSim(body);
    } else {
      RunOnPosix(body);
    }
  }
};

}  // namespace apogee::remoting_test
