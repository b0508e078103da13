#include "sim/sim_buggify.h"

#include <fmt/format.h>

namespace apogee::sim {

SimBuggify::SimBuggify(Kernel& kernel) : kernel_(&kernel), rng_(kernel.NewStream("buggify")) {}

bool SimBuggify::Fire(const char* file, unsigned line) {
  if (!enabled_) return false;
  std::string name = fmt::format("{}:{}", file, line);
  auto [it, inserted] = points_.try_emplace(name);
  BuggifyPointStats& p = it->second;
  if (inserted) {
    p.point = name;
    p.armed = rng_->Chance(arm_probability_);
  }
  p.reached++;
  if (!p.armed || !rng_->Chance(fire_probability_)) return false;
  p.fired++;
  return true;
}

std::vector<BuggifyPointStats> SimBuggify::Coverage() const {
  std::vector<BuggifyPointStats> out;
  out.reserve(points_.size());
  for (const auto& [name, stats] : points_) out.push_back(stats);
  return out;
}

}  // namespace apogee::sim
