// apogee-load: a load generator over the project's own clients.
//   apogee-load produce --namesrv 127.0.0.1:9876 --topic T --size 100 --count 100000 --inflight 256
//   apogee-load consume --namesrv 127.0.0.1:9876 --topic T --duration 30 --json
// Prints a summary (or, with --json, one JSON object) on stdout; progress goes to stderr.
// Exit codes: 0 when every send succeeded (produce) or something was received (consume),
// 1 otherwise or if the client could not start, 2 for a bad command line.

#include <cstdio>

#include "core/base/log.h"
#include "core/daemons/daemon.h"
#include "core/io/posix/posix_env.h"
#include "core/load/load_runner.h"

int main(int argc, char** argv) {
  using namespace apogee;
  Result<load::LoadOptions> options = load::ParseLoadArgs(daemons::ArgsOf(argc, argv));
  if (!options.ok()) {
    std::fprintf(stderr, "%s", options.status().message().c_str());
    return 2;
  }
  SetLogLevel(options->progress_every > Duration::zero() ? LogLevel::kInfo : LogLevel::kWarn);
  int exit_code = 1;
  io::PosixEnv::RunMain("apogee-load", "/nonexistent-apogee-load", [&](io::Env& env) {
    Result<load::LoadReport> report = load::RunLoad(env, *options);
    if (!report.ok()) {
      std::fprintf(stderr, "apogee-load: %s\n", report.status().ToString().c_str());
      return;
    }
    std::string out = options->json ? load::ReportJson(*options, *report) + "\n"
                                    : load::ReportText(*options, *report);
    std::fputs(out.c_str(), stdout);
    bool good = options->mode == load::LoadMode::kProduce ? report->failed == 0 && report->ok > 0
                                                          : report->ok > 0;
    exit_code = good ? 0 : 1;
  });
  return exit_code;
}
