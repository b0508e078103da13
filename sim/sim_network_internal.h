#pragma once

// Private to SimNetwork's implementation files; nothing outside them includes it. It holds the
// state behind the handles and the handles themselves. SimNetwork's definitions are split by
// concern:
//   - sim_network.cc: construction, options, hosts, Attach() and CrashHost().
//   - sim_network_faults.cc: links, latency, partitions, clogs, heals and resets.
//   - sim_network_connect.cc: Listen(), Accept() and the connect handshake.
//   - sim_connection.cc: a connection's pipes, reads, writes, closes and deliveries.

#include <fmt/format.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string_view>
#include <utility>

#include "core/base/assert.h"
#include "core/base/status.h"
#include "core/base/time.h"
#include "core/io/network.h"
#include "core/io/runtime.h"
#include "core/io/wait_queue.h"
#include "sim/sim_network.h"

namespace apogee::sim {
namespace net_detail {

// Whether `host` is the wildcard address (empty or "0.0.0.0"): it names no host, and a listener
// bound to it listens at its own host's name.
inline bool IsWildcard(std::string_view host) { return host.empty() || host == "0.0.0.0"; }

// The error of a call on a handle whose object is gone (closed, crashed, or the network died).
inline Status ClosedError(std::string_view what) {
  return Status(ErrorCode::kClosed, fmt::format("{}: closed", what));
}

}  // namespace net_detail

// --- Shared state ---

enum class SimNetwork::Kind : uint8_t { kData, kFin, kRst };

// Shared by the network and every handle: a handle asks it whether the network still exists.
struct SimNetwork::Anchor {
  SimNetwork* net = nullptr;
};

// One message in flight on a pipe. Data bytes live in the pipe's byte queue, not here, so a
// message costs no allocation of its own.
struct SimNetwork::Segment {
  Instant due;
  size_t length = 0;
  Kind kind = Kind::kData;
};

// One direction of a connection: what side `from` writes, on its way to the other side.
struct SimNetwork::Pipe {
  ConnState* conn = nullptr;
  int from = 0;
  // Delivered-and-unread bytes (the first `readable`), then the bytes still in flight.
  std::deque<uint8_t> bytes;
  size_t readable = 0;
  std::deque<Segment> in_flight;  // in write order, due times non-decreasing
  Instant last_due{};
  bool fin_delivered = false;
  io::EventId event;
  bool event_pending = false;
};

struct SimNetwork::Side {
  explicit Side(io::Runtime& runtime) : readers(runtime), writers(runtime) {}
  HostId host = 0;
  uint64_t incarnation = 0;
  io::Address local;
  bool closed = false;    // this side was closed, reset or crashed: its calls fail with kClosed
  bool reset = false;     // an RST or an abort reached it: its calls fail with kConnectionReset
  bool rst_sent = false;  // it queued an RST (no second one)
  io::WaitQueue readers;
  io::WaitQueue writers;
};

struct SimNetwork::ConnState {
  ConnState(SimNetwork* network, uint64_t conn_id, io::Runtime& runtime)
      : net(network), id(conn_id), sides{Side(runtime), Side(runtime)} {
    for (int k = 0; k < 2; k++) {
      pipes[k].conn = this;
      pipes[k].from = k;
    }
  }
  SimNetwork* net;  // nullptr once retired or once the network is gone
  uint64_t id;
  Side sides[2];  // 0: the client, 1: the server
  Pipe pipes[2];  // pipes[k] carries what sides[k] writes
};

struct SimNetwork::ListenerState {
  explicit ListenerState(io::Runtime& runtime) : acceptors(runtime) {}
  SimNetwork* net = nullptr;  // nullptr once closed
  HostId host = 0;
  io::Address address;
  bool closed = false;
  std::deque<std::shared_ptr<ConnState>> backlog;  // arrived, not yet accepted, in order
  io::WaitQueue acceptors;
};

// A connect in progress. It lives on the connecting fiber's stack; its one pending event refers
// to it and is cancelled when it goes.
struct SimNetwork::ConnectAttempt {
  enum class Stage : uint8_t { kUnreachable, kSyn, kSynAck, kRefused, kDropped };
  explicit ConnectAttempt(io::Runtime& runtime) : waiter(runtime) {}
  ~ConnectAttempt() {
    if (net != nullptr) net->DropAttempt(*this);
  }
  ConnectAttempt(const ConnectAttempt&) = delete;
  ConnectAttempt& operator=(const ConnectAttempt&) = delete;

  SimNetwork* net = nullptr;
  uint64_t id = 0;
  HostId from = 0;
  uint64_t incarnation = 0;
  HostId to = 0;  // valid unless kUnreachable
  io::Address target;
  io::Address local;
  Stage stage = Stage::kSyn;
  io::EventId event;
  bool event_pending = false;
  bool done = false;
  Status outcome;
  std::shared_ptr<ConnState> conn;  // from the SYN's arrival until handed out or aborted
  io::WaitQueue waiter;
};

// --- Handles ---

class SimNetwork::NetworkHandle final : public io::Network {
 public:
  NetworkHandle(std::shared_ptr<Anchor> anchor, HostId host, uint64_t incarnation)
      : anchor_(std::move(anchor)), host_(host), incarnation_(incarnation) {}
  Result<std::unique_ptr<io::Listener>> Listen(const io::Address& address) override {
    if (anchor_->net == nullptr) return net_detail::ClosedError("listen");
    return anchor_->net->Listen(host_, incarnation_, address);
  }
  Result<std::unique_ptr<io::Connection>> Connect(const io::Address& address,
                                                  Duration timeout) override {
    if (anchor_->net == nullptr) return net_detail::ClosedError("connect");
    return anchor_->net->Connect(host_, incarnation_, address, timeout);
  }

 private:
  std::shared_ptr<Anchor> anchor_;
  HostId host_;
  uint64_t incarnation_;
};

class SimNetwork::ListenerHandle final : public io::Listener {
 public:
  explicit ListenerHandle(std::shared_ptr<ListenerState> state) : state_(std::move(state)) {}
  ~ListenerHandle() override { CloseListener(*state_); }
  // The call holds its own reference: another fiber may destroy this handle while it waits.
  Result<std::unique_ptr<io::Connection>> Accept(Deadline deadline) override {
    std::shared_ptr<ListenerState> keep = state_;
    return AcceptOn(*keep, deadline);
  }
  void Close() override { CloseListener(*state_); }
  io::Address LocalAddress() const override { return state_->address; }

 private:
  std::shared_ptr<ListenerState> state_;
};

class SimNetwork::ConnectionHandle final : public io::Connection {
 public:
  ConnectionHandle(std::shared_ptr<ConnState> conn, int side)
      : conn_(std::move(conn)), side_(side) {
    APOGEE_ASSERT(side == 0 || side == 1);
  }
  ~ConnectionHandle() override { CloseSide(*conn_, side_, /*abort=*/false); }
  // Each call holds its own reference: one fiber may destroy this handle while another waits
  // in Read or Write (network.h allows a reader and a writer at once).
  Result<size_t> Read(std::span<uint8_t> buf, Deadline deadline) override {
    std::shared_ptr<ConnState> keep = conn_;
    int side = side_;
    return ReadSide(*keep, side, buf, deadline);
  }
  Status Write(std::span<const uint8_t> data, Deadline deadline) override {
    std::shared_ptr<ConnState> keep = conn_;
    int side = side_;
    return WriteSide(*keep, side, data, deadline);
  }
  void Close() override { CloseSide(*conn_, side_, /*abort=*/false); }
  void Reset() override { CloseSide(*conn_, side_, /*abort=*/true); }
  io::Address LocalAddress() const override { return conn_->sides[side_].local; }
  io::Address PeerAddress() const override { return conn_->sides[1 - side_].local; }

 private:
  std::shared_ptr<ConnState> conn_;
  int side_;
};

}  // namespace apogee::sim
