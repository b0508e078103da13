#pragma once

// A fixture for tests of the fiber runtime and its primitives: a simulated kernel with one node
// group "n" and its scheduler, so every test runs in virtual time and is deterministic.

#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <vector>

#include "core/io/runtime.h"
#include "sim/kernel.h"

namespace apogee::io {

class SimRuntimeFixture : public ::testing::Test {
 protected:
  // Creates a primitive that outlives the kernel: fibers still waiting on it when a test ends
  // (or fails early) are unwound by the kernel's destructor before the primitive goes away.
  template <typename T, typename... Args>
  T& Make(Args&&... args) {
    auto object = std::make_shared<T>(std::forward<Args>(args)...);
    keep_.push_back(object);
    return *object;
  }

  std::vector<std::shared_ptr<void>> keep_;  // declared before the kernel: destroyed after it
  sim::Kernel k_{1};
  Runtime& rt_ = k_.runtime();
  GroupId g_ = rt_.NewGroup("n");
  Scheduler s_{rt_, g_};
};

}  // namespace apogee::io
