// SimNetwork's listeners and connects: Listen(), Accept() and the SYN / SYN-ACK handshake.

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <utility>

#include "core/base/assert.h"
#include "core/base/status.h"
#include "core/io/sync.h"
#include "core/io/wait_queue.h"
#include "sim/sim_network.h"
#include "sim/sim_network_internal.h"

namespace apogee::sim {

using net_detail::ClosedError;
using net_detail::IsWildcard;

// --- Listen and connect ---

Result<std::unique_ptr<io::Listener>> SimNetwork::Listen(HostId host, uint64_t incarnation,
                                                         const io::Address& address) {
  Host* h = LiveHost(host, incarnation);
  if (h == nullptr) return ClosedError("listen (the process crashed)");
  if (!IsWildcard(address.host) && address.host != h->name) {
    return Status(
        ErrorCode::kInvalidArgument,
        fmt::format("listen on {}: not an address of host {}", address.ToString(), h->name));
  }
  uint16_t port = address.port;
  if (port == 0) {
    std::optional<uint16_t> free = NextEphemeralPort(*h);
    if (!free.has_value()) {
      return Status(ErrorCode::kAddressInUse, fmt::format("no free port on {}", h->name));
    }
    port = *free;
  } else if (h->listeners.contains(port)) {
    return Status(ErrorCode::kAddressInUse,
                  fmt::format("listen on {}:{}: address in use", h->name, port));
  }
  auto state = std::make_shared<ListenerState>(*runtime_);
  state->net = this;
  state->host = host;
  state->address = io::Address{h->name, port};
  h->listeners.emplace(port, state);
  APOGEE_ASSERT(h->listeners.at(port) == state);
  std::unique_ptr<io::Listener> listener = std::make_unique<ListenerHandle>(std::move(state));
  return listener;
}

Result<std::unique_ptr<io::Connection>> SimNetwork::Connect(HostId host, uint64_t incarnation,
                                                            const io::Address& address,
                                                            Duration timeout) {
  APOGEE_ASSERT(runtime_->Current() != nullptr, "Connect() outside a fiber");
  Host* h = LiveHost(host, incarnation);
  if (h == nullptr) return ClosedError("connect (the process crashed)");
  std::optional<uint16_t> port = NextEphemeralPort(*h);
  if (!port.has_value()) {
    return Status(ErrorCode::kAddressInUse, fmt::format("no free port on {}", h->name));
  }
  Deadline deadline = SaturatingAdd(runtime_->Now(), timeout);
  ConnectAttempt attempt(*runtime_);
  attempt.net = this;
  attempt.id = next_attempt_id_++;
  attempt.from = host;
  attempt.incarnation = incarnation;
  attempt.target = address;
  attempt.local = io::Address{h->name, *port};
  connecting_.emplace(attempt.id, &attempt);
  std::optional<HostId> to = Find(address.host);
  if (!to.has_value() || !hosts_[*to].attached) {
    attempt.stage = ConnectAttempt::Stage::kUnreachable;
    ScheduleAttempt(attempt, runtime_->Now() + DrawLatency());
  } else {
    attempt.to = *to;
    attempt.stage = ConnectAttempt::Stage::kSyn;
    ScheduleAttempt(attempt, TransitTime(host, *to));
  }
  while (!attempt.done) {
    io::WakeReason r = attempt.waiter.Wait(deadline);
    if (attempt.done) break;
    if (r == io::WakeReason::kTimeout) {
      stats_.connect_timeouts++;
      return Status(ErrorCode::kTimeout,
                    fmt::format("connect to {} timed out", address.ToString()));
    }
    if (r == io::WakeReason::kKilled) return io::WaitStatus(r, "connect");
  }
  // ~ConnectAttempt aborts the half-made connection on every failure path.
  if (!attempt.outcome.ok()) return attempt.outcome;
  APOGEE_ASSERT(attempt.conn != nullptr);
  std::unique_ptr<io::Connection> conn =
      std::make_unique<ConnectionHandle>(std::move(attempt.conn), 0);
  return conn;
}

void SimNetwork::ScheduleAttempt(ConnectAttempt& attempt, Instant when) {
  APOGEE_ASSERT(!attempt.event_pending);
  APOGEE_ASSERT(!attempt.done);
  attempt.event = runtime_->At(when, [a = &attempt] { a->net->AdvanceAttempt(*a); });
  attempt.event_pending = true;
}

void SimNetwork::AdvanceAttempt(ConnectAttempt& attempt) {
  using Stage = ConnectAttempt::Stage;
  attempt.event_pending = false;
  APOGEE_ASSERT(!attempt.done);
  if (attempt.stage == Stage::kUnreachable) {
    FinishAttempt(
        attempt, Status(ErrorCode::kHostUnreachable,
                        fmt::format("connect to {}: host unreachable", attempt.target.ToString())));
    return;
  }
  APOGEE_ASSERT(attempt.stage != Stage::kDropped);
  // The SYN travels from -> to; the SYN-ACK or the refusing RST travels back.
  bool outbound = attempt.stage == Stage::kSyn;
  HostId src = outbound ? attempt.from : attempt.to;
  HostId dst = outbound ? attempt.to : attempt.from;
  if (Blocked(src, dst)) return;  // held: ReleaseHeld() sends it again
  Instant clog = ClogUntil(src, dst);
  if (runtime_->Now() < clog) {
    ScheduleAttempt(attempt, clog);
    return;
  }
  if (attempt.stage == Stage::kSynAck) {
    stats_.connects++;
    FinishAttempt(attempt, Status::Ok());
    return;
  }
  if (attempt.stage == Stage::kRefused) {
    stats_.refused++;
    FinishAttempt(attempt, Status(ErrorCode::kConnectionRefused,
                                  fmt::format("connect to {}: connection refused",
                                              attempt.target.ToString())));
    return;
  }
  // The SYN arrives at the server's host.
  Host& server = hosts_[attempt.to];
  auto it = server.listeners.find(attempt.target.port);
  if (it == server.listeners.end()) {
    attempt.stage = Stage::kRefused;
    ScheduleAttempt(attempt, TransitTime(dst, src));
    return;
  }
  ListenerState& listener = *it->second;
  APOGEE_ASSERT(!listener.closed);
  if (listener.backlog.size() >= options_.accept_backlog_max) {
    attempt.stage = Stage::kDropped;  // the client times out
    return;
  }
  attempt.conn = NewConn(attempt.from, attempt.incarnation, attempt.local, attempt.to,
                         server.incarnation, listener.address);
  listener.backlog.push_back(attempt.conn);
  listener.acceptors.NotifyOne();
  // The SYN-ACK goes first on the server's direction: its data, FIN or RST never overtake it.
  Pipe& back = attempt.conn->pipes[1];
  Instant when = std::max(TransitTime(dst, src), back.last_due);
  back.last_due = when;
  attempt.stage = Stage::kSynAck;
  ScheduleAttempt(attempt, when);
}

void SimNetwork::FinishAttempt(ConnectAttempt& attempt, Status status) {
  APOGEE_ASSERT(!attempt.done);
  if (attempt.event_pending) runtime_->Cancel(attempt.event);
  attempt.event_pending = false;
  attempt.done = true;
  attempt.outcome = std::move(status);
  attempt.waiter.NotifyAll();
}

void SimNetwork::DropAttempt(ConnectAttempt& attempt) {
  APOGEE_ASSERT(attempt.net == this);
  if (attempt.event_pending) runtime_->Cancel(attempt.event);
  attempt.event_pending = false;
  connecting_.erase(attempt.id);
  attempt.net = nullptr;
  // A connection the client never got: its side is reset, as a kernel answers a late SYN-ACK
  // with an RST.
  if (attempt.conn != nullptr) {
    std::shared_ptr<ConnState> conn = std::move(attempt.conn);
    CloseSide(*conn, 0, /*abort=*/true);
  }
}

// --- Listeners ---

Result<std::unique_ptr<io::Connection>> SimNetwork::AcceptOn(ListenerState& listener,
                                                             Deadline deadline) {
  for (;;) {
    if (listener.closed) return ClosedError("accept");
    if (!listener.backlog.empty()) {
      std::shared_ptr<ConnState> conn = std::move(listener.backlog.front());
      listener.backlog.pop_front();
      APOGEE_ASSERT(conn != nullptr);
      std::unique_ptr<io::Connection> accepted =
          std::make_unique<ConnectionHandle>(std::move(conn), 1);
      return accepted;
    }
    io::WakeReason r = listener.acceptors.Wait(deadline);
    if (r == io::WakeReason::kNotified) continue;
    return io::WaitStatus(r, "accept");
  }
}

void SimNetwork::CloseListener(ListenerState& listener) {
  if (listener.closed) return;
  listener.closed = true;
  listener.acceptors.NotifyAll();
  SimNetwork* net = listener.net;
  listener.net = nullptr;
  // Connections never accepted are reset, as closing a listening socket does.
  std::deque<std::shared_ptr<ConnState>> backlog = std::move(listener.backlog);
  listener.backlog.clear();
  for (const std::shared_ptr<ConnState>& conn : backlog) CloseSide(*conn, 1, /*abort=*/true);
  if (net == nullptr) return;
  Host& host = net->hosts_[listener.host];
  auto it = host.listeners.find(listener.address.port);
  // Erasing may free `listener` (after a crash the map no longer holds it): touch it no more.
  if (it != host.listeners.end() && it->second.get() == &listener) host.listeners.erase(it);
}

}  // namespace apogee::sim
