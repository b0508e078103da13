#include "core/nameserver/namesrv_config_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <utility>

#include "core/base/properties_file.h"

namespace apogee::nameserver {
namespace {

// Scan periods stop at a day: a nameserver that looks for dead brokers less often is broken.
constexpr int64_t kScanMillisMax = int64_t{24} * 3600 * 1000;

// Keys of RocketMQ's NamesrvConfig (4.x, and a few of 5.x) and NettyServerConfig that Apogee
// reads but does not act on.
constexpr std::string_view kUnsupportedKeys[] = {
    // NamesrvConfig.
    "rocketmqHome", "kvConfigPath", "configStorePath", "productEnvName", "clusterTest",
    "orderMessageEnable", "returnOrderTopicConfigToBroker", "clientRequestThreadPoolNums",
    "defaultThreadPoolNums", "clientRequestThreadPoolQueueCapacity",
    "defaultThreadPoolQueueCapacity", "unRegisterBrokerQueueCapacity", "supportActingMaster",
    "enableControllerInNamesrv",
    // NettyServerConfig (listenPort is mapped).
    "serverWorkerThreads", "serverCallbackExecutorThreads", "serverSelectorThreads",
    "serverOnewaySemaphoreValue", "serverAsyncSemaphoreValue", "serverChannelMaxIdleTimeSeconds",
    "serverSocketSndBufSize", "serverSocketRcvBufSize", "serverPooledByteBufAllocatorEnable",
    "useEpollNativeSelector"};

bool IsUnsupported(std::string_view key) {
  return std::find(std::begin(kUnsupportedKeys), std::end(kUnsupportedKeys), key) !=
         std::end(kUnsupportedKeys);
}

// One option of mqnamesrv: its short letter, its long names, and whether it takes a value.
struct OptionSpec {
  char letter;
  std::string_view long_names[2];
  bool takes_value;
};

constexpr OptionSpec kOptions[] = {
    {'c', {"configFile", "config"}, true},
    {'p', {"printConfigItem", ""}, false},
    {'h', {"help", ""}, false},
};

Status UsageError(std::string_view what) {
  return Status(ErrorCode::kInvalidArgument, fmt::format("{}\n{}", what, NamesrvUsage()));
}

}  // namespace

Result<NamesrvConfigLoad> ParseNamesrvConfig(std::string_view text, NamesrvConfig base) {
  APOGEE_ASSIGN_OR_RETURN(Properties props, ParseProperties(text));
  NamesrvConfigLoad out;
  out.config = std::move(base);
  std::vector<std::pair<int, std::string>> warnings;  // (line, text), sorted at the end
  for (const PropertyDuplicate& d : props.duplicates) {
    warnings.emplace_back(d.line, fmt::format("line {}: '{}' set again, replacing line {}", d.line,
                                              d.key, d.earlier_line));
  }
  for (const PropertyEntry& e : props.entries) {
    if (e.key == "listenPort") {
      APOGEE_ASSIGN_OR_RETURN(int64_t port, PropertyInt(e, 1, 65535));
      out.config.listen.port = static_cast<uint16_t>(port);
    } else if (e.key == "scanNotActiveBrokerInterval") {
      APOGEE_ASSIGN_OR_RETURN(int64_t ms, PropertyInt(e, 1, kScanMillisMax));
      out.config.scan_interval = std::chrono::milliseconds(ms);
    } else if (IsUnsupported(e.key)) {
      warnings.emplace_back(
          e.line, fmt::format("line {}: key '{}' ignored (not supported)", e.line, e.key));
    } else {
      warnings.emplace_back(e.line,
                            fmt::format("line {}: unknown key '{}' ignored", e.line, e.key));
    }
  }
  std::stable_sort(warnings.begin(), warnings.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [line, warning] : warnings) out.warnings.push_back(std::move(warning));
  APOGEE_ASSERT(out.warnings.size() <= props.entries.size() + props.duplicates.size());
  return out;
}

std::string RenderNamesrvConfig(const NamesrvConfig& config) {
  return fmt::format(
      "listenPort={}\nscanNotActiveBrokerInterval={}\n", config.listen.port,
      std::chrono::duration_cast<std::chrono::milliseconds>(config.scan_interval).count());
}

std::string NamesrvUsage() {
  return "usage: apogee-namesrv [-c FILE] [-p] [-h]\n"
         " -c,--configFile FILE    name server config properties file (RocketMQ namesrv.conf)\n"
         " -p,--printConfigItem    print all config items and exit\n"
         " -h,--help               print this help\n"
         "(--config is accepted for --configFile)\n";
}

Result<NamesrvCommandLine> ParseNamesrvArgs(std::vector<std::string> args) {
  NamesrvCommandLine cl;
  std::string seen;  // letters given so far
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const OptionSpec* spec = nullptr;
    std::optional<std::string> value;  // given in the same argument
    if (arg.size() > 2 && arg.starts_with("--")) {
      std::string_view name = std::string_view(arg).substr(2);
      size_t eq = name.find('=');
      if (eq != std::string_view::npos) {
        value = std::string(name.substr(eq + 1));
        name = name.substr(0, eq);
      }
      for (const OptionSpec& o : kOptions) {
        if (o.long_names[0] == name || (!o.long_names[1].empty() && o.long_names[1] == name)) {
          spec = &o;
        }
      }
    } else if (arg.size() >= 2 && arg[0] == '-' && arg[1] != '-') {
      for (const OptionSpec& o : kOptions) {
        if (o.letter == arg[1]) spec = &o;
      }
      if (spec != nullptr && arg.size() > 2) {
        if (!spec->takes_value) return UsageError(fmt::format("unknown option '{}'", arg));
        value = arg.substr(2);
      }
    } else {
      return UsageError(fmt::format("unexpected argument '{}'", arg));
    }
    if (spec == nullptr) return UsageError(fmt::format("unknown option '{}'", arg));
    if (seen.find(spec->letter) != std::string::npos) {
      return UsageError(fmt::format("option -{} given twice", spec->letter));
    }
    seen.push_back(spec->letter);
    if (spec->takes_value) {
      if (!value) {
        if (i + 1 == args.size()) return UsageError(fmt::format("option '{}' needs a value", arg));
        value = args[++i];
      }
      if (value->empty()) return UsageError(fmt::format("option '{}' has an empty value", arg));
    } else if (value) {
      return UsageError(fmt::format("option '{}' takes no value", arg));
    }
    switch (spec->letter) {
      case 'c':
        cl.config_file = std::move(value);
        break;
      case 'p':
        cl.print_config = true;
        break;
      case 'h':
        cl.help = true;
        break;
      default:
        APOGEE_ASSERT(false, "option -{} has no case", spec->letter);
    }
  }
  return cl;
}

}  // namespace apogee::nameserver
