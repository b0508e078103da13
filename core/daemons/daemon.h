#pragma once

// The daemons' common run loop: one node over the POSIX backend that serves until SIGTERM,
// SIGINT or SIGHUP, then stops cleanly (the node's own stop: answer parked requests, persist
// offsets, flush and close the store) and exits 0.

#include <functional>
#include <string>

#include "core/base/status.h"
#include "core/io/env.h"

namespace apogee::daemons {

// Starts a node and returns the function that stops it (runs on a fiber, may yield).
using StartFn = std::function<Result<std::function<void()>>(io::Env& env)>;

// Blocks the termination signals, builds a PosixEnv named `node` whose disk is rooted at
// `data_root`, runs `start` on a fiber, waits for a termination signal, runs the stop function
// and returns 0. Returns 1 if `start` fails (after logging its error).
// REQUIRES: called from main() before any other thread exists.
int RunDaemon(const std::string& node, const std::string& data_root, const StartFn& start);

// The process arguments after the program name.
std::vector<std::string> ArgsOf(int argc, char** argv);

}  // namespace apogee::daemons
