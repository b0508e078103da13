#include "core/io/posix/socket_address.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstring>

namespace apogee::io {
namespace {

bool LooksNumeric(const std::string& host) {
  for (char c : host) {
    if ((c < '0' || c > '9') && c != '.') return false;
  }
  return true;
}

sockaddr_in MakeSockaddr(in_addr_t host_order_ip, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(host_order_ip);
  return addr;
}

}  // namespace

Result<sockaddr_in> LiteralAddress(const Address& address) {
  if (address.host.empty() || address.host == "0.0.0.0") {
    return MakeSockaddr(INADDR_ANY, address.port);
  }
  if (address.host == "localhost") return MakeSockaddr(INADDR_LOOPBACK, address.port);
  sockaddr_in addr = MakeSockaddr(INADDR_ANY, address.port);
  if (::inet_pton(AF_INET, address.host.c_str(), &addr.sin_addr) != 1) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("'{}' is not an IPv4 address", address.host));
  }
  return addr;
}

Result<sockaddr_in> ResolveAddress(const Address& address, IoPool& pool, Deadline deadline) {
  if (address.host.empty()) {
    return Status(ErrorCode::kInvalidArgument, "connect to an address without a host");
  }
  Result<sockaddr_in> literal = LiteralAddress(address);
  // A numeric host that inet_pton refused ("300.1.2.3") is malformed, not a name to look up.
  if (literal.ok() || LooksNumeric(address.host)) return literal;
  std::string host = address.host;
  uint16_t port = address.port;
  return pool.Call<Result<sockaddr_in>>(
      [host, port]() -> Result<sockaddr_in> {
        addrinfo hints{};
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* found = nullptr;
        int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
        if (rc != 0 || found == nullptr) {
          return Status(ErrorCode::kHostUnreachable,
                        fmt::format("cannot resolve '{}': {}", host, ::gai_strerror(rc)));
        }
        sockaddr_in addr{};
        APOGEE_ASSERT(found->ai_addrlen == sizeof(addr));
        std::memcpy(&addr, found->ai_addr, sizeof(addr));
        ::freeaddrinfo(found);
        addr.sin_port = htons(port);
        return addr;
      },
      deadline);
}

Address FromSockaddr(const sockaddr_in& addr) {
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &addr.sin_addr, text, sizeof(text));
  return Address{text, ntohs(addr.sin_port)};
}

Address LocalAddressOf(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return Address{};
  return FromSockaddr(addr);
}

Address PeerAddressOf(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return Address{};
  return FromSockaddr(addr);
}

}  // namespace apogee::io
