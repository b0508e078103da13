#pragma once

// Env: everything a node may ask of the world, handed to it through its constructor (as
// LevelDB passes Options::env). Core code reaches the outside only through these references,
// which is what lets the same code run as a daemon and inside the simulator. An Env does not own
// what it refers to; the backend (PosixEnv, or the simulator's node) does, and outlives it.

#include <string>

#include "core/io/buggify.h"
#include "core/io/clock.h"
#include "core/io/disk.h"
#include "core/io/network.h"
#include "core/io/random.h"
#include "core/io/runtime.h"

namespace apogee::io {

struct Env {
  std::string node;  // the node's name, as it appears in logs ("broker-a", "10.0.0.3")
  Scheduler& scheduler;
  Clock& clock;
  Network& network;
  Disk& disk;
  Random& random;
  Buggify& buggify;
};

}  // namespace apogee::io
