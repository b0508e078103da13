// mqbroker's command line (declared in broker_config_file.h).

#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "core/base/command_line.h"
#include "core/broker/broker_config_file.h"

namespace apogee::broker {
namespace {

constexpr OptionSpec kOptions[] = {
    {'c', {"configFile", "config"}, true},
    {'n', {"namesrvAddr", "namesrv"}, true},
    {'p', {"printConfigItem", ""}, false},
    {'m', {"printImportantConfig", ""}, false},
    {'h', {"help", ""}, false},
};

Status UsageError(std::string_view what) {
  return Status(ErrorCode::kInvalidArgument, fmt::format("{}\n{}", what, BrokerUsage()));
}

}  // namespace

std::string BrokerUsage() {
  return "usage: apogee-broker [-c FILE] [-n ADDR] [-p | -m] [-h]\n"
         " -c,--configFile FILE        broker config properties file (RocketMQ broker.conf)\n"
         " -n,--namesrvAddr ADDR       name server address list, e.g. '192.168.0.1:9876;"
         "192.168.0.2:9876'\n"
         " -p,--printConfigItem        print all config items and exit\n"
         " -m,--printImportantConfig   print important config items and exit\n"
         " -h,--help                   print this help\n"
         "(--config and --namesrv are accepted for --configFile and --namesrvAddr)\n";
}

Result<BrokerCommandLine> ParseBrokerArgs(std::vector<std::string> args) {
  Result<std::map<char, std::string>> given = ParseOptions(args, kOptions);
  if (!given.ok()) return UsageError(given.status().message());
  BrokerCommandLine cl;
  for (auto& [letter, value] : *given) {
    switch (letter) {
      case 'c':
        cl.config_file = std::move(value);
        break;
      case 'n':
        cl.namesrv_addr = std::move(value);
        break;
      case 'p':
        cl.print_config = true;
        break;
      case 'm':
        cl.print_important = true;
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

}  // namespace apogee::broker
