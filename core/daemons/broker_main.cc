// apogee-broker: the broker daemon, started as mqbroker is:
//   apogee-broker [-c broker.conf] [-n "ns1:9876;ns2:9876"] [-p | -m] [-h]
// Serves on listenPort (10911 by default) with its store under storePathRootDir, registers with
// every nameserver, and stops cleanly on SIGTERM (parked pulls answered, offsets persisted, store
// flushed and closed). After a crash (SIGKILL) the next start recovers the store.
// Exit codes: 0 after a clean stop (or -p / -m / -h), 1 if it cannot start, 2 for a bad command
// line or configuration.

#include <cstdio>
#include <memory>
#include <string>

#include "core/base/log.h"
#include "core/broker/broker.h"
#include "core/broker/broker_config_file.h"
#include "core/daemons/daemon.h"
#include "core/io/posix/signals.h"

int main(int argc, char** argv) {
  using namespace apogee;
  Result<broker::BrokerCommandLine> cl = broker::ParseBrokerArgs(daemons::ArgsOf(argc, argv));
  if (!cl.ok()) {
    std::fprintf(stderr, "apogee-broker: %s\n", cl.status().message().c_str());
    return 2;
  }
  if (cl->help) {
    std::fputs(broker::BrokerUsage().c_str(), stdout);
    return 0;
  }
  std::string text;
  const std::string file = cl->config_file.value_or("");
  if (cl->config_file.has_value()) {
    Result<std::string> read = io::ReadTextFile(file);
    if (!read.ok()) {
      std::fprintf(stderr, "apogee-broker: %s\n", read.status().ToString().c_str());
      return 2;
    }
    text = std::move(*read);
  }
  broker::BrokerConfig defaults;
  Result<broker::BrokerConfigLoad> load = broker::LoadBrokerConfig(*cl, text, defaults);
  if (!load.ok()) {
    std::fprintf(stderr, "apogee-broker: %s: %s\n", file.c_str(), load.status().message().c_str());
    return 2;
  }
  for (const std::string& w : load->warnings) {
    std::fprintf(stderr, "apogee-broker: %s: %s\n", file.c_str(), w.c_str());
  }
  if (cl->print_config || cl->print_important) {
    std::fputs(broker::RenderBrokerConfig(load->config, cl->print_important).c_str(), stdout);
    return 0;
  }
  SetLogLevel(LogLevel::kInfo);
  broker::BrokerConfig config = load->config;
  // The daemon's disk is rooted at storePathRootDir; inside it the broker's root is ".".
  const std::string data_root = config.store_root;
  config.store_root = std::string(1, '.');
  return daemons::RunDaemon(
      config.broker_name, data_root, [config](io::Env& env) -> Result<std::function<void()>> {
        Result<std::unique_ptr<broker::Broker>> b = broker::Broker::Start(env, config);
        if (!b.ok()) return b.status();
        LOG_INFO("apogee-broker {} serving at {}", config.broker_name, (*b)->address().ToString());
        std::shared_ptr<broker::Broker> owned(std::move(*b));
        return std::function<void()>([owned] { owned->Shutdown(); });
      });
}
