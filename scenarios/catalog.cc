#include "scenarios/catalog.h"

#include <algorithm>

namespace apogee::sim {

const std::vector<Scenario>& Scenarios() {
  static const std::vector<Scenario> catalog = [] {
    std::vector<Scenario> all = {DemoScenario(), scenarios::MessagingScenario()};
    for (Scenario& s : scenarios::ClusterScenarios()) all.push_back(std::move(s));
    all.push_back(scenarios::ReferenceScenario());
    std::sort(all.begin(), all.end(),
              [](const Scenario& a, const Scenario& b) { return a.name < b.name; });
    return all;
  }();
  return catalog;
}

const Scenario* FindScenario(const std::string& name) {
  for (const Scenario& s : Scenarios()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace apogee::sim
