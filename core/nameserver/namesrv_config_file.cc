#include "core/nameserver/namesrv_config_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <utility>

#include "core/base/command_line.h"
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
  Result<std::map<char, std::string>> given = ParseOptions(args, kOptions);
  if (!given.ok()) return UsageError(given.status().message());
  NamesrvCommandLine cl;
  for (auto& [letter, value] : *given) {
    switch (letter) {
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
        APOGEE_ASSERT(false, "option -{} has no case", letter);
    }
  }
  return cl;
}

}  // namespace apogee::nameserver
