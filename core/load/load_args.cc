#include <fmt/format.h>

#include "core/load/load_runner.h"
#include "core/protocol/fields.h"

namespace apogee::load {

namespace {

Status Usage(std::string what) {
  return Status(ErrorCode::kInvalidArgument, fmt::format("{}\n{}", what, LoadUsage()));
}

std::vector<std::string> SplitAddrs(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find_first_of(";,", pos);
    if (end == std::string::npos) end = text.size();
    if (end > pos) out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

}  // namespace

std::string LoadUsage() {
  return "usage: apogee-load produce|consume [options]\n"
         "  --namesrv A[;B]     nameserver addresses (default 127.0.0.1:9876)\n"
         "  --topic T           topic (default BenchmarkTest)\n"
         "  --size N            produce: body bytes (default 100)\n"
         "  --count N           stop after N messages\n"
         "  --duration S        stop after S seconds (default 10 without --count)\n"
         "  --inflight N        produce: sends in flight; consume: consume fibers (default 64)\n"
         "  --group G           producer or consumer group\n"
         "  --tag T             produce: the TAGS of each message; consume: the subscription\n"
         "  --timeout-ms N      produce: send timeout (default 3000)\n"
         "  --progress S        a progress line every S seconds, 0 for none (default 1)\n"
         "  --json              print one JSON object instead of the text summary\n";
}

Result<LoadOptions> ParseLoadArgs(const std::vector<std::string>& args) {
  LoadOptions o;
  if (args.empty()) return Usage("apogee-load: produce or consume expected");
  if (args[0] == "produce") {
    o.mode = LoadMode::kProduce;
  } else if (args[0] == "consume") {
    o.mode = LoadMode::kConsume;
  } else {
    return Usage(fmt::format("apogee-load: unknown mode '{}'", args[0]));
  }
  for (size_t i = 1; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    size_t eq = flag.find('=');
    bool joined = flag.rfind("--", 0) == 0 && eq != std::string::npos;
    if (joined) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    if (flag == "--json") {
      o.json = true;
      continue;
    }
    if (!joined) {
      if (i + 1 >= args.size()) return Usage(fmt::format("apogee-load: {} needs a value", flag));
      value = args[++i];
    }
    auto number = [&](int64_t min, int64_t max) -> std::optional<int64_t> {
      return protocol::ParseDecimal(value, min, max);
    };
    if (flag == "--namesrv") {
      o.namesrv = SplitAddrs(value);
      if (o.namesrv.empty()) return Usage("apogee-load: --namesrv is empty");
    } else if (flag == "--topic") {
      if (value.empty()) return Usage("apogee-load: --topic is empty");
      o.topic = value;
    } else if (flag == "--group") {
      o.group = value;
    } else if (flag == "--tag") {
      o.tag = value;
    } else if (flag == "--size") {
      std::optional<int64_t> v = number(0, 4 << 20);
      if (!v) return Usage(fmt::format("apogee-load: bad --size '{}' (0..4194304)", value));
      o.size = static_cast<size_t>(*v);
    } else if (flag == "--count") {
      std::optional<int64_t> v = number(1, INT64_MAX);
      if (!v) return Usage(fmt::format("apogee-load: bad --count '{}'", value));
      o.count = static_cast<uint64_t>(*v);
    } else if (flag == "--duration") {
      std::optional<int64_t> v = number(1, 86400 * 365);
      if (!v) return Usage(fmt::format("apogee-load: bad --duration '{}' (seconds)", value));
      o.duration = std::chrono::seconds(*v);
    } else if (flag == "--inflight") {
      std::optional<int64_t> v = number(1, 65536);
      if (!v) return Usage(fmt::format("apogee-load: bad --inflight '{}' (1..65536)", value));
      o.inflight = static_cast<size_t>(*v);
    } else if (flag == "--timeout-ms") {
      std::optional<int64_t> v = number(1, 3'600'000);
      if (!v) return Usage(fmt::format("apogee-load: bad --timeout-ms '{}'", value));
      o.send_timeout = std::chrono::milliseconds(*v);
    } else if (flag == "--progress") {
      std::optional<int64_t> v = number(0, 3600);
      if (!v) return Usage(fmt::format("apogee-load: bad --progress '{}' (seconds)", value));
      o.progress_every = std::chrono::seconds(*v);
    } else {
      return Usage(fmt::format("apogee-load: unknown option '{}'", flag));
    }
  }
  return o;
}

}  // namespace apogee::load
