#pragma once

// PosixNetwork: io::Network over non-blocking IPv4 TCP sockets driven by the reactor. It keeps
// the contract of core/io/network.h; what is particular to sockets:
//
//   - Hosts: Listen() takes "", "0.0.0.0" (every interface), "localhost" or an IPv4 literal.
//     Connect() also resolves names (getaddrinfo on the I/O pool, within the connect timeout);
//     a name that does not resolve is kHostUnreachable, a malformed address kInvalidArgument.
//   - Listeners set SO_REUSEADDR, so a restarted daemon can bind its port while old
//     connections linger in TIME_WAIT; a port another socket listens on is kAddressInUse.
//   - Connections set TCP_NODELAY: RocketMQ frames are small and latency matters more than the
//     packets Nagle would save.
//   - Writes use MSG_NOSIGNAL: a write to a reset peer is kConnectionReset, never SIGPIPE.
//   - A Write() that fails after part of `data` left (deadline, kill) resets the connection:
//     the peer must never read a torn frame followed by the next one. A Write() that fails
//     before any byte left leaves the connection usable.
//   - Close() discards unread input before closing, so the kernel ends the stream with FIN, not
//     RST, and the peer reads everything that was written. Reset() sets SO_LINGER {1, 0} and
//     closes, which sends RST.
//   - Socket errors of an established stream (ECONNRESET, EPIPE, ETIMEDOUT from keepalive or
//     retransmission, unreachable) all mean the stream failed: kConnectionReset.
//   - Read() into an empty buffer returns 0 at once.
//   - A Connection or Listener may be destroyed while another fiber is blocked on it: that
//     fiber is woken with kClosed and nothing it touches is freed under it.
// REQUIRES: used on the reactor's loop thread, from fibers for the calls that may yield.

#include <memory>

#include "core/io/network.h"
#include "core/io/posix/io_pool.h"
#include "core/io/posix/reactor.h"

namespace apogee::io {

class PosixNetwork final : public Network {
 public:
  // Pending connections a listener queues before Accept() takes them.
  static constexpr int kListenBacklog = 1024;

  // REQUIRES: `reactor` (attached to its runtime) and `pool` outlive every socket made here.
  PosixNetwork(PosixReactor& reactor, IoPool& pool) : reactor_(reactor), pool_(pool) {}

  Result<std::unique_ptr<Listener>> Listen(const Address& address) override;
  // May yield.
  Result<std::unique_ptr<Connection>> Connect(const Address& address, Duration timeout) override;

 private:
  PosixReactor& reactor_;
  IoPool& pool_;
};

}  // namespace apogee::io
