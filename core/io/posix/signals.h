#pragma once

// Termination signals for the daemons, delivered to a fiber instead of a handler.
//
// BlockTerminationSignals() blocks SIGTERM, SIGINT and SIGHUP in the calling thread; call it in
// main() before any thread starts (a PosixEnv starts its I/O pool threads), so every thread
// inherits the mask and the signals stay pending until a SignalWaiter reads them. A SignalWaiter
// reads them through a signalfd registered with the node's reactor: WaitForSignal() parks a
// fiber until one arrives, so shutdown runs as ordinary fiber code (it may yield, flush, close).

#include <memory>

#include "core/base/status.h"
#include "core/io/posix/reactor.h"
#include "core/io/posix/unique_fd.h"

namespace apogee::io {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread. Asserts if the kernel refuses.
void BlockTerminationSignals();

class SignalWaiter {
 public:
  // Opens a signalfd for the termination signals on `reactor`. REQUIRES: the reactor is attached
  // (its PosixEnv is built) and the signals are blocked.
  static Result<std::unique_ptr<SignalWaiter>> Open(PosixReactor& reactor);
  ~SignalWaiter();
  SignalWaiter(const SignalWaiter&) = delete;
  SignalWaiter& operator=(const SignalWaiter&) = delete;

  // Parks the calling fiber until a termination signal arrives; returns its number.
  // May yield. Throws FiberKilled when the fiber is killed while it waits.
  int WaitForSignal();

 private:
  SignalWaiter(UniqueFd fd, std::unique_ptr<FdWatch> watch);

  UniqueFd fd_;
  std::unique_ptr<FdWatch> watch_;
};

// Reads the whole file at the OS path `path` (a configuration file named on the command line),
// at most 16 MiB. kNotFound, kPermissionDenied-like errors and kIo are reported with the path.
Result<std::string> ReadTextFile(const std::string& path);

}  // namespace apogee::io
