// mqbroker's command line (declared in broker_config_file.h).

#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "core/broker/broker_config_file.h"

namespace apogee::broker {
namespace {

// One option of mqbroker: its short letter, its long names, and whether it takes a value.
struct OptionSpec {
  char letter;
  std::string_view long_names[2];
  bool takes_value;
};

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
  BrokerCommandLine cl;
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
        if (i + 1 == args.size()) {
          return UsageError(fmt::format("option '{}' needs a value", arg));
        }
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
        APOGEE_ASSERT(false, "option -{} has no case", spec->letter);
    }
  }
  return cl;
}

}  // namespace apogee::broker
