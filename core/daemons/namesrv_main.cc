// apogee-namesrv: the nameserver daemon, started as mqnamesrv is:
//   apogee-namesrv [-c namesrv.conf] [-p] [-h]
// Listens on listenPort (9876 by default), keeps no state on disk, stops cleanly on SIGTERM.
// Exit codes: 0 after a clean stop (or -p / -h), 1 if it cannot start, 2 for a bad command line
// or configuration.

#include <cstdio>
#include <string>

#include "core/base/log.h"
#include "core/daemons/daemon.h"
#include "core/io/posix/signals.h"
#include "core/nameserver/name_server.h"
#include "core/nameserver/namesrv_config_file.h"

int main(int argc, char** argv) {
  using namespace apogee;
  Result<nameserver::NamesrvCommandLine> cl =
      nameserver::ParseNamesrvArgs(daemons::ArgsOf(argc, argv));
  if (!cl.ok()) {
    std::fprintf(stderr, "apogee-namesrv: %s\n", cl.status().message().c_str());
    return 2;
  }
  if (cl->help) {
    std::fputs(nameserver::NamesrvUsage().c_str(), stdout);
    return 0;
  }
  std::string text;
  if (cl->config_file.has_value()) {
    Result<std::string> read = io::ReadTextFile(*cl->config_file);
    if (!read.ok()) {
      std::fprintf(stderr, "apogee-namesrv: %s\n", read.status().ToString().c_str());
      return 2;
    }
    text = std::move(*read);
  }
  Result<nameserver::NamesrvConfigLoad> load =
      nameserver::ParseNamesrvConfig(text, nameserver::NamesrvConfig{});
  if (!load.ok()) {
    std::fprintf(stderr, "apogee-namesrv: %s: %s\n", cl->config_file.value_or("").c_str(),
                 load.status().message().c_str());
    return 2;
  }
  for (const std::string& w : load->warnings) {
    std::fprintf(stderr, "apogee-namesrv: %s: %s\n", cl->config_file.value_or("").c_str(),
                 w.c_str());
  }
  if (cl->print_config) {
    std::fputs(nameserver::RenderNamesrvConfig(load->config).c_str(), stdout);
    return 0;
  }
  SetLogLevel(LogLevel::kInfo);
  nameserver::NamesrvConfig config = load->config;
  // The nameserver keeps nothing on disk; its disk root is never touched.
  return daemons::RunDaemon("namesrv", "/nonexistent-apogee-namesrv",
                            [config](io::Env& env) -> Result<std::function<void()>> {
                              Result<std::unique_ptr<nameserver::NameServer>> server =
                                  nameserver::NameServer::Start(env, config);
                              if (!server.ok()) return server.status();
                              LOG_INFO("apogee-namesrv listening on {}",
                                       (*server)->address().ToString());
                              std::shared_ptr<nameserver::NameServer> owned(std::move(*server));
                              return std::function<void()>([owned] { owned->Stop(); });
                            });
}
