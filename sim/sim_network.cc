#include "sim/sim_network.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "core/base/assert.h"
#include "core/io/sync.h"
#include "core/io/wait_queue.h"

namespace apogee::sim {
namespace {

constexpr uint16_t kEphemeralPortFirst = 40000;
constexpr uint16_t kEphemeralPortLast = 65535;
constexpr size_t kEphemeralPortCount = kEphemeralPortLast - kEphemeralPortFirst + 1;

bool IsWildcard(std::string_view host) { return host.empty() || host == "0.0.0.0"; }

Status ClosedError(std::string_view what) {
  return Status(ErrorCode::kClosed, fmt::format("{}: closed", what));
}

void CheckOptions(const NetworkOptions& o) {
  APOGEE_ASSERT(o.latency_min >= Duration(0));
  APOGEE_ASSERT(o.latency_min <= o.latency_max);
  APOGEE_ASSERT(o.chunk_probability >= 0.0);
  APOGEE_ASSERT(o.chunk_probability <= 1.0);
  APOGEE_ASSERT(o.partition_reset_probability >= 0.0);
  APOGEE_ASSERT(o.partition_reset_probability <= 1.0);
  APOGEE_ASSERT(o.send_buffer_bytes > 0);
  APOGEE_ASSERT(o.accept_backlog_max > 0);
}

}  // namespace

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
    if (anchor_->net == nullptr) return ClosedError("listen");
    return anchor_->net->Listen(host_, incarnation_, address);
  }
  Result<std::unique_ptr<io::Connection>> Connect(const io::Address& address,
                                                  Duration timeout) override {
    if (anchor_->net == nullptr) return ClosedError("connect");
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
  Result<std::unique_ptr<io::Connection>> Accept(Deadline deadline) override {
    return AcceptOn(*state_, deadline);
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
  Result<size_t> Read(std::span<uint8_t> buf, Deadline deadline) override {
    return ReadSide(*conn_, side_, buf, deadline);
  }
  Status Write(std::span<const uint8_t> data, Deadline deadline) override {
    return WriteSide(*conn_, side_, data, deadline);
  }
  void Close() override { CloseSide(*conn_, side_, /*abort=*/false); }
  void Reset() override { CloseSide(*conn_, side_, /*abort=*/true); }
  io::Address LocalAddress() const override { return conn_->sides[side_].local; }
  io::Address PeerAddress() const override { return conn_->sides[1 - side_].local; }

 private:
  std::shared_ptr<ConnState> conn_;
  int side_;
};

// --- Construction ---

SimNetwork::SimNetwork(Kernel& kernel, NetworkOptions options)
    : runtime_(&kernel.runtime()),
      options_(options),
      rng_(kernel.NewStream("network")),
      anchor_(std::make_shared<Anchor>()) {
  CheckOptions(options_);
  anchor_->net = this;
}

SimNetwork::~SimNetwork() {
  anchor_->net = nullptr;
  for (auto& [id, attempt] : connecting_) {
    if (attempt->event_pending) runtime_->Cancel(attempt->event);
    attempt->event_pending = false;
    attempt->net = nullptr;
    attempt->done = true;
    attempt->outcome = ClosedError("connect (network gone)");
    attempt->waiter.NotifyAll();
  }
  connecting_.clear();
  for (auto& [id, conn] : conns_) {
    for (Pipe& pipe : conn->pipes) ClearPipe(pipe);
    for (Side& side : conn->sides) {
      side.closed = true;
      side.readers.NotifyAll();
      side.writers.NotifyAll();
    }
    conn->net = nullptr;
  }
  conns_.clear();
  for (Host& host : hosts_) {
    for (auto& [port, listener] : host.listeners) {
      listener->closed = true;
      listener->net = nullptr;
      listener->backlog.clear();
      listener->acceptors.NotifyAll();
    }
    host.listeners.clear();
  }
}

void SimNetwork::set_options(const NetworkOptions& options) {
  CheckOptions(options);
  options_ = options;
}

// --- Hosts ---

SimNetwork::HostId SimNetwork::Intern(const std::string& name) {
  APOGEE_ASSERT(!IsWildcard(name), "'{}' names no host", name);
  auto it = host_ids_.find(name);
  if (it != host_ids_.end()) return it->second;
  HostId id = static_cast<HostId>(hosts_.size());
  hosts_.emplace_back();
  hosts_.back().name = name;
  hosts_.back().next_port = kEphemeralPortFirst;
  host_ids_.emplace(name, id);
  return id;
}

std::optional<SimNetwork::HostId> SimNetwork::Find(std::string_view name) const {
  auto it = host_ids_.find(name);
  if (it == host_ids_.end()) return std::nullopt;
  return it->second;
}

SimNetwork::Host* SimNetwork::LiveHost(HostId host, uint64_t incarnation) {
  APOGEE_ASSERT(host < hosts_.size());
  Host& h = hosts_[host];
  APOGEE_ASSERT(incarnation <= h.incarnation);
  return h.incarnation == incarnation ? &h : nullptr;
}

std::optional<uint16_t> SimNetwork::NextEphemeralPort(Host& host) {
  for (size_t i = 0; i < kEphemeralPortCount; i++) {
    uint16_t port = host.next_port;
    host.next_port = port == kEphemeralPortLast ? kEphemeralPortFirst : port + 1;
    if (!host.listeners.contains(port)) return port;
  }
  return std::nullopt;
}

std::unique_ptr<io::Network> SimNetwork::Attach(const std::string& host) {
  APOGEE_ASSERT(!host.empty());
  HostId id = Intern(host);
  hosts_[id].attached = true;
  return std::make_unique<NetworkHandle>(anchor_, id, hosts_[id].incarnation);
}

void SimNetwork::CrashHost(const std::string& name) {
  std::optional<HostId> found = Find(name);
  if (!found.has_value()) return;
  HostId id = *found;
  Host& host = hosts_[id];
  if (!host.attached) return;
  host.incarnation++;
  // Every handle of the old incarnation now fails its incarnation check or finds its object
  // closed below.
  std::map<uint16_t, std::shared_ptr<ListenerState>> listeners = std::move(host.listeners);
  host.listeners.clear();
  for (auto& [port, listener] : listeners) CloseListener(*listener);
  std::vector<ConnectAttempt*> attempts;
  for (auto& [attempt_id, attempt] : connecting_) {
    if (attempt->from == id && !attempt->done) attempts.push_back(attempt);
  }
  for (ConnectAttempt* attempt : attempts) {
    FinishAttempt(*attempt, Status(ErrorCode::kClosed, "connect: the process crashed"));
  }
  std::vector<std::shared_ptr<ConnState>> affected;
  for (auto& [conn_id, conn] : conns_) {
    if (conn->sides[0].host == id || conn->sides[1].host == id) affected.push_back(conn);
  }
  for (const std::shared_ptr<ConnState>& conn : affected) {
    for (int k = 0; k < 2; k++) {
      Side& side = conn->sides[k];
      if (side.host != id) continue;
      // Earlier crashes closed the sides of earlier incarnations.
      if (!side.closed) APOGEE_ASSERT(side.incarnation + 1 == host.incarnation);
      CloseSide(*conn, k, /*abort=*/true);
    }
  }
}

// --- Links ---

bool SimNetwork::Blocked(HostId from, HostId to) const {
  if (blocked_.empty()) return false;
  return blocked_.contains(Link{from, to});
}

bool SimNetwork::Blocked(const std::string& from, const std::string& to) const {
  std::optional<HostId> f = Find(from);
  std::optional<HostId> t = Find(to);
  if (!f.has_value()) return false;
  if (!t.has_value()) return false;
  return Blocked(*f, *t);
}

Instant SimNetwork::ClogUntil(HostId from, HostId to) {
  if (clogs_.empty()) return Instant{};
  auto it = clogs_.find(Link{from, to});
  if (it == clogs_.end()) return Instant{};
  if (it->second <= runtime_->Now()) {
    clogs_.erase(it);  // expired
    return Instant{};
  }
  return it->second;
}

Duration SimNetwork::DrawLatency() {
  if (options_.latency_max == options_.latency_min) return options_.latency_min;
  return Duration(rng_->Range(options_.latency_min.count(), options_.latency_max.count()));
}

Instant SimNetwork::TransitTime(HostId from, HostId to) {
  Instant when = runtime_->Now() + DrawLatency();
  return std::max(when, ClogUntil(from, to));
}

void SimNetwork::Partition(const std::string& a, const std::string& b) {
  HostId x = Intern(a);
  HostId y = Intern(b);
  Block({Link{x, y}, Link{y, x}});
}

void SimNetwork::PartitionOneWay(const std::string& from, const std::string& to) {
  HostId x = Intern(from);
  HostId y = Intern(to);
  Block({Link{x, y}});
}

void SimNetwork::Isolate(const std::string& host) {
  HostId x = Intern(host);
  std::vector<Link> links;
  for (HostId y = 0; y < hosts_.size(); y++) {
    if (y == x) continue;
    links.push_back(Link{x, y});
    links.push_back(Link{y, x});
  }
  Block(links);
}

void SimNetwork::Block(const std::vector<Link>& links) {
  std::set<Link> started;
  for (const Link& link : links) {
    if (link.first == link.second) continue;  // a host always reaches itself
    if (blocked_.insert(link).second) started.insert(link);
  }
  if (started.empty()) return;
  // Connections across a link that just went down may be torn down by their ends' timers; the
  // draw is per connection, in id order.
  std::vector<std::shared_ptr<ConnState>> doomed;
  for (auto& [id, conn] : conns_) {
    HostId h0 = conn->sides[0].host;
    HostId h1 = conn->sides[1].host;
    bool across = started.contains(Link{h0, h1}) || started.contains(Link{h1, h0});
    if (!across) continue;
    if (rng_->Chance(options_.partition_reset_probability)) doomed.push_back(conn);
  }
  for (const std::shared_ptr<ConnState>& conn : doomed) AbortBoth(*conn);
}

void SimNetwork::Heal(const std::string& a, const std::string& b) {
  std::optional<HostId> x = Find(a);
  std::optional<HostId> y = Find(b);
  if (!x.has_value()) return;
  if (!y.has_value()) return;
  size_t erased = blocked_.erase(Link{*x, *y}) + blocked_.erase(Link{*y, *x});
  if (erased > 0) ReleaseHeld();
}

void SimNetwork::HealAll() {
  if (blocked_.empty()) return;
  blocked_.clear();
  ReleaseHeld();
}

void SimNetwork::Clog(const std::string& from, const std::string& to, Duration d) {
  APOGEE_ASSERT(d >= Duration(0));
  HostId x = Intern(from);
  HostId y = Intern(to);
  Instant until = runtime_->Now() + d;
  Instant& end = clogs_[Link{x, y}];
  end = std::max(end, until);
}

void SimNetwork::ResetConnections(const std::string& a, const std::string& b) {
  std::optional<HostId> x = Find(a);
  std::optional<HostId> y = Find(b);
  if (!x.has_value()) return;
  if (!y.has_value()) return;
  for (const std::shared_ptr<ConnState>& conn : ConnsBetween(*x, *y)) AbortBoth(*conn);
}

std::vector<std::shared_ptr<SimNetwork::ConnState>> SimNetwork::ConnsBetween(HostId a,
                                                                             HostId b) const {
  std::vector<std::shared_ptr<ConnState>> found;
  for (const auto& [id, conn] : conns_) {
    HostId h0 = conn->sides[0].host;
    HostId h1 = conn->sides[1].host;
    bool forward = h0 == a && h1 == b;
    bool backward = h0 == b && h1 == a;
    if (forward || backward) found.push_back(conn);
  }
  return found;
}

void SimNetwork::ReleaseHeld() {
  for (auto& [id, conn] : conns_) {
    for (Pipe& pipe : conn->pipes) {
      if (pipe.in_flight.empty()) continue;
      if (pipe.event_pending) continue;
      HostId src = conn->sides[pipe.from].host;
      HostId dst = conn->sides[1 - pipe.from].host;
      if (Blocked(src, dst)) continue;
      // Retransmitted: the held messages arrive together, one fresh latency from now.
      Instant when = TransitTime(src, dst);
      pipe.last_due = std::max(pipe.last_due, when);
      SchedulePipe(pipe, when);
    }
  }
  for (auto& [id, attempt] : connecting_) {
    if (attempt->done) continue;
    if (attempt->event_pending) continue;
    using Stage = ConnectAttempt::Stage;
    if (attempt->stage == Stage::kSyn) {
      if (!Blocked(attempt->from, attempt->to)) {
        ScheduleAttempt(*attempt, TransitTime(attempt->from, attempt->to));
      }
    } else if (attempt->stage == Stage::kSynAck || attempt->stage == Stage::kRefused) {
      if (!Blocked(attempt->to, attempt->from)) {
        ScheduleAttempt(*attempt, TransitTime(attempt->to, attempt->from));
      }
    }
  }
}

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
  Deadline deadline = runtime_->Now() + std::max(timeout, Duration(0));
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

// --- Connections ---

std::shared_ptr<SimNetwork::ConnState> SimNetwork::NewConn(
    HostId client, uint64_t client_incarnation, const io::Address& client_address, HostId server,
    uint64_t server_incarnation, const io::Address& server_address) {
  auto conn = std::make_shared<ConnState>(this, next_conn_id_++, *runtime_);
  conn->sides[0].host = client;
  conn->sides[0].incarnation = client_incarnation;
  conn->sides[0].local = client_address;
  conn->sides[1].host = server;
  conn->sides[1].incarnation = server_incarnation;
  conn->sides[1].local = server_address;
  auto [it, inserted] = conns_.emplace(conn->id, conn);
  APOGEE_ASSERT(inserted);
  return conn;
}

Result<size_t> SimNetwork::ReadSide(ConnState& conn, int side, std::span<uint8_t> buf,
                                    Deadline deadline) {
  Side& self = conn.sides[side];
  Pipe& in = conn.pipes[1 - side];
  for (;;) {
    if (self.closed) return ClosedError("read");
    if (self.reset) {
      return Status(
          ErrorCode::kConnectionReset,
          fmt::format("read: {} reset the connection", conn.sides[1 - side].local.ToString()));
    }
    if (in.readable > 0) {
      if (buf.empty()) return size_t{0};
      SimNetwork* net = conn.net;
      APOGEE_ASSERT(net != nullptr, "an open side with data belongs to a live network");
      size_t n = net->ChunkLength(std::min(in.readable, buf.size()));
      APOGEE_ASSERT(n >= 1);
      APOGEE_ASSERT(n <= in.readable);
      std::copy_n(in.bytes.begin(), n, buf.begin());
      in.bytes.erase(in.bytes.begin(), in.bytes.begin() + static_cast<ptrdiff_t>(n));
      in.readable -= n;
      if (in.bytes.size() < net->options_.send_buffer_bytes)
        conn.sides[1 - side].writers.NotifyOne();
      return n;
    }
    if (in.fin_delivered) return size_t{0};  // end of stream: everything before it was read
    if (buf.empty()) return size_t{0};
    io::WakeReason r = self.readers.Wait(deadline);
    if (r != io::WakeReason::kNotified) return io::WaitStatus(r, "read");
  }
}

Status SimNetwork::WriteSide(ConnState& conn, int side, std::span<const uint8_t> data,
                             Deadline deadline) {
  Side& self = conn.sides[side];
  Pipe& out = conn.pipes[side];
  for (;;) {
    if (self.closed) return ClosedError("write");
    if (self.reset) {
      return Status(
          ErrorCode::kConnectionReset,
          fmt::format("write: {} reset the connection", conn.sides[1 - side].local.ToString()));
    }
    APOGEE_ASSERT(conn.net != nullptr, "an open side belongs to a live network");
    if (out.bytes.size() < conn.net->options_.send_buffer_bytes) break;
    io::WakeReason r = self.writers.Wait(deadline);
    if (r != io::WakeReason::kNotified) return io::WaitStatus(r, "write");
  }
  if (data.empty()) return Status::Ok();
  SimNetwork* net = conn.net;
  net->stats_.writes++;
  net->stats_.bytes += data.size();
  net->Enqueue(conn, side, Kind::kData, data);
  return Status::Ok();
}

void SimNetwork::CloseSide(ConnState& conn, int side, bool abort) {
  Side& self = conn.sides[side];
  if (self.closed) return;
  self.closed = true;
  self.readers.NotifyAll();
  self.writers.NotifyAll();
  if (conn.net == nullptr) return;  // retired, or the network is gone: nothing to send
  conn.net->AfterClose(conn, side, abort);
}

void SimNetwork::AfterClose(ConnState& conn, int side, bool abort) {
  Side& self = conn.sides[side];
  APOGEE_ASSERT(self.closed);
  if (!self.reset) {
    // This side reads no more: drop what it left unread, which frees the peer's send buffer.
    // What is still in flight towards it is dropped on arrival and answered with an RST.
    Pipe& in = conn.pipes[1 - side];
    in.bytes.erase(in.bytes.begin(), in.bytes.begin() + static_cast<ptrdiff_t>(in.readable));
    in.readable = 0;
    conn.sides[1 - side].writers.NotifyOne();
    Pipe& out = conn.pipes[side];
    if (abort) {
      // Abortive: what has not reached the peer is dropped. Only data can be in flight, since
      // this side sent neither FIN nor RST while it was open.
      for (const Segment& segment : out.in_flight) APOGEE_ASSERT(segment.kind == Kind::kData);
      if (out.event_pending) runtime_->Cancel(out.event);
      out.event_pending = false;
      out.in_flight.clear();
      out.bytes.resize(out.readable);
      self.rst_sent = true;
      Enqueue(conn, side, Kind::kRst, {});
    } else {
      Enqueue(conn, side, Kind::kFin, {});
    }
  }
  MaybeRetire(conn);
}

void SimNetwork::Enqueue(ConnState& conn, int side, Kind kind, std::span<const uint8_t> data) {
  Pipe& pipe = conn.pipes[side];
  HostId src = conn.sides[side].host;
  HostId dst = conn.sides[1 - side].host;
  APOGEE_ASSERT(conn.net == this);
  APOGEE_ASSERT(kind == Kind::kData || data.empty());
  // FIFO per direction: never before the message written just before.
  Instant due = std::max(runtime_->Now() + DrawLatency(), pipe.last_due);
  due = std::max(due, ClogUntil(src, dst));
  APOGEE_ASSERT(pipe.in_flight.empty() || pipe.in_flight.back().due <= due);
  pipe.last_due = due;
  pipe.bytes.insert(pipe.bytes.end(), data.begin(), data.end());
  pipe.in_flight.push_back(Segment{due, data.size(), kind});
  if (pipe.in_flight.size() == 1) {
    SchedulePipe(pipe, due);
    return;
  }
  // Messages ahead of this one are either scheduled or held by a blocked link.
  if (!pipe.event_pending) APOGEE_ASSERT(Blocked(src, dst), "a held pipe on an open link");
}

void SimNetwork::SchedulePipe(Pipe& pipe, Instant when) {
  APOGEE_ASSERT(!pipe.event_pending);
  APOGEE_ASSERT(!pipe.in_flight.empty());
  pipe.event = runtime_->At(when, [p = &pipe] { p->conn->net->Deliver(*p); });
  pipe.event_pending = true;
}

void SimNetwork::Deliver(Pipe& pipe) {
  pipe.event_pending = false;
  ConnState& conn = *pipe.conn;
  APOGEE_ASSERT(conn.net == this);
  APOGEE_ASSERT(!pipe.in_flight.empty());
  const int to = 1 - pipe.from;
  HostId src = conn.sides[pipe.from].host;
  HostId dst = conn.sides[to].host;
  if (Blocked(src, dst)) return;  // held until ReleaseHeld()
  Instant now = runtime_->Now();
  Instant clog = ClogUntil(src, dst);
  if (now < clog) {
    SchedulePipe(pipe, clog);
    return;
  }
  Side& receiver = conn.sides[to];
  while (!pipe.in_flight.empty() && pipe.in_flight.front().due <= now) {
    Segment segment = pipe.in_flight.front();
    pipe.in_flight.pop_front();
    if (segment.kind == Kind::kRst) {
      ReceiveReset(conn, to);  // clears both pipes: the loop ends
      APOGEE_ASSERT(pipe.in_flight.empty());
      break;
    }
    APOGEE_ASSERT(!receiver.reset, "a reset side receives nothing");
    if (segment.kind == Kind::kFin) {
      pipe.fin_delivered = true;
      receiver.readers.NotifyAll();
      continue;
    }
    stats_.deliveries++;
    if (!receiver.closed) {
      pipe.readable += segment.length;
      APOGEE_ASSERT(pipe.readable <= pipe.bytes.size());
      receiver.readers.NotifyOne();
      continue;
    }
    // Nobody will read it: drop it, free the sender's buffer, and answer with an RST once.
    APOGEE_ASSERT(pipe.readable == 0);
    APOGEE_ASSERT(segment.length <= pipe.bytes.size());
    pipe.bytes.erase(pipe.bytes.begin(),
                     pipe.bytes.begin() + static_cast<ptrdiff_t>(segment.length));
    conn.sides[pipe.from].writers.NotifyOne();
    if (!receiver.rst_sent) {
      receiver.rst_sent = true;
      Enqueue(conn, to, Kind::kRst, {});
    }
  }
  if (!pipe.in_flight.empty()) SchedulePipe(pipe, pipe.in_flight.front().due);
  MaybeRetire(conn);  // last: it may free conn and pipe
}

void SimNetwork::ReceiveReset(ConnState& conn, int side) {
  Side& self = conn.sides[side];
  if (!self.reset) {
    self.reset = true;
    stats_.resets++;
  }
  // Unread data is lost; what this side still had in flight goes nowhere, since the peer is gone.
  ClearPipe(conn.pipes[0]);
  ClearPipe(conn.pipes[1]);
  self.readers.NotifyAll();
  self.writers.NotifyAll();
  conn.sides[1 - side].writers.NotifyAll();
}

void SimNetwork::AbortBoth(ConnState& conn) {
  APOGEE_ASSERT(conn.net == this);
  for (Side& side : conn.sides) {
    if (!side.reset) {
      side.reset = true;
      stats_.resets++;
    }
    side.readers.NotifyAll();
    side.writers.NotifyAll();
  }
  ClearPipe(conn.pipes[0]);
  ClearPipe(conn.pipes[1]);
  MaybeRetire(conn);
}

void SimNetwork::ClearPipe(Pipe& pipe) {
  if (pipe.event_pending) runtime_->Cancel(pipe.event);
  pipe.event_pending = false;
  pipe.in_flight.clear();
  pipe.bytes.clear();
  pipe.readable = 0;
}

size_t SimNetwork::ChunkLength(size_t available) {
  APOGEE_ASSERT(available >= 1);
  if (available == 1) return 1;
  if (!rng_->Chance(options_.chunk_probability)) return available;
  return 1 + static_cast<size_t>(rng_->Uniform(available - 1));
}

void SimNetwork::MaybeRetire(ConnState& conn) {
  for (const Side& side : conn.sides) {
    if (!side.closed && !side.reset) return;
  }
  for (const Pipe& pipe : conn.pipes) {
    if (!pipe.in_flight.empty()) return;
  }
  for (const Pipe& pipe : conn.pipes) APOGEE_ASSERT(!pipe.event_pending);
  conn.net = nullptr;
  uint64_t id = conn.id;
  conns_.erase(id);
}

}  // namespace apogee::sim
