#pragma once

// Runs a store test body on either backend, so the same suite proves the store over the
// simulated disk (/Sim) and over real files in a temporary directory (/Posix).
//
// Usage:
//   class ConsumeQueueTest : public StoreBackendTest {};
//   TEST_P(ConsumeQueueTest, ...) { RunOnBackend([](io::Env& env) { ... }); }
//   INSTANTIATE_STORE_BACKENDS(ConsumeQueueTest);
//
// The simulated backend runs one node of a sim::World (seed 7, no faults). Tests that crash or
// damage the disk need the simulator and live in their own, non-parameterized fixtures.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <string>

#include "core/io/env.h"
#include "core/io/posix/posix_env.h"
#include "sim/world.h"

namespace apogee::store::testing {

enum class Backend { kSim, kPosix };

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSim ? "Sim" : "Posix";
}

// Runs `body` as the main fiber of one node until it returns. Fails the test if it does not.
inline void RunOnSim(const std::function<void(io::Env&)>& body, uint64_t seed = 7) {
  sim::World world(seed);
  bool done = false;
  world.AddNode(sim::NodeSpec{"store", "10.0.0.1", [&](io::Env& env) {
                                body(env);
                                done = true;
                              }});
  world.Start(0);
  Instant limit = world.Now() + std::chrono::seconds(3600);
  while (!done && world.Now() < limit) world.RunFor(std::chrono::milliseconds(100));
  EXPECT_TRUE(done) << "the test body did not finish within an hour of virtual time";
}

// Runs `body` over real files in a fresh temporary directory, removed afterwards.
inline void RunOnPosix(const std::function<void(io::Env&)>& body) {
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "apogee-store-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir_template.data()), nullptr);
  int rc = io::PosixEnv::RunMain("store", dir_template, body);
  std::filesystem::remove_all(dir_template);
  EXPECT_EQ(rc, 0) << "the test body did not finish";
}

class StoreBackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void RunOnBackend(const std::function<void(io::Env&)>& body) {
    if (GetParam() == Backend::kSim) {
      RunOnSim(body);
    } else {
      RunOnPosix(body);
    }
  }
};

}  // namespace apogee::store::testing

#define INSTANTIATE_STORE_BACKENDS(fixture)                                              \
  INSTANTIATE_TEST_SUITE_P(Backends, fixture,                                            \
                           ::testing::Values(::apogee::store::testing::Backend::kSim,    \
                                             ::apogee::store::testing::Backend::kPosix), \
                           ::apogee::store::testing::BackendName)
