// The messaging cluster under swarm faults: the topology of the messaging scenario (2
// nameservers, 2 SYNC_FLUSH brokers, 2 producers, concurrent, orderly and broadcasting groups),
// a 30 s safety phase in which faults drawn from the seed (swarm: the seed also draws which kinds
// are on and how often) hit every node, then everything heals and the consumers get up to 90 s
// to catch up. Checked: nothing delivered that was never sent and each consumer sees each queue
// in order, and no acknowledged message is gone from every store before reaching every group
// (safety, violation; the stores are read by the harness's auditor at the end); every
// acknowledged message reaches every group after healing (liveness). Bit flips are left to a
// scenario of their own: a flipped record may legitimately take acknowledged records after it
// (docs/storage-format.md, known limits).

#include <fmt/format.h>

#include "core/base/log.h"
#include "scenarios/catalog.h"
#include "scenarios/checkers.h"
#include "sim/cluster/cluster.h"
#include "sim/fault_injector.h"

namespace apogee::scenarios {

namespace {

constexpr Duration kSafetyPhase = std::chrono::seconds(30);
constexpr Duration kLivenessMax = std::chrono::seconds(90);

sim::RunReport RunSwarm(const sim::RunConfig& config) {
  sim::RunReport report;
  report.scenario = "messaging-swarm";
  report.seed = config.seed;
  LogLevel saved = GetLogLevel();
  SetLogLevel(config.log_level);
  {
    sim::History history;
    sim::World world(config.seed);
    world.kernel().trace().set_record(config.record_trace);
    sim::ClusterSpec spec;
    spec.rate_per_producer = 20;
    spec.groups = {
        sim::GroupSpec{.name = "cg-concurrent"},
        sim::GroupSpec{.name = "cg-orderly", .orderly = true},
        sim::GroupSpec{.name = "cg-broadcast", .broadcasting = true},
    };
    sim::Cluster cluster(world, spec, &history);
    std::unique_ptr<io::Random> rng = world.kernel().NewStream("fault-plan");
    sim::SwarmMix mix = sim::DrawSwarmMix(*rng);
    mix.enabled[static_cast<int>(sim::FaultType::kBitFlip)] = false;
    sim::FaultTargets targets;
    for (const std::vector<sim::NodeId>* role :
         {&cluster.nameservers(), &cluster.brokers(), &cluster.producers(), &cluster.consumers()}) {
      for (sim::NodeId id : *role) targets.nodes.push_back(world.name(id));
    }
    for (sim::NodeId id : cluster.brokers()) targets.stateful.push_back(world.name(id));
    sim::FaultPlan plan = sim::DrawSwarmPlan(*rng, mix, targets, kSafetyPhase);
    cluster.Start();
    sim::FaultInjector injector(world, plan);
    injector.Start();
    world.RunFor(kSafetyPhase);
    injector.HealAll();
    Instant healed = world.Now();
    world.RunFor(std::chrono::seconds(5));
    cluster.StopProducers();
    Instant limit = healed + kLivenessMax;
    CheckResult lost;
    while (world.Now() < limit) {
      world.RunFor(std::chrono::seconds(1));
      lost = CheckResult();
      CheckAcknowledgedDelivered(history, &lost);
      if (lost.ok()) break;
    }
    CheckResult safety;
    if (!lost.ok()) {
      // Some acknowledged message did not arrive: read the stores to tell lost from late.
      cluster.StartAudit();
      Instant audit_limit = world.Now() + std::chrono::seconds(60);
      while (!history.audit.done && world.Now() < audit_limit) {
        world.RunFor(std::chrono::seconds(1));
      }
      if (history.audit.done) {
        CheckNotLost(history, &safety);
      } else {
        report.Violation("the auditor could not read every queue within 60 s of the end");
      }
    }
    CheckNoPhantoms(history, &safety);
    CheckQueueOrder(history, &safety);
    CountDuplicates(history, &safety);
    for (std::string& v : safety.violations) report.Violation(std::move(v));
    if (!lost.ok() && report.outcome == sim::Outcome::kPass) {
      report.outcome = sim::Outcome::kLiveness;
      for (std::string& v : lost.violations) {
        report.violations.push_back(
            fmt::format("{} (within {} s after healing)", v, kLivenessMax.count() / 1'000'000'000));
      }
    }
    report.Count("faults_planned", plan.faults.size());
    for (const auto& [kind, n] : injector.applied()) report.Count("fault_" + kind, n);
    report.Count("faults_skipped", injector.skipped());
    uint64_t info = 0;
    for (const sim::SendOp& s : history.sends) info += s.outcome != sim::OpOutcome::kOk ? 1 : 0;
    report.Count("sends", history.sends.size());
    report.Count("sends_not_acked", info);
    for (auto& [name, value] : lost.counters) report.Count(name, value);
    for (auto& [name, value] : safety.counters) report.Count(name, value);
    report.Count("catch_up_ms", static_cast<uint64_t>((world.Now() - healed).count() / 1'000'000));
    LOG_INFO("swarm mix: {}", mix.Describe());
    for (const sim::Fault& f : plan.faults) LOG_INFO("planned: {}", sim::Describe(f));
    sim::RecordWorldStats(world, config, &report);
  }
  SetLogLevel(saved);
  return report;
}

}  // namespace

sim::Scenario MessagingSwarmScenario() {
  return sim::Scenario{
      "messaging-swarm",
      "the messaging cluster under swarm faults (partitions, crashes, pauses, disk and clock "
      "faults) for 30 s, then healed: nothing phantom or out of order, every acked message "
      "delivered after healing",
      &RunSwarm};
}

}  // namespace apogee::scenarios
