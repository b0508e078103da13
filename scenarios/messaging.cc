// The fault-free messaging scenario: two nameservers, two brokers (SYNC_FLUSH), two producers
// sending at a steady rate, and three consumer groups of two consumers each (clustering
// concurrent, clustering orderly, broadcasting). After 57 simulated seconds of sending the
// producers stop and the consumers get up to 60 more seconds to drain. Checked: every
// acknowledged message was consumed by every group (by every member for broadcasting), nothing
// was delivered that was not sent, each consumer saw each queue in order; duplicates counted.

#include <fmt/format.h>

#include "core/base/log.h"
#include "scenarios/catalog.h"
#include "scenarios/checkers.h"
#include "sim/cluster/cluster.h"

namespace apogee::scenarios {

namespace {

constexpr Duration kSendPhase = std::chrono::seconds(57);
constexpr Duration kDrainMax = std::chrono::seconds(60);

sim::RunReport RunMessaging(const sim::RunConfig& config) {
  sim::RunReport report;
  report.scenario = "messaging";
  report.seed = config.seed;
  LogLevel saved = GetLogLevel();
  SetLogLevel(config.log_level);
  {
    sim::History history;  // outlives the world, whose nodes write into it
    sim::World world(config.seed);
    world.kernel().trace().set_record(config.record_trace);
    sim::ClusterSpec spec;
    spec.groups = {
        sim::GroupSpec{.name = "cg-concurrent"},
        sim::GroupSpec{.name = "cg-orderly", .orderly = true},
        sim::GroupSpec{.name = "cg-broadcast", .broadcasting = true},
    };
    sim::Cluster cluster(world, spec, &history);
    cluster.Start();
    world.RunFor(kSendPhase);
    cluster.StopProducers();
    Instant drain_start = world.Now();
    Instant limit = drain_start + kDrainMax;
    while (world.Now() < limit) {
      world.RunFor(std::chrono::seconds(1));
      CheckResult lost;
      CheckAcknowledgedDelivered(history, &lost);
      if (lost.ok()) break;
    }
    report.Count("drain_ms",
                 static_cast<uint64_t>((world.Now() - drain_start).count() / 1'000'000));
    CheckResult result = CheckAll(history);
    for (std::string& v : result.violations) report.Violation(std::move(v));
    uint64_t sent = history.sends.size();
    uint64_t info = 0;
    for (const sim::SendOp& s : history.sends) info += s.outcome == sim::OpOutcome::kInfo ? 1 : 0;
    report.Count("sends", sent);
    report.Count("sends_unknown", info);
    for (auto& [name, value] : result.counters) report.Count(name, value);
    if (result.counters.empty() || history.sends.empty()) {
      report.Violation("the workload sent nothing: the cluster never became usable");
    }
    sim::RecordWorldStats(world, config, &report);
  }
  SetLogLevel(saved);
  return report;
}

}  // namespace

sim::Scenario MessagingScenario() {
  return sim::Scenario{
      "messaging",
      "2 nameservers, 2 brokers, 2 producers and 3 consumer groups (concurrent, orderly, "
      "broadcasting), no faults: every acked message consumed by every group, in queue order",
      &RunMessaging,
      {},
      {}};
}

}  // namespace apogee::scenarios
