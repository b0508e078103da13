#include "core/broker/broker_context.h"

#include <algorithm>

#include "core/protocol/fields.h"

namespace apogee::broker {

void TaskSet::Spawn(std::string name, std::function<void()> fn) {
  // Forget the tasks that have ended, so the list stays as long as the running ones.
  std::erase_if(fibers_, [](const io::FiberHandle& f) { return f.done(); });
  fibers_.push_back(scheduler_.Spawn(std::move(name), std::move(fn)));
}

void TaskSet::JoinAll() {
  // A task may spawn more while others are joined: loop until none is left.
  while (!fibers_.empty()) {
    std::vector<io::FiberHandle> fibers = std::move(fibers_);
    fibers_.clear();
    for (io::FiberHandle& f : fibers) {
      if (f.Join() == io::WakeReason::kKilled) return;
    }
  }
}

size_t TaskSet::running() const {
  return static_cast<size_t>(
      std::count_if(fibers_.begin(), fibers_.end(), [](const auto& f) { return !f.done(); }));
}

BrokerContext::BrokerContext(io::Env& env_in, BrokerConfig config_in)
    : env(env_in),
      config(std::move(config_in)),
      tasks(env_in.scheduler),
      watchers(env_in.scheduler),
      stop(env_in.scheduler.runtime()),
      register_now(env_in.scheduler.runtime()) {}

std::optional<uint32_t> ParseIpv4(std::string_view host) {
  uint32_t ip = 0;
  for (int i = 0; i < 4; i++) {
    size_t dot = host.find('.');
    // Three dots exactly: one after each of the first three parts.
    if ((i < 3) != (dot != std::string_view::npos)) return std::nullopt;
    std::string_view part = host.substr(0, dot);
    if (part.empty() || part.size() > 3 ||
        part.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    auto v = protocol::ParseDecimal(part, 0, 255);
    if (!v.has_value()) return std::nullopt;
    ip = (ip << 8) | static_cast<uint32_t>(*v);
    host = dot == std::string_view::npos ? std::string_view() : host.substr(dot + 1);
  }
  return ip;
}

}  // namespace apogee::broker
