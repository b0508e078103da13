#pragma once

// Network: stream connections between nodes, the shape of TCP.
//
// Contract (both backends):
//   - Read() (REQUIRES: buf is not empty) returns between 1 and buf.size() bytes as soon as any are
//   available (partial reads
//     are normal: callers loop), 0 at an orderly end of stream (the peer closed its side after
//     everything it wrote), or an error: kConnectionReset (peer reset, crashed, or the path
//     failed), kClosed (this side was closed), kTimeout (the deadline passed; the connection is
//     still usable).
//   - Write() writes all of `data` or fails; it may wait for the peer to drain (backpressure).
//     Bytes written are delivered in order, exactly once, or the connection fails: a stream
//     never has holes. Success means the bytes left this node, not that the peer read them.
//     After a failed Write (a deadline included) part of `data` may have been sent: the
//     connection must not be written again; close or reset it. (The POSIX backend resets it
//     itself when part was sent, so the peer never reads a torn frame.)
//   - A write to a connection whose peer has closed or reset eventually fails with
//     kConnectionReset.
//   - Close() is orderly: the peer reads what was written, then end of stream; input not yet
//     read by this side is discarded. Reset() is
//     abortive: the peer sees kConnectionReset and unread data is lost. Either wakes any fiber
//     of this side blocked on the connection, which then gets kClosed. Destroying a Connection
//     closes it.
//   - One fiber may read while another writes; two concurrent readers (or writers) are not
//     allowed.
//   - Connect() fails with kConnectionRefused when nothing listens at the address, kTimeout when
//     no answer comes in time (for example across a partition), kHostUnreachable for an unknown
//     host.
// Every call that may yield says so.

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/base/status.h"
#include "core/base/time.h"

namespace apogee::io {

struct Address {
  std::string host;  // an IPv4 address or, in the simulator, a node's address
  uint16_t port = 0;

  std::string ToString() const;
  // Parses "host:port".
  static Result<Address> Parse(std::string_view text);
  bool operator==(const Address&) const = default;
  auto operator<=>(const Address&) const = default;
};

class Connection {
 public:
  virtual ~Connection() = default;
  // May yield.
  virtual Result<size_t> Read(std::span<uint8_t> buf, Deadline deadline = {}) = 0;
  // May yield.
  virtual Status Write(std::span<const uint8_t> data, Deadline deadline = {}) = 0;
  virtual void Close() = 0;
  virtual void Reset() = 0;
  virtual Address LocalAddress() const = 0;
  virtual Address PeerAddress() const = 0;

  // Reads exactly buf.size() bytes. End of stream before that is kClosed ("unexpected end of
  // stream"). May yield.
  Status ReadFull(std::span<uint8_t> buf, Deadline deadline = {});
};

class Listener {
 public:
  virtual ~Listener() = default;
  // Waits for the next incoming connection. After Close() it fails with kClosed. May yield.
  virtual Result<std::unique_ptr<Connection>> Accept(Deadline deadline = {}) = 0;
  // Stops listening: new connects are refused, a blocked Accept() returns kClosed.
  virtual void Close() = 0;
  // The bound address (with the real port when port 0 was asked for).
  virtual Address LocalAddress() const = 0;
};

class Network {
 public:
  virtual ~Network() = default;
  // Listens on `address` (host empty or "0.0.0.0" for every interface; port 0 picks a free
  // port). Fails with kAddressInUse if the port is taken.
  virtual Result<std::unique_ptr<Listener>> Listen(const Address& address) = 0;
  // Connects, waiting at most `timeout`. May yield.
  virtual Result<std::unique_ptr<Connection>> Connect(const Address& address, Duration timeout) = 0;
};

}  // namespace apogee::io
