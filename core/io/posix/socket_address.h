#pragma once

// IPv4 socket addresses for the POSIX network: parsing hosts, resolving names, and the
// conversions between io::Address and sockaddr_in.

#include <netinet/in.h>

#include "core/base/status.h"
#include "core/base/time.h"
#include "core/io/network.h"
#include "core/io/posix/io_pool.h"

namespace apogee::io {

// A host that needs no lookup: "" and "0.0.0.0" (every interface), "localhost" (127.0.0.1) or
// an IPv4 literal. Fails with kInvalidArgument for anything else. Never blocks.
Result<sockaddr_in> LiteralAddress(const Address& address);

// LiteralAddress(), else a name lookup (getaddrinfo, IPv4 only) on `pool` until `deadline`.
// Fails with kInvalidArgument for an empty host or a malformed numeric one, kHostUnreachable
// for a name that does not resolve, kTimeout at the deadline. May yield.
Result<sockaddr_in> ResolveAddress(const Address& address, IoPool& pool, Deadline deadline);

Address FromSockaddr(const sockaddr_in& addr);

// getsockname() / getpeername() of a socket, or an empty Address if the call fails (the
// socket was reset before we asked): addresses are for logs, not worth failing a call for.
Address LocalAddressOf(int fd);
Address PeerAddressOf(int fd);

}  // namespace apogee::io
