#pragma once

// A fixture for tests of the fiber runtime and its primitives: a simulated kernel with one node
// group "n" and its scheduler, so every test runs in virtual time and is deterministic.

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/io/runtime.h"
#include "sim/kernel.h"

namespace apogee {
// Prints values in failure messages as "12.5ms" and "Timeout" rather than raw bytes.
inline void PrintTo(const Instant& t, std::ostream* os) {
  *os << static_cast<double>(ToNanos(t)) / 1e6 << "ms";
}
inline void PrintTo(ErrorCode code, std::ostream* os) { *os << ErrorCodeName(code); }
}  // namespace apogee

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
