#include "core/io/posix/posix_network.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

#include "core/io/posix/errors.h"
#include "core/io/posix/socket_address.h"
#include "core/io/posix/unique_fd.h"
#include "core/io/sync.h"

namespace apogee::io {
namespace {

// Most unread input Close() discards to end the stream with FIN rather than RST.
constexpr size_t kCloseDrainBytesMax = 16 * 1024 * 1024;

// A socket and its registration, shared by its owner and by every fiber blocked on it, so that
// a fiber woken by Close() (or by the owner's destruction) never touches freed memory.
// Invariants: `watch` is registered exactly while `fd` is open.
struct Socket {
  Socket(UniqueFd f, std::unique_ptr<FdWatch> w) : fd(std::move(f)), watch(std::move(w)) {
    APOGEE_ASSERT(fd.valid());
    APOGEE_ASSERT(watch->registered());
  }
  ~Socket() { Shut(/*reset=*/false); }

  bool closed() const { return !fd.valid(); }
  // Closes the socket (abortively, with RST, when `reset`) and wakes every fiber blocked on it,
  // which then sees closed(). Idempotent.
  void Shut(bool reset) {
    if (closed()) return;
    watch->Unregister();
    if (reset) {
      linger abort{.l_onoff = 1, .l_linger = 0};
      // If this fails the close below is orderly instead: the peer still sees the stream end.
      ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
    }
    fd.Reset();
    watch->WakeAll();
    APOGEE_ASSERT(!watch->registered());
  }

  UniqueFd fd;
  std::unique_ptr<FdWatch> watch;  // declared after `fd`, so destroyed before it closes
};

Status ClosedError(std::string_view what) {
  return Status(ErrorCode::kClosed, fmt::format("{}: connection closed", what));
}

// An established stream failed: every such errno means the same to the caller.
Status StreamError(int err, std::string_view what) {
  switch (err) {
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENOTCONN:
      return Status(ErrorCode::kConnectionReset, fmt::format("{}: {}", what, ErrnoText(err)));
    default:
      return NetError(err, what);
  }
}

// Reads and discards what the peer sent and we did not read, without blocking: Linux answers
// the close of a socket with unread input by RST, which could destroy data the peer has not
// read yet.
void DrainInput(int fd) {
  uint8_t scratch[4096];
  size_t drained = 0;
  while (drained < kCloseDrainBytesMax) {
    ssize_t n = ::recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    drained += static_cast<size_t>(n);
  }
}

class PosixConnection final : public Connection {
 public:
  PosixConnection(std::shared_ptr<Socket> socket, Address local, Address peer)
      : socket_(std::move(socket)), local_(std::move(local)), peer_(std::move(peer)) {}
  ~PosixConnection() override { Close(); }

  Result<size_t> Read(std::span<uint8_t> buf, Deadline deadline) override {
    std::shared_ptr<Socket> s = socket_;  // keeps the socket alive while this fiber waits
    for (;;) {
      if (s->closed()) return ClosedError("read");
      if (buf.empty()) return size_t{0};
      ssize_t n = ::recv(s->fd.get(), buf.data(), buf.size(), 0);
      if (n >= 0) return static_cast<size_t>(n);
      int err = errno;
      if (err == EINTR) continue;
      if (err != EAGAIN && err != EWOULDBLOCK) {
        return StreamError(err, fmt::format("read from {}", peer_.ToString()));
      }
      WakeReason r = s->watch->WaitReadable(deadline);
      if (r == WakeReason::kTimeout) return Status(ErrorCode::kTimeout, "read timed out");
      if (r == WakeReason::kKilled) return WaitStatus(r, "read");
    }
  }

  Status Write(std::span<const uint8_t> data, Deadline deadline) override {
    std::shared_ptr<Socket> s = socket_;  // keeps the socket alive while this fiber waits
    size_t sent = 0;
    // Leaving with part of `data` sent (error, deadline, kill) would leave a torn frame in the
    // stream: reset it instead, so the peer sees a failure and never a hole.
    struct TornGuard {
      Socket* socket;
      const size_t* sent;
      size_t size;
      ~TornGuard() {
        if (*sent > 0 && *sent < size) socket->Shut(/*reset=*/true);
      }
    } torn{s.get(), &sent, data.size()};
    if (s->closed()) return ClosedError("write");
    while (sent < data.size()) {
      if (s->closed()) return ClosedError("write");
      ssize_t n = ::send(s->fd.get(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      int err = n < 0 ? errno : EAGAIN;
      if (err == EINTR) continue;
      if (err != EAGAIN && err != EWOULDBLOCK) {
        return StreamError(err, fmt::format("write to {}", peer_.ToString()));
      }
      WakeReason r = s->watch->WaitWritable(deadline);
      if (r == WakeReason::kTimeout) {
        return Status(ErrorCode::kTimeout,
                      fmt::format("write timed out after {} of {} bytes{}", sent, data.size(),
                                  sent > 0 ? " (connection reset)" : ""));
      }
      if (r == WakeReason::kKilled) return WaitStatus(r, "write");
    }
    APOGEE_ASSERT(sent == data.size());
    return Status::Ok();
  }

  void Close() override {
    if (socket_->closed()) return;
    DrainInput(socket_->fd.get());
    socket_->Shut(/*reset=*/false);
  }

  void Reset() override { socket_->Shut(/*reset=*/true); }
  Address LocalAddress() const override { return local_; }
  Address PeerAddress() const override { return peer_; }

 private:
  std::shared_ptr<Socket> socket_;
  Address local_;
  Address peer_;
};

Status SetNoDelay(int fd) {
  int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
    return NetError(errno, "setsockopt(TCP_NODELAY)");
  }
  return Status::Ok();
}

std::unique_ptr<Connection> MakeConnection(UniqueFd fd, std::unique_ptr<FdWatch> watch) {
  Address local = LocalAddressOf(fd.get());
  Address peer = PeerAddressOf(fd.get());
  auto socket = std::make_shared<Socket>(std::move(fd), std::move(watch));
  return std::make_unique<PosixConnection>(std::move(socket), std::move(local), std::move(peer));
}

class PosixListener final : public Listener {
 public:
  PosixListener(PosixReactor& reactor, std::shared_ptr<Socket> socket, Address local)
      : reactor_(reactor), socket_(std::move(socket)), local_(std::move(local)) {}
  ~PosixListener() override { Close(); }

  Result<std::unique_ptr<Connection>> Accept(Deadline deadline) override {
    std::shared_ptr<Socket> s = socket_;  // keeps the socket alive while this fiber waits
    for (;;) {
      if (s->closed()) return Status(ErrorCode::kClosed, "accept: listener closed");
      int fd = ::accept4(s->fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        UniqueFd accepted(fd);
        APOGEE_RETURN_IF_ERROR(SetNoDelay(accepted.get()));
        APOGEE_ASSIGN_OR_RETURN(std::unique_ptr<FdWatch> watch, reactor_.Watch(accepted.get()));
        return MakeConnection(std::move(accepted), std::move(watch));
      }
      int err = errno;
      // A connection that was reset while queued, or a signal: take the next one.
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
      if (err != EAGAIN && err != EWOULDBLOCK) {
        return NetError(err, fmt::format("accept on {}", local_.ToString()));
      }
      WakeReason r = s->watch->WaitReadable(deadline);
      if (r == WakeReason::kTimeout) return Status(ErrorCode::kTimeout, "accept timed out");
      if (r == WakeReason::kKilled) return WaitStatus(r, "accept");
    }
  }

  void Close() override { socket_->Shut(/*reset=*/false); }
  Address LocalAddress() const override { return local_; }

 private:
  PosixReactor& reactor_;
  std::shared_ptr<Socket> socket_;
  Address local_;
};

// Waits until a non-blocking connect() has finished. Returns OK when connected; the mapped
// error of the connect (kConnectionRefused, ...); kTimeout at the deadline.
Status AwaitConnected(int fd, FdWatch& watch, const Address& to, Deadline deadline) {
  bool timed_out = false;
  for (;;) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return NetError(err, fmt::format("connect to {}", to.ToString()));
    sockaddr_in peer{};
    socklen_t peer_len = sizeof(peer);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) {
      return Status::Ok();
    }
    // One last look after the deadline: the connect may have finished just as it passed.
    if (timed_out) {
      return Status(ErrorCode::kTimeout, fmt::format("connect to {} timed out", to.ToString()));
    }
    WakeReason r = watch.WaitWritable(deadline);
    if (r == WakeReason::kTimeout) timed_out = true;
    if (r == WakeReason::kKilled) return WaitStatus(r, "connect");
  }
}

}  // namespace

Result<std::unique_ptr<Listener>> PosixNetwork::Listen(const Address& address) {
  APOGEE_ASSIGN_OR_RETURN(sockaddr_in addr, LiteralAddress(address));
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return NetError(errno, "socket");
  int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    return NetError(errno, "setsockopt(SO_REUSEADDR)");
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return NetError(errno, fmt::format("bind {}", address.ToString()));
  }
  if (::listen(fd.get(), kListenBacklog) != 0) {
    return NetError(errno, fmt::format("listen on {}", address.ToString()));
  }
  APOGEE_ASSIGN_OR_RETURN(std::unique_ptr<FdWatch> watch, reactor_.Watch(fd.get()));
  Address local = LocalAddressOf(fd.get());
  APOGEE_ASSERT(address.port == 0 || local.port == address.port);
  auto socket = std::make_shared<Socket>(std::move(fd), std::move(watch));
  return std::unique_ptr<Listener>(
      std::make_unique<PosixListener>(reactor_, std::move(socket), std::move(local)));
}

Result<std::unique_ptr<Connection>> PosixNetwork::Connect(const Address& address,
                                                          Duration timeout) {
  Deadline deadline = SaturatingAdd(reactor_.Now(), timeout);
  APOGEE_ASSIGN_OR_RETURN(sockaddr_in to, ResolveAddress(address, pool_, deadline));
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return NetError(errno, "socket");
  APOGEE_RETURN_IF_ERROR(SetNoDelay(fd.get()));
  int rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), sizeof(to));
  // EINTR: the connect goes on in the background, exactly as with EINPROGRESS.
  if (rc != 0 && errno != EINPROGRESS && errno != EINTR) {
    return NetError(errno, fmt::format("connect to {}", address.ToString()));
  }
  // Registered only now: an unconnected TCP socket reports EPOLLOUT|EPOLLHUP at once.
  APOGEE_ASSIGN_OR_RETURN(std::unique_ptr<FdWatch> watch, reactor_.Watch(fd.get()));
  if (rc != 0) {
    Status connected = AwaitConnected(fd.get(), *watch, address, deadline);
    if (!connected.ok()) {
      watch.reset();  // unregister before `fd` closes
      return connected;
    }
  }
  return MakeConnection(std::move(fd), std::move(watch));
}

}  // namespace apogee::io
