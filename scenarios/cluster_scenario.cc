#include "scenarios/cluster_scenario.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

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

sim::FaultTargets TargetsOf(const sim::World& world, const sim::Cluster& cluster,
                            const FaultSelection& f) {
  sim::FaultTargets targets;
  for (Role role : f.roles) {
    for (sim::NodeId id : NodesOf(cluster, role)) {
      targets.nodes.push_back(world.name(id));
      if (role == Role::kBroker) targets.stateful.push_back(world.name(id));
    }
  }
  for (Role role : f.peer_roles) {
    for (sim::NodeId id : NodesOf(cluster, role)) targets.peers.push_back(world.name(id));
  }
  return targets;
}

// The workload's operations per simulated second, for the timeline.
std::vector<sim::OpsBucket> OpsPerSecond(const sim::History& history) {
  std::map<int64_t, sim::OpsBucket> buckets;
  auto bucket = [&](Instant at) -> sim::OpsBucket& {
    int64_t second = ToNanos(at) / 1'000'000'000;
    sim::OpsBucket& b = buckets[second];
    b.second = second;
    return b;
  };
  for (const sim::SendOp& s : history.sends) {
    Instant at = s.outcome == sim::OpOutcome::kPending ? s.invoked : s.completed;
    sim::OpsBucket& b = bucket(at);
    switch (s.outcome) {
      case sim::OpOutcome::kOk:
        b.sends_ok++;
        break;
      case sim::OpOutcome::kFail:
        b.sends_failed++;
        break;
      case sim::OpOutcome::kInfo:
      case sim::OpOutcome::kPending:
        b.sends_unknown++;
        break;
    }
  }
  for (const sim::Delivery& d : history.deliveries) bucket(d.at).deliveries++;
  std::vector<sim::OpsBucket> out;
  for (auto& [second, b] : buckets) out.push_back(b);
  return out;
}

}  // namespace

sim::FaultTargets ClusterScenarioTargets(const ClusterScenarioSpec& spec) {
  sim::History history;
  sim::World world(0);
  sim::Cluster cluster(world, spec.cluster, &history);
  return TargetsOf(world, cluster, spec.faults);
}

sim::Scenario MakeClusterScenario(ClusterScenarioSpec spec) {
  sim::Scenario scenario;
  scenario.name = spec.name;
  scenario.description = spec.description;
  scenario.plan_length = spec.safety;
  if (!spec.faults.kinds.empty()) {
    scenario.targets = [spec] { return ClusterScenarioTargets(spec); };
  }
  scenario.run = [spec = std::move(spec)](const sim::RunConfig& config) {
    return RunClusterScenario(spec, config);
  };
  return scenario;
}

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
    if (config.record_timeline) world.timeline().Enable();
    sim::Cluster cluster(world, spec.cluster, &history);

    // The plan is drawn from its own stream even when one is given, so a given plan that
    // equals the drawn one replays the run exactly.
    std::unique_ptr<io::Random> rng = world.kernel().NewStream("fault-plan");
    sim::SwarmMix mix = DrawMix(*rng, spec.faults);
    sim::FaultTargets targets = TargetsOf(world, cluster, spec.faults);
    sim::FaultPlan plan;
    if (!spec.faults.kinds.empty()) plan = sim::DrawSwarmPlan(*rng, mix, targets, spec.safety);
    if (spec.faults.crash_style.has_value()) {
      for (sim::Fault& f : plan.faults) f.crash = *spec.faults.crash_style;
    }
    if (config.fault_plan.has_value()) {
      plan = *config.fault_plan;
      LOG_INFO("fault plan given: {} faults", plan.faults.size());
    } else {
      report.fault_mix = mix.Describe();
      LOG_INFO("fault mix: {}", report.fault_mix);
    }
    for (const sim::Fault& f : plan.faults) LOG_INFO("planned: {}", sim::Describe(f));
    if (config.on_plan) config.on_plan(plan);

    auto phase = [&](std::string what) {
      world.timeline().Add(world.Now(), sim::TimelineKind::kPhase, "", std::move(what));
    };
    phase("start: nameservers and brokers, then clients");
    cluster.Start();
    phase(fmt::format("safety phase: {} faults planned over {} s", plan.faults.size(),
                      std::chrono::duration_cast<std::chrono::seconds>(spec.safety).count()));
    sim::FaultInjector injector(world, plan);
    injector.Start();
    world.RunFor(spec.safety);
    injector.HealAll();
    const Instant healed = world.Now();
    world.RunFor(std::chrono::seconds(5));
    cluster.StopProducers();
    phase("liveness phase: producers stopped, consumers must catch up");
    const Instant limit = healed + spec.liveness;
    CheckResult late;
    while (world.Now() < limit) {
      world.RunFor(std::chrono::seconds(1));
      late = CheckResult();
      const HistoryIndex round(history);  // one index for both checks of this round
      CheckAcknowledgedDelivered(round, &late);
      CheckResult ignored;
      CheckTransactions(round, &ignored, &late);
      if (late.ok()) break;
    }
    report.Count("catch_up_ms", static_cast<uint64_t>((world.Now() - healed).count() / 1'000'000));

    CheckResult safety;
    auto flips = injector.applied().find(std::string(sim::FaultTypeName(FaultType::kBitFlip)));
    history.bit_flips = flips == injector.applied().end() ? 0 : flips->second;
    const bool audit = !late.ok() || history.bit_flips > 0;
    if (audit) {
      // Some acknowledged message did not arrive, or bits were flipped: read the stores to tell
      // lost from late, and find the records that flips damaged.
      phase("audit: reading every queue of every broker");
      cluster.StartAudit();
      const Instant audit_limit = world.Now() + std::chrono::seconds(60);
      while (!history.audit.done && world.Now() < audit_limit) {
        world.RunFor(std::chrono::seconds(1));
      }
    }
    // The world runs no more, so the history is final: one index serves every check below.
    const HistoryIndex index(history);
    if (audit) {
      if (history.audit.done) {
        CheckNotLost(index, &safety);
        CheckRefusedWithinFlips(history, &safety);
        if (!late.ok()) {
          // Again, now that damaged messages are known (and excused).
          late = CheckResult();
          CheckAcknowledgedDelivered(index, &late);
        }
      } else {
        report.Violation("the auditor could not read every queue within 60 s");
      }
    }
    CheckCatchUp(index, healed, spec.liveness, &late);
    CheckNoPhantoms(index, &safety);
    CheckQueueOrder(index, &safety);
    CheckKeyOrder(index, &safety);
    CheckOffsetsMonotonic(index, &safety);
    CheckCommitsCovered(index, &safety);
    CheckDelays(index, &safety);
    CheckDeadLetters(index, &safety);
    CheckBodies(index, &safety);
    CheckTransactions(index, &safety, &late);
    CountDuplicates(index, &safety);
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

    if (config.inject_violation_on.has_value()) {
      std::string kind(sim::FaultTypeName(*config.inject_violation_on));
      if (injector.applied().count(kind) != 0) {
        report.Violation(fmt::format("injected: a {} fault was applied (test hook)", kind));
      }
    }
    for (const std::string& v : report.violations) {
      world.timeline().Add(world.Now(), sim::TimelineKind::kViolation, "", v);
    }
    report.fault_plan = plan;
    if (config.record_timeline) {
      for (sim::NodeId id = 0; id < world.node_count(); id++)
        report.nodes.push_back(world.name(id));
      report.ops = OpsPerSecond(history);
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
    report.timeline = world.timeline().Take();
  }
  SetLogLevel(saved);
  return report;
}

}  // namespace apogee::scenarios
