// The cluster scenarios of the catalog: each aims the standard phases and checks
// (scenarios/cluster_scenario.h) at one risk by choosing the topology and the faults.

#include "scenarios/cluster_scenario.h"

namespace apogee::scenarios {

namespace {

using sim::FaultType;
using sim::GroupSpec;
using namespace std::chrono_literals;

// 2 nameservers, 2 SYNC_FLUSH brokers with 4 queues each and syncs of up to 30 ms, 2 producers
// at 20 messages a second, and the three kinds of consumer group.
sim::ClusterSpec Standard() {
  sim::ClusterSpec c;
  c.rate_per_producer = 20;
  c.broker_sync_latency_max = std::chrono::milliseconds(30);
  c.groups = {GroupSpec{.name = "cg-concurrent"}, GroupSpec{.name = "cg-orderly", .orderly = true},
              GroupSpec{.name = "cg-broadcast", .broadcasting = true}};
  return c;
}

const std::vector<FaultType> kAllButBitFlips = {
    FaultType::kPartition, FaultType::kPartitionOneWay, FaultType::kIsolate,
    FaultType::kClog,      FaultType::kReset,           FaultType::kCrash,
    FaultType::kPause,     FaultType::kDiskErrors,      FaultType::kFailedSyncs,
    FaultType::kDiskFull,  FaultType::kClockJump,       FaultType::kClockDrift};

std::vector<ClusterScenarioSpec> Specs() {
  std::vector<ClusterScenarioSpec> specs;
  {
    ClusterScenarioSpec s{"messaging-swarm",
                          "every fault kind but bit flips, drawn per seed (swarm), on every node",
                          Standard(),
                          {},
                          30s,
                          90s};
    s.faults.kinds = kAllButBitFlips;
    specs.push_back(s);
  }
  {
    ClusterScenarioSpec s{"broker-crash-sync",
                          "SYNC_FLUSH brokers crash (unsynced data dropped, kept or torn) and "
                          "restart: no acknowledged message is lost",
                          Standard(),
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kCrash};
    s.faults.swarm = false;
    s.faults.roles = {Role::kBroker};
    s.faults.gap_mean_min = 2s;
    s.faults.gap_mean_max = 8s;
    specs.push_back(s);
  }
  {
    ClusterScenarioSpec s{"torn-write-crash",
                          "brokers crash with every unsynced sector torn independently, often",
                          Standard(),
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kCrash};
    s.faults.swarm = false;
    s.faults.roles = {Role::kBroker};
    s.faults.crash_style = sim::CrashStyle::kTear;
    s.faults.gap_mean_min = 1s;
    s.faults.gap_mean_max = 4s;
    specs.push_back(s);
  }
  {
    ClusterScenarioSpec s{"nameserver-partition",
                          "nameservers partitioned (both ways, one way, isolated) from brokers "
                          "and clients: routes go stale, registrations expire",
                          Standard(),
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kPartition, FaultType::kPartitionOneWay, FaultType::kIsolate};
    s.faults.roles = {Role::kNameserver};
    s.faults.peer_roles = {Role::kBroker, Role::kProducer, Role::kConsumer};
    specs.push_back(s);
  }
  {
    ClusterScenarioSpec s{"client-broker-partition",
                          "producers and consumers cut off from one broker mid-send and mid-pull: "
                          "partitions, one-way partitions, resets and clogged links",
                          Standard(),
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kPartition, FaultType::kPartitionOneWay, FaultType::kReset,
                      FaultType::kClog};
    s.faults.roles = {Role::kProducer, Role::kConsumer};
    s.faults.peer_roles = {Role::kBroker};
    specs.push_back(s);
  }
  {
    sim::ClusterSpec c = Standard();
    c.groups = {GroupSpec{.name = "cg-concurrent", .consumers = 4},
                GroupSpec{.name = "cg-orderly", .consumers = 3, .orderly = true}};
    ClusterScenarioSpec s{"rebalance-storm",
                          "consumers of two clustering groups crash, pause and lose connections "
                          "every second or so: queues move between members again and again",
                          c,
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kCrash, FaultType::kPause, FaultType::kReset};
    s.faults.roles = {Role::kConsumer};
    s.faults.peer_roles = {Role::kBroker};
    s.faults.gap_mean_min = 300ms;
    s.faults.gap_mean_max = 1500ms;
    specs.push_back(s);
  }
  {
    sim::ClusterSpec c = Standard();
    c.groups = {GroupSpec{.name = "cg-orderly", .consumers = 3, .orderly = true}};
    ClusterScenarioSpec s{"orderly-crashes",
                          "orderly consumers and brokers crash and pause: each queue stays in "
                          "order for each consumer, and nothing is skipped",
                          c,
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kCrash, FaultType::kPause};
    s.faults.roles = {Role::kConsumer, Role::kBroker};
    specs.push_back(s);
  }
  {
    ClusterScenarioSpec s{"disk-full",
                          "broker disks fill up (sends refused) and free again: nothing "
                          "acknowledged is lost, sending resumes",
                          Standard(),
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kDiskFull};
    s.faults.swarm = false;
    s.faults.roles = {Role::kBroker};
    specs.push_back(s);
  }
  {
    ClusterScenarioSpec s{"disk-errors",
                          "broker disks fail reads, writes and syncs (dirty data lost on a failed "
                          "sync), with crashes: acknowledged means durable",
                          Standard(),
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kDiskErrors, FaultType::kFailedSyncs, FaultType::kCrash};
    s.faults.roles = {Role::kBroker};
    specs.push_back(s);
  }
  {
    ClusterScenarioSpec s{"clock-faults",
                          "wall clocks jump by up to two minutes either way and drift, on every "
                          "node: timestamps move, delivery must not",
                          Standard(),
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kClockJump, FaultType::kClockDrift};
    specs.push_back(s);
  }
  {
    sim::ClusterSpec c = Standard();
    c.groups = {GroupSpec{.name = "cg-broadcast", .consumers = 3, .broadcasting = true}};
    ClusterScenarioSpec s{"broadcast-restart",
                          "broadcasting consumers (local offsets) crash and restart: every member "
                          "still gets every message",
                          c,
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kCrash, FaultType::kPause};
    s.faults.roles = {Role::kConsumer};
    specs.push_back(s);
  }
  {
    sim::ClusterSpec c = Standard();
    c.rate_per_producer = 2;  // consumers spend their time parked in long polls
    ClusterScenarioSpec s{"longpoll-broker-restart",
                          "a slow trickle of messages, so consumers sit in long polls, while "
                          "brokers crash, pause and restart under them",
                          c,
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kCrash, FaultType::kPause, FaultType::kReset};
    s.faults.roles = {Role::kBroker};
    s.faults.peer_roles = {Role::kConsumer};
    specs.push_back(s);
  }
  return specs;
}

}  // namespace

std::vector<sim::Scenario> ClusterScenarios() {
  std::vector<sim::Scenario> out;
  for (ClusterScenarioSpec& spec : Specs()) out.push_back(MakeClusterScenario(std::move(spec)));
  return out;
}

}  // namespace apogee::scenarios
