#pragma once

// Reading an operator's RocketMQ broker.conf and mqbroker command line into a BrokerConfig.
// Pure functions over text: the daemon's main reads the file.
//
// mqbroker loads the file with java.util.Properties and hands every key to the setters of
// BrokerConfig, NettyServerConfig, NettyClientConfig and MessageStoreConfig; a key no setter
// takes is silently dropped, and so is a value the setter cannot parse. Apogee is stricter, so
// an operator learns what their file does:
// - a key Apogee maps sets the matching BrokerConfig field; a bad value for it is an error
//   naming line, key and value ("line 4: bad value 'abc' for listenPort: not an integer");
// - a key of those RocketMQ classes that Apogee does not use is a warning
//   ("line 9: key 'haListenPort' ignored (not supported)");
// - any other key is a warning ("line 7: unknown key 'fooBar' ignored");
// - a key set twice is a warning; the later line wins, as in Java.
// The keys Apogee maps, their units and checks are the table in broker_config_file.cc and
// RenderBrokerConfig's output. Where Apogee cannot do what a value asks (brokerRole=SLAVE, a
// commit log outside storePathRootDir, a second deleteWhen hour), it says so in a warning and
// keeps going: the broker still serves as a master from storePathRootDir.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/broker/broker_config.h"

namespace apogee::broker {

struct BrokerConfigLoad {
  BrokerConfig config;
  std::vector<std::string> warnings;  // one sentence each, in file order, "line N: ..."
};

// Applies broker.conf `text` over `base` (the caller's defaults). listenPort also sets
// store.store_port, and brokerIP1 store.store_ipv4 when it is an IPv4 literal. As in mqbroker,
// a master's brokerId is 0 whatever the file says (with a warning if it said otherwise).
// Fails with kInvalidArgument on a bad value of a mapped key or on malformed text.
Result<BrokerConfigLoad> ParseBrokerConfig(std::string_view text, BrokerConfig base);

// Parses a namesrvAddr value: "host:port" entries separated by ';' (blanks around entries and
// empty entries are skipped). An empty value is an empty list.
Result<std::vector<io::Address>> ParseNamesrvAddrList(std::string_view text);

// mqbroker's command line.
struct BrokerCommandLine {
  std::optional<std::string> config_file;   // -c FILE, --configFile / --config FILE
  std::optional<std::string> namesrv_addr;  // -n ADDR, --namesrvAddr / --namesrv ADDR
  bool print_config = false;                // -p, --printConfigItem: print and exit
  bool print_important = false;             // -m, --printImportantConfig: print and exit
  bool help = false;                        // -h, --help
};

// Parses the arguments after the program name. Values may follow as the next argument, joined
// to a short option ("-cbroker.conf") or after '=' on a long one ("--config=broker.conf").
// An unknown option, a missing value, an option given twice or a stray argument is
// kInvalidArgument, its message ending with BrokerUsage().
Result<BrokerCommandLine> ParseBrokerArgs(std::vector<std::string> args);

// The usage text, for -h and for errors.
std::string BrokerUsage();

// What the daemon does with a parsed command line and the text of its -c file (empty without
// -c): ParseBrokerConfig, then -n replaces namesrvAddr, as in mqbroker.
Result<BrokerConfigLoad> LoadBrokerConfig(const BrokerCommandLine& cl, std::string_view file_text,
                                          BrokerConfig base);

// The effective config as broker.conf lines ("key=value\n", RocketMQ's names and units), every
// mapped key or, with `important_only`, those mqbroker -m prints. ParseBrokerConfig reads the
// output back to the same config, except store_ipv4 when announce_host is not IPv4, and
// delete_when_hour -1 ("any hour"), which RocketMQ cannot say: it renders as deleteWhen=-1,
// which the reader refuses.
std::string RenderBrokerConfig(const BrokerConfig& config, bool important_only = false);

}  // namespace apogee::broker
