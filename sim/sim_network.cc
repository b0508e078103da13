#include "sim/sim_network.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/assert.h"
#include "core/base/status.h"
#include "sim/sim_network_internal.h"

namespace apogee::sim {
namespace {

constexpr uint16_t kEphemeralPortFirst = 40000;
constexpr uint16_t kEphemeralPortLast = 65535;
constexpr size_t kEphemeralPortCount = kEphemeralPortLast - kEphemeralPortFirst + 1;

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

using net_detail::ClosedError;
using net_detail::IsWildcard;

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

}  // namespace apogee::sim
