#pragma once

// PosixEnv: one production node. It owns the event loop (PosixReactor), the fiber runtime over
// it, the I/O pool, and the POSIX network, disk, clock, random stream and (inert) buggify, and
// hands them to the node's code as one io::Env, exactly as the simulator hands a simulated
// node its Env. Every fiber of the node runs in one runtime group named after the node.
//
// A PosixEnv lives on one thread, the loop thread: it is built, Run() and destroyed there.
// While it lives, that thread's diagnostic context shows the node and the monotonic time in
// log lines and assertion reports.
//
// Lifetime: destroying the env first unwinds every fiber still alive (their destructors may
// still use the network and the disk), then stops the I/O pool (every queued job still runs),
// then closes the loop.

#include <cstddef>
#include <functional>
#include <string>

#include "core/base/assert.h"
#include "core/io/buggify.h"
#include "core/io/env.h"
#include "core/io/posix/io_pool.h"
#include "core/io/posix/posix_clock.h"
#include "core/io/posix/posix_disk.h"
#include "core/io/posix/posix_network.h"
#include "core/io/posix/reactor.h"
#include "core/io/random.h"
#include "core/io/runtime.h"

namespace apogee::io {

class PosixEnv {
 public:
  // A node named `node_name` whose files live under `data_root` (created by the first
  // Disk::MakeDirs() if missing). The random stream is seeded from getrandom(2).
  PosixEnv(std::string node_name, std::string data_root,
           size_t io_threads = IoPool::kThreadsDefault);
  ~PosixEnv();
  PosixEnv(const PosixEnv&) = delete;
  PosixEnv& operator=(const PosixEnv&) = delete;

  Env& env() { return env_; }
  Runtime& runtime() { return runtime_; }
  PosixReactor& reactor() { return reactor_; }
  IoPool& pool() { return pool_; }
  uint64_t seed() const { return seed_; }

  // Runs the loop until Stop(), or until no fiber can run again: all have ended, or the rest
  // wait on something nothing can bring (no timer, no descriptor, no pending I/O).
  // REQUIRES: called on the thread that built the env, not from a fiber.
  void Run();
  // Ends Run() soon. Thread-safe (from a fiber, the loop, or another thread), but not
  // async-signal-safe: a signal handler should write to a pipe or eventfd that a fiber reads.
  void Stop();

  // Builds a PosixEnv, runs `main` on a fiber named "main", and runs the loop until it ends.
  // Returns 0 if `main` returned, 1 if it did not (it was killed, or the loop was stopped).
  static int RunMain(std::string node_name, std::string data_root, std::function<void(Env&)> main);

 private:
  std::string node_name_;
  uint64_t seed_;
  DiagContext saved_diag_;  // the thread's diagnostic context before this env, restored after
  // Member order is destruction order reversed: the runtime (whose fibers use everything
  // else) goes first, the reactor (which everything else uses) last.
  PosixReactor reactor_;
  IoPool pool_;
  PosixClock clock_;
  SeededRandom random_;
  NoBuggify buggify_;
  PosixNetwork network_;
  PosixDisk disk_;
  Runtime runtime_;
  Scheduler scheduler_;
  Env env_;
};

}  // namespace apogee::io
