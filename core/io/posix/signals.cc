#include "core/io/posix/signals.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

#include "core/base/assert.h"
#include "core/io/posix/errors.h"

namespace apogee::io {

namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr);
  APOGEE_ASSERT(rc == 0, "pthread_sigmask: {}", ErrnoText(rc));
}

Result<std::unique_ptr<SignalWaiter>> SignalWaiter::Open(PosixReactor& reactor) {
  sigset_t set = TerminationSignals();
  int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return Status(ErrorCode::kIoError, fmt::format("signalfd: {}", ErrnoText(errno)));
  UniqueFd owned(fd);
  Result<std::unique_ptr<FdWatch>> watch = reactor.Watch(fd);
  if (!watch.ok()) return watch.status();
  return std::unique_ptr<SignalWaiter>(new SignalWaiter(std::move(owned), std::move(*watch)));
}

SignalWaiter::SignalWaiter(UniqueFd fd, std::unique_ptr<FdWatch> watch)
    : fd_(std::move(fd)), watch_(std::move(watch)) {}

SignalWaiter::~SignalWaiter() { watch_.reset(); }

int SignalWaiter::WaitForSignal() {
  for (;;) {
    signalfd_siginfo info{};
    ssize_t n = ::read(fd_.get(), &info, sizeof(info));
    if (n == static_cast<ssize_t>(sizeof(info))) return static_cast<int>(info.ssi_signo);
    APOGEE_ASSERT(n < 0 && (errno == EAGAIN || errno == EINTR), "signalfd read: {}",
                  n < 0 ? ErrnoText(errno) : "short read");
    watch_->WaitReadable();
  }
}

Result<std::string> ReadTextFile(const std::string& path) {
  constexpr size_t kBytesMax = 16u << 20;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return DiskError(errno, fmt::format("open {}", path));
  UniqueFd owned(fd);
  std::string text;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return DiskError(errno, fmt::format("read {}", path));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kBytesMax) {
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("{} is larger than {} bytes", path, kBytesMax));
    }
  }
  return text;
}

}  // namespace apogee::io
