#pragma once

// Reading an operator's RocketMQ namesrv.conf and mqnamesrv command line into a NamesrvConfig.
// Pure functions over text: the daemon's main reads the file.
//
// mqnamesrv hands every key of its -c file to the setters of NamesrvConfig and
// NettyServerConfig. Apogee maps listenPort and scanNotActiveBrokerInterval (RocketMQ 5, ms);
// the other keys of those two classes are warnings ("line 3: key 'kvConfigPath' ignored (not
// supported)"), any other key is "line 7: unknown key 'fooBar' ignored", a repeated key is a
// warning (the later line wins), and a bad value of a mapped key is an error naming line, key
// and value.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/nameserver/namesrv_config.h"

namespace apogee::nameserver {

struct NamesrvConfigLoad {
  NamesrvConfig config;
  std::vector<std::string> warnings;  // one sentence each, in file order, "line N: ..."
};

// Applies namesrv.conf `text` over `base`. Fails with kInvalidArgument on a bad value of a
// mapped key or on malformed text.
Result<NamesrvConfigLoad> ParseNamesrvConfig(std::string_view text, NamesrvConfig base);

// mqnamesrv's command line.
struct NamesrvCommandLine {
  std::optional<std::string> config_file;  // -c FILE, --configFile / --config FILE
  bool print_config = false;               // -p, --printConfigItem: print and exit
  bool help = false;                       // -h, --help
};

// Parses the arguments after the program name, with the same forms and errors as
// ParseBrokerArgs (core/broker/broker_config_file.h); messages end with NamesrvUsage().
Result<NamesrvCommandLine> ParseNamesrvArgs(std::vector<std::string> args);

std::string NamesrvUsage();

// The effective config as namesrv.conf lines ("key=value\n"), for -p. ParseNamesrvConfig reads
// them back to the same config.
std::string RenderNamesrvConfig(const NamesrvConfig& config);

}  // namespace apogee::nameserver
