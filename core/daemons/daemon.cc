#include "core/daemons/daemon.h"

#include <csignal>
#include <vector>

#include "core/base/log.h"
#include "core/io/posix/posix_env.h"
#include "core/io/posix/signals.h"

namespace apogee::daemons {

int RunDaemon(const std::string& node, const std::string& data_root, const StartFn& start) {
  io::BlockTerminationSignals();
  io::PosixEnv posix(node, data_root);
  int exit_code = 1;
  posix.env().scheduler.Spawn("main", [&] {
    Result<std::unique_ptr<io::SignalWaiter>> waiter = io::SignalWaiter::Open(posix.reactor());
    if (!waiter.ok()) {
      LOG_ERROR("cannot watch termination signals: {}", waiter.status().ToString());
      posix.Stop();
      return;
    }
    Result<std::function<void()>> stop = start(posix.env());
    if (!stop.ok()) {
      LOG_ERROR("{} failed to start: {}", node, stop.status().ToString());
      posix.Stop();
      return;
    }
    int signal = (*waiter)->WaitForSignal();
    LOG_INFO("{}: signal {} received, shutting down", node,
             signal == SIGTERM  ? "SIGTERM"
             : signal == SIGINT ? "SIGINT"
                                : "SIGHUP");
    (*stop)();
    LOG_INFO("{}: stopped cleanly", node);
    exit_code = 0;
    posix.Stop();
  });
  posix.Run();
  return exit_code;
}

std::vector<std::string> ArgsOf(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return args;
}

}  // namespace apogee::daemons
