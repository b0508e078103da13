#include "scenarios/cluster_scenario.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/base/log.h"
#include "scenarios/checkers.h"
#include "sim/fault_injector.h"

namespace apogee::scenarios {

namespace {

using sim::FaultType;

const std::vector<sim::NodeId>& NodesOf(const sim::Cluster& c, Role role) {
  switch (role) {
    case Role::kNameserver:
      return c.nameservers();
    case Role::kBroker:
      return c.brokers();
    case Role::kProducer:
      return c.producers();
    case Role::kConsumer:
      return c.consumers();
  }
  return c.brokers();
}

sim::SwarmMix DrawMix(io::Random& rng, const FaultSelection& f) {
  sim::SwarmMix mix;
  for (FaultType t : f.kinds) mix.enabled[static_cast<int>(t)] = !f.swarm || rng.Chance(0.6);
  if (!f.kinds.empty() &&
      std::none_of(std::begin(mix.enabled), std::end(mix.enabled), [](bool on) { return on; })) {
    mix.enabled[static_cast<int>(f.kinds[rng.Uniform(f.kinds.size())])] = true;
  }
  auto ms = [](Duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  int64_t mean = rng.Range(ms(f.gap_mean_min), std::max(ms(f.gap_mean_min), ms(f.gap_mean_max)));
  mix.gap_min = std::chrono::milliseconds(mean / 2);
  mix.gap_max = std::chrono::milliseconds(mean * 3 / 2);
  return mix;
}

}  // namespace

sim::RunReport RunClusterScenario(const ClusterScenarioSpec& spec, const sim::RunConfig& config) {
  sim::RunReport report;
  report.scenario = spec.name;
  report.seed = config.seed;
  LogLevel saved = GetLogLevel();
  SetLogLevel(config.log_level);
  {
    sim::History history;  // outlives the world, whose nodes write into it
    sim::World world(config.seed);
    world.kernel().trace().set_record(config.record_trace);
    sim::Cluster cluster(world, spec.cluster, &history);

    std::unique_ptr<io::Random> rng = world.kernel().NewStream("fault-plan");
    sim::SwarmMix mix = DrawMix(*rng, spec.faults);
    sim::FaultTargets targets;
    for (Role role : spec.faults.roles) {
      for (sim::NodeId id : NodesOf(cluster, role)) {
        targets.nodes.push_back(world.name(id));
        if (role == Role::kBroker) targets.stateful.push_back(world.name(id));
      }
    }
    for (Role role : spec.faults.peer_roles) {
      for (sim::NodeId id : NodesOf(cluster, role)) targets.peers.push_back(world.name(id));
    }
    sim::FaultPlan plan;
    if (!spec.faults.kinds.empty()) plan = sim::DrawSwarmPlan(*rng, mix, targets, spec.safety);
    if (spec.faults.crash_style.has_value()) {
      for (sim::Fault& f : plan.faults) f.crash = *spec.faults.crash_style;
    }
    LOG_INFO("fault mix: {}", mix.Describe());
    for (const sim::Fault& f : plan.faults) LOG_INFO("planned: {}", sim::Describe(f));

    cluster.Start();
    sim::FaultInjector injector(world, plan);
    injector.Start();
    world.RunFor(spec.safety);
    injector.HealAll();
    const Instant healed = world.Now();
    world.RunFor(std::chrono::seconds(5));
    cluster.StopProducers();
    const Instant limit = healed + spec.liveness;
    CheckResult late;
    while (world.Now() < limit) {
      world.RunFor(std::chrono::seconds(1));
      late = CheckResult();
      CheckAcknowledgedDelivered(history, &late);
      if (late.ok()) break;
    }
    report.Count("catch_up_ms", static_cast<uint64_t>((world.Now() - healed).count() / 1'000'000));

    CheckResult safety;
    if (!late.ok()) {
      // Some acknowledged message did not arrive: read the stores to tell lost from late.
      cluster.StartAudit();
      const Instant audit_limit = world.Now() + std::chrono::seconds(60);
      while (!history.audit.done && world.Now() < audit_limit) {
        world.RunFor(std::chrono::seconds(1));
      }
      if (history.audit.done) {
        CheckNotLost(history, &safety);
      } else {
        report.Violation("the auditor could not read every queue within 60 s");
      }
    }
    CheckNoPhantoms(history, &safety);
    CheckQueueOrder(history, &safety);
    CountDuplicates(history, &safety);
    for (std::string& v : safety.violations) report.Violation(std::move(v));
    if (!late.ok() && report.outcome == sim::Outcome::kPass) {
      report.outcome = sim::Outcome::kLiveness;
      for (std::string& v : late.violations) {
        report.violations.push_back(
            fmt::format("{} (within {} s of healing)", v,
                        std::chrono::duration_cast<std::chrono::seconds>(spec.liveness).count()));
      }
    }
    if (history.sends.empty()) {
      report.Violation("the workload sent nothing: the cluster never became usable");
    }

    report.Count("faults_planned", plan.faults.size());
    for (const auto& [kind, n] : injector.applied()) report.Count("fault_" + kind, n);
    report.Count("faults_skipped", injector.skipped());
    uint64_t not_acked = 0;
    for (const sim::SendOp& s : history.sends) not_acked += s.outcome != sim::OpOutcome::kOk;
    report.Count("sends", history.sends.size());
    report.Count("sends_not_acked", not_acked);
    for (auto& [name, value] : late.counters) report.Count(name, value);
    for (auto& [name, value] : safety.counters) report.Count(name, value);
    sim::RecordWorldStats(world, config, &report);
  }
  SetLogLevel(saved);
  return report;
}

}  // namespace apogee::scenarios
