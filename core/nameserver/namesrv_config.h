#pragma once

// NamesrvConfig: the knobs of a nameserver node (namesrv.conf / mqnamesrv key in brackets).
// A nameserver keeps no state on disk.

#include "core/base/time.h"
#include "core/io/network.h"

namespace apogee::nameserver {

struct NamesrvConfig {
  io::Address listen{"0.0.0.0", 9876};  // [listenPort]
  // A broker that has not registered for this long is dropped; checked every scan_interval
  // [the route manager's BROKER_CHANNEL_EXPIRED_TIME 120 s, scanned every 10 s].
  Duration broker_expiry = std::chrono::seconds(120);
  Duration scan_interval = std::chrono::seconds(10);
};

}  // namespace apogee::nameserver
