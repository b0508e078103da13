// The reference scenario of issue 5, the one the simulator's speed is measured on
// (reports/simulation.md, scripts/bench-sim.sh): 2 nameservers, 2 SYNC_FLUSH brokers, 4
// producers at 50 messages a second each (200 offered a second), and 2 clustering groups of 2
// consumers (one concurrent, one orderly), under swarm faults of every kind but bit flips on
// every node, as messaging-swarm draws them. The safety phase of 55 s and the 5 s of sending
// after the heal make 60 simulated seconds of sending before the consumers' catch-up.

#include "scenarios/catalog.h"
#include "scenarios/cluster_scenario.h"

namespace apogee::scenarios {

namespace {

using sim::FaultType;
using namespace std::chrono_literals;

ClusterScenarioSpec ReferenceSpec() {
  sim::ClusterSpec c;
  c.nameservers = 2;
  c.brokers = 2;
  c.producers = 4;
  c.rate_per_producer = 50;
  // The harness's default disk (syncs of 0.2 to 2 ms), not the 30 ms of the other fault
  // scenarios: the producers send synchronously and sleep 1/rate after each send, so a slow
  // sync would hold the offered load further below the 200 messages a second asked for.
  c.broker_sync_latency_max = 2ms;
  c.groups = {sim::GroupSpec{.name = "cg-concurrent", .consumers = 2},
              sim::GroupSpec{.name = "cg-orderly", .consumers = 2, .orderly = true}};
  ClusterScenarioSpec s{"reference",
                        "issue 5's benchmark: 4 producers at 50 msg/s, 2 clustering groups of 2, "
                        "swarm faults of every kind but bit flips, 60 s of sending",
                        c,
                        {},
                        55s,
                        90s};
  s.faults.kinds = {FaultType::kPartition, FaultType::kPartitionOneWay, FaultType::kIsolate,
                    FaultType::kClog,      FaultType::kReset,           FaultType::kCrash,
                    FaultType::kPause,     FaultType::kDiskErrors,      FaultType::kFailedSyncs,
                    FaultType::kDiskFull,  FaultType::kClockJump,       FaultType::kClockDrift};
  return s;
}

}  // namespace

sim::Scenario ReferenceScenario() { return MakeClusterScenario(ReferenceSpec()); }

}  // namespace apogee::scenarios
