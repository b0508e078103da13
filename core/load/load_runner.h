#pragma once

// apogee-load's engine: drives a produce or consume workload through the project's own clients
// and measures it. Written against the seam, so the same code runs over real sockets (the
// apogee-load command) and inside the simulator.
//
//   produce: `inflight` sender fibers each send synchronously, one message at a time, so exactly
//            that many sends are in flight (a closed loop); latency is each send's, from the
//            call to the broker's answer (retries included).
//   consume: one push consumer (clustering, concurrent, from the first offset of a new group)
//            counts what it receives; latency is end to end, from the message's born timestamp
//            to its delivery (both wall clocks, so meaningful on one host).
// Either stops after --count messages or after --duration, whichever comes first.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/base/time.h"
#include "core/io/env.h"
#include "core/load/latency_histogram.h"

namespace apogee::load {

enum class LoadMode : uint8_t { kProduce, kConsume };

struct LoadOptions {
  LoadMode mode = LoadMode::kProduce;
  std::vector<std::string> namesrv = {"127.0.0.1:9876"};
  std::string topic = "BenchmarkTest";
  std::string group;  // default: apogee-load-producer / apogee-load-consumer
  std::string tag;    // produce: TAGS of every message; consume: the subscription
  size_t size = 100;  // body bytes
  std::optional<uint64_t> count;
  std::optional<Duration> duration;
  size_t inflight = 64;  // produce: concurrent sends; consume: consume fibers
  Duration send_timeout = std::chrono::seconds(3);
  Duration progress_every = std::chrono::seconds(1);  // zero: no progress lines
  bool json = false;
};

// Parses the command line after the program name:
//   produce|consume --namesrv A[;B] --topic T [--size N] [--count N | --duration SECONDS]
//   [--inflight N] [--group G] [--tag T] [--timeout-ms N] [--progress SECONDS] [--json]
// Without --count or --duration a run lasts 10 s. kInvalidArgument (ending with the usage) on
// anything else.
Result<LoadOptions> ParseLoadArgs(const std::vector<std::string>& args);
std::string LoadUsage();

struct LoadReport {
  LoadMode mode = LoadMode::kProduce;
  uint64_t ok = 0;          // produce: acknowledged sends; consume: deliveries
  uint64_t failed = 0;      // produce: failed sends
  uint64_t duplicates = 0;  // consume: deliveries of a message id already seen
  Duration elapsed{};
  LatencyHistogram latency;  // nanoseconds
  std::string first_error;   // produce: the first failure, for the operator

  double throughput() const;  // ok per second of elapsed
};

// Runs the workload on `env` (a fiber of it). Progress lines go to the log at info level.
// Fails only if the client cannot start (no nameserver answered, unknown topic...).
// May yield.
Result<LoadReport> RunLoad(io::Env& env, const LoadOptions& options);

// A human summary: counts, throughput, latency percentiles in milliseconds.
std::string ReportText(const LoadOptions& options, const LoadReport& report);
// One JSON object: mode, topic, size, inflight, sent (or received), failed, duplicates,
// elapsed_s, throughput_msgs_per_s, p50_ms, p90_ms, p99_ms, p999_ms, max_ms, mean_ms.
std::string ReportJson(const LoadOptions& options, const LoadReport& report);

}  // namespace apogee::load
