#pragma once

// The scenario catalog: every named scenario apogee-sim knows (sim/scenario.h declares
// Scenarios() and FindScenario(); scenarios/catalog.cc defines them over this list).

#include "sim/scenario.h"

namespace apogee::scenarios {

// scenarios/messaging.cc
sim::Scenario MessagingScenario();
// scenarios/cluster_catalog.cc: the cluster scenarios under faults
std::vector<sim::Scenario> ClusterScenarios();
// scenarios/reference_scenario.cc: issue 5's benchmark scenario
sim::Scenario ReferenceScenario();

}  // namespace apogee::scenarios
