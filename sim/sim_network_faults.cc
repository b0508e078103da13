// SimNetwork's links and the faults that act on them: latency, partitions, clogs, heals and
// resets.

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/base/assert.h"
#include "sim/sim_network.h"
#include "sim/sim_network_internal.h"

namespace apogee::sim {

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

}  // namespace apogee::sim
