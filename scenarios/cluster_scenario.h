#pragma once

// Cluster scenarios: a topology of the cluster harness (sim/cluster), a fault selection, and
// the standard phases and checks. One runner serves the whole catalog of scenarios/catalog.cc;
// each entry differs only in its ClusterScenarioSpec.
//
// Phases: start (nameservers and brokers, then clients), a safety phase of `safety` in which a
// fault plan drawn from the seed runs, heal everything, 5 more seconds of sending, then a
// liveness phase of at most `liveness` in which the consumers must catch up.
// Checks: no phantom deliveries and per-queue order (safety: violation); if some acknowledged
// message never reached a group, the auditor reads the stores and a message gone from every
// store is lost (violation), one still stored is late (liveness).

#include <string>
#include <vector>

#include "core/base/time.h"
#include "sim/cluster/cluster.h"
#include "sim/fault_plan.h"
#include "sim/scenario.h"

namespace apogee::scenarios {

enum class Role : uint8_t { kNameserver, kBroker, kProducer, kConsumer };

struct FaultSelection {
  // The kinds this scenario may draw; empty: none (a fault-free scenario).
  std::vector<sim::FaultType> kinds;
  // Swarm: each seed also draws which of `kinds` are on (at least one). Otherwise all are.
  bool swarm = true;
  // Roles whose nodes faults hit; two-node faults pair one of these with one of `peer_roles`
  // (or, when that is empty, with another node of these roles).
  std::vector<Role> roles = {Role::kNameserver, Role::kBroker, Role::kProducer, Role::kConsumer};
  std::vector<Role> peer_roles;
  // Crash faults all of this style when set (torn-write scenarios).
  std::optional<sim::CrashStyle> crash_style;
  // Mean gap between faults, drawn per seed in [gap_mean_min, gap_mean_max].
  Duration gap_mean_min = std::chrono::milliseconds(500);
  Duration gap_mean_max = std::chrono::seconds(5);
};

struct ClusterScenarioSpec {
  std::string name;
  std::string description;
  sim::ClusterSpec cluster;
  FaultSelection faults;
  Duration safety = std::chrono::seconds(30);
  Duration liveness = std::chrono::seconds(90);
};

sim::RunReport RunClusterScenario(const ClusterScenarioSpec& spec, const sim::RunConfig& config);

// The nodes the scenario's faults may hit, by name, as a plan given to it must name them.
sim::FaultTargets ClusterScenarioTargets(const ClusterScenarioSpec& spec);

// The catalog entry for `spec`: its run, and (when it has faults) its targets and plan length.
sim::Scenario MakeClusterScenario(ClusterScenarioSpec spec);

// The cluster scenarios of the catalog, in no particular order.
std::vector<sim::Scenario> ClusterScenarios();

}  // namespace apogee::scenarios
