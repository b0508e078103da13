#pragma once

// The loopback integration tests' harness: real apogee-namesrv, apogee-broker and apogee-load
// processes on free local ports, each test in its own temporary directory.
//
// Cleanup is by destructors, so it also happens when an assertion returns from the test early:
// a Process kills (SIGKILL) and reaps its child if it still runs, a TempDir removes its tree
// (kept when APOGEE_KEEP_TEST_DIRS is set, for a post-mortem). Every child writes its stdout and
// stderr to files in the test's directory; DumpLogs() prints them when a test failed.
//
// The executables' paths come from the build (compile definitions APOGEE_NAMESRV_BIN,
// APOGEE_BROKER_BIN and APOGEE_LOAD_BIN, set in tests/CMakeLists.txt).

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/base/log.h"
#include "core/client/client_instance.h"
#include "core/io/env.h"
#include "core/io/posix/posix_env.h"

extern char** environ;

namespace apogee::integration {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

inline const char* const kNamesrvBin = APOGEE_NAMESRV_BIN;
inline const char* const kBrokerBin = APOGEE_BROKER_BIN;
inline const char* const kLoadBin = APOGEE_LOAD_BIN;

// A fresh directory under the system's temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "apogee-it-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
      return;
    }
    path_ = pattern;
  }
  ~TempDir() {
    if (path_.empty()) return;
    if (std::getenv("APOGEE_KEEP_TEST_DIRS") != nullptr) {
      std::fprintf(stderr, "keeping %s\n", path_.c_str());
      return;
    }
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A local TCP port that was free a moment ago: the kernel's pick for a bind to port 0. Another
// process may take it before the daemon binds it; the daemon then fails to start and the caller
// picks again (Cluster does).
inline uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  uint16_t port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// One child process, its stdout and stderr appended to <dir>/<name>.out and <name>.err.
// Invariants: while pid_ > 0 the child has not been reaped.
class Process {
 public:
  // Starts `argv` (argv[0] is the executable's path) with an empty signal mask and default
  // signal dispositions. Check started() after.
  Process(std::string name, const fs::path& dir, std::vector<std::string> argv)
      : name_(std::move(name)), out_(dir / (name_ + ".out")), err_(dir / (name_ + ".err")) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t empty;
    sigemptyset(&empty);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc == 0) pid_ = pid;
  }
  ~Process() { Kill(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool started() const { return pid_ > 0 || exit_code_.has_value(); }
  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }

  // True while the child has not exited (reaps it if it has).
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      Reaped(status);
      return false;
    }
    return true;
  }

  // Waits up to `timeout` for the child to exit; its exit code, 128 + signal if a signal ended
  // it, or nullopt if it still runs.
  std::optional<int> Wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Running()) {
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(5ms);
    }
    return exit_code_;
  }

  // SIGTERM, then the exit code as Wait() gives it (nullopt if still running after `timeout`;
  // the destructor kills it then).
  std::optional<int> Terminate(std::chrono::milliseconds timeout = 15s) {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
    return Wait(timeout);
  }

  // SIGKILL and reap. Idempotent.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    Reaped(status);
  }

  std::string Stdout() const { return ReadFile(out_); }
  std::string Stderr() const { return ReadFile(err_); }

  // Waits until the child's stderr contains `text`; false if it exits or `timeout` passes first.
  bool WaitForStderr(const std::string& text, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (Stderr().find(text) != std::string::npos) return true;
      if (!Running() || std::chrono::steady_clock::now() >= deadline) {
        return Stderr().find(text) != std::string::npos;
      }
      std::this_thread::sleep_for(10ms);
    }
  }

 private:
  void Reaped(int status) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = 0;
  }

  std::string name_;
  fs::path out_;
  fs::path err_;
  pid_t pid_ = 0;
  std::optional<int> exit_code_;
};

// Runs `body` on a fiber of a fresh PosixEnv (a client node of the test process) and returns
// when it ends. The env's disk is rooted in `dir`.
inline void RunClient(const fs::path& dir, const std::function<void(io::Env&)>& body) {
  // The client library's info lines (route fallbacks, rebalances) would bury the test's output.
  SetLogLevel(LogLevel::kWarn);
  int rc = io::PosixEnv::RunMain("test-client", (dir / "client").string(), body);
  EXPECT_EQ(rc, 0) << "the client body did not finish";
}

// Waits until the nameservers at `namesrv` know `topic` (the broker registered). May yield.
inline bool WaitForRoute(io::Env& env, const std::string& namesrv, const std::string& topic,
                         Duration timeout) {
  client::ClientConfig config;
  config.namesrv_addrs = {namesrv};
  config.instance_name = "route-probe";
  config.rpc_timeout = 1s;
  client::ClientInstance probe(env, config);
  Instant deadline = env.clock.Now() + timeout;
  for (;;) {
    if (probe.UpdateRoute(topic).ok()) return true;
    if (env.clock.Now() >= deadline) return false;
    env.scheduler.Sleep(50ms);
  }
}

// The same from outside any env.
inline bool WaitForRoute(const fs::path& dir, const std::string& namesrv, const std::string& topic,
                         Duration timeout) {
  bool found = false;
  RunClient(dir, [&](io::Env& env) { found = WaitForRoute(env, namesrv, topic, timeout); });
  return found;
}

struct ClusterOptions {
  std::string flush_disk_type = "SYNC_FLUSH";
  // More broker.conf lines ("key=value\n" each).
  std::string broker_extra;
};

// A nameserver and a broker of one test, in one temporary directory.
class Cluster {
 public:
  Cluster() = default;
  explicit Cluster(ClusterOptions options) : options_(std::move(options)) {}
  ~Cluster() {
    // Children first, then the directory they write in.
    broker_.reset();
    namesrv_.reset();
  }

  const fs::path& dir() const { return dir_.path(); }
  std::string namesrv_addr() const { return fmt::format("127.0.0.1:{}", namesrv_port_); }
  uint16_t namesrv_port() const { return namesrv_port_; }
  uint16_t broker_port() const { return broker_port_; }
  Process* namesrv() { return namesrv_.get(); }
  Process* broker() { return broker_.get(); }

  // Starts the nameserver on a free port (on `port` if given); true once it listens.
  bool StartNamesrv(uint16_t port = 0) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      namesrv_port_ = port != 0 ? port : FreePort();
      WriteFile(dir() / "namesrv.conf", fmt::format("listenPort={}\n", namesrv_port_));
      namesrv_ = std::make_unique<Process>(
          "namesrv", dir(),
          std::vector<std::string>{kNamesrvBin, "-c", (dir() / "namesrv.conf").string()});
      if (namesrv_->WaitForStderr("apogee-namesrv listening on", 10s)) return true;
      namesrv_.reset();
      if (port != 0) break;
    }
    return false;
  }

  // Picks the nameserver's port without starting it (for a nameserver that comes up late).
  void ReserveNamesrvPort() { namesrv_port_ = FreePort(); }

  std::string BrokerConf() const {
    return fmt::format(
        "brokerClusterName=ItCluster\n"
        "brokerName=it-broker\n"
        "listenPort={}\n"
        "namesrvAddr={}\n"
        "storePathRootDir={}\n"
        "flushDiskType={}\n"
        "mappedFileSizeCommitLog=67108864\n"
        "maxHashSlotNum=100000\n"
        "maxIndexNum=400000\n"
        "flushConsumerOffsetInterval=1000\n"
        "{}",
        broker_port_, namesrv_addr(), (dir() / "broker-store").string(), options_.flush_disk_type,
        options_.broker_extra);
  }

  // Starts the broker on a free port; true once it serves.
  bool StartBroker() {
    for (int attempt = 0; attempt < 5; ++attempt) {
      broker_port_ = FreePort();
      if (LaunchBroker()) return true;
      broker_.reset();
    }
    return false;
  }

  // Restarts a stopped or killed broker on the same port and store; true once it serves. The
  // daemon's listen socket reuses the address, so a port in TIME_WAIT does not stop it.
  bool RestartBroker() { return LaunchBroker(); }

  // Starts both and waits for the broker's registration. True when all of it worked.
  bool Start() {
    if (!StartNamesrv()) return false;
    if (!StartBroker()) return false;
    return WaitForRoute(dir(), namesrv_addr(), "TBW102", 10s);
  }

  // Prints every child's stderr and stdout (call when a test failed).
  void DumpLogs() const {
    for (const char* name : {"namesrv", "broker"}) {
      for (const char* ext : {".err", ".out"}) {
        std::string text = ReadFile(dir() / (std::string(name) + ext));
        if (text.size() > 20000) text = "..." + text.substr(text.size() - 20000);
        if (!text.empty()) std::fprintf(stderr, "--- %s%s ---\n%s\n", name, ext, text.c_str());
      }
    }
  }

 private:
  // Starts the broker process and waits for the "serving at" line of this start (each start
  // appends one to broker.err).
  bool LaunchBroker() {
    WriteFile(dir() / "broker.conf", BrokerConf());
    broker_ = std::make_unique<Process>(
        "broker", dir(),
        std::vector<std::string>{kBrokerBin, "-c", (dir() / "broker.conf").string()});
    const std::string line = "apogee-broker it-broker serving at";
    auto deadline = std::chrono::steady_clock::now() + 15s;
    for (;;) {
      std::string err = broker_->Stderr();
      size_t count = 0;
      for (size_t pos = err.find(line); pos != std::string::npos; pos = err.find(line, pos + 1)) {
        ++count;
      }
      if (count > starts_seen_) {
        starts_seen_ = count;
        return true;
      }
      if (!broker_->Running() || std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
  }

  ClusterOptions options_;
  TempDir dir_;
  uint16_t namesrv_port_ = 0;
  uint16_t broker_port_ = 0;
  size_t starts_seen_ = 0;  // "serving at" lines in broker.err so far
  std::unique_ptr<Process> namesrv_;
  std::unique_ptr<Process> broker_;
};

// Dumps the cluster's logs when the test has failed so far; declare it right after the
// Cluster so it runs before the children are killed.
class DumpLogsOnFailure {
 public:
  explicit DumpLogsOnFailure(const Cluster& cluster) : cluster_(cluster) {}
  ~DumpLogsOnFailure() {
    if (::testing::Test::HasFailure()) cluster_.DumpLogs();
  }

 private:
  const Cluster& cluster_;
};

}  // namespace apogee::integration
