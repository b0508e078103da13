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
  {
    ClusterScenarioSpec s{"silent-corruption",
                          "bits flip in the brokers' files (commit log, consume queues, indexes, "
                          "configs): a damaged record may be lost, but is never served",
                          Standard(),
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kBitFlip};
    s.faults.swarm = false;
    s.faults.roles = {Role::kBroker};
    s.faults.gap_mean_min = 200ms;
    s.faults.gap_mean_max = 1s;
    specs.push_back(s);
  }
  {
    sim::ClusterSpec c = Standard();
    c.delay_fraction = 0.3;
    c.delay_level_max = 3;  // 1 s, 5 s, 10 s
    ClusterScenarioSpec s{"clock-jump-delays",
                          "a third of the messages are delayed (1 to 10 s) while the brokers' wall "
                          "clocks jump and drift: no delayed message comes early",
                          c,
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kClockJump, FaultType::kClockDrift};
    s.faults.roles = {Role::kBroker};
    s.faults.gap_mean_min = 1s;
    s.faults.gap_mean_max = 4s;
    specs.push_back(s);
  }
  {
    sim::ClusterSpec c = Standard();
    // An orderly queue stalls about 3 s on each always-failing message (three tries a second
    // apart) and 2 s on each few-times one: rarer than this, the orderly group keeps up.
    c.fail_always_every = 50;
    c.fail_few_every = 30;
    c.fail_few_times = 2;
    c.groups = {
        GroupSpec{.name = "cg-concurrent", .failing = true, .max_reconsume_times = 2},
        GroupSpec{.name = "cg-orderly", .orderly = true, .failing = true, .max_reconsume_times = 2},
        GroupSpec{.name = "cg-clean"}};
    ClusterScenarioSpec s{"retries-dlq-partitions",
                          "listeners fail some messages always (to the DLQ after 3 tries) and some "
                          "twice, while consumers are partitioned from brokers and links reset",
                          c,
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kPartition, FaultType::kPartitionOneWay, FaultType::kIsolate,
                      FaultType::kClog, FaultType::kReset};
    s.faults.roles = {Role::kConsumer};
    s.faults.peer_roles = {Role::kBroker};
    specs.push_back(s);
  }
  {
    sim::ClusterSpec c = Standard();
    c.order_keys = 8;
    c.groups = {GroupSpec{.name = "cg-orderly", .consumers = 3, .orderly = true},
                GroupSpec{.name = "cg-concurrent"}};
    ClusterScenarioSpec s{"orderly-keys",
                          "keyed sends (one queue per key) to orderly consumers while consumers "
                          "and brokers crash and pause: each key is consumed in send order",
                          c,
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kCrash, FaultType::kPause, FaultType::kReset};
    s.faults.roles = {Role::kConsumer, Role::kBroker};
    s.faults.peer_roles = {Role::kBroker};
    specs.push_back(s);
  }
  {
    // Half the sends are transactional; brokers and producers crash (between a half message and
    // its outcome too), pause, and partitions cut producers off from brokers so checks settle.
    sim::ClusterSpec c = Standard();
    c.transaction_fraction = 0.5;
    ClusterScenarioSpec s{"transactions-crashes",
                          "transactional sends while brokers and producers crash and pause and "
                          "partitions cut them apart: committed transactions are delivered, "
                          "rolled-back ones never",
                          c,
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kCrash, FaultType::kPartition, FaultType::kIsolate,
                      FaultType::kPause};
    s.faults.roles = {Role::kBroker, Role::kProducer};
    s.faults.gap_mean_min = 1s;
    s.faults.gap_mean_max = 5s;
    specs.push_back(s);
  }
  {
    // 40 messages a second of about 250 bytes over two brokers: a 16 KiB segment fills every
    // three seconds or so, so several roll-overs fall inside the safety phase.
    sim::ClusterSpec c = Standard();
    c.segment_bytes = 16u << 10;
    c.message_bytes_max = 4u << 10;
    ClusterScenarioSpec s{"segment-rollover-crash",
                          "SYNC_FLUSH brokers with 16 KiB commit log segments, rolling over every "
                          "few seconds, crash: a sync spanning a roll-over makes both segments "
                          "durable",
                          c,
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kCrash};
    s.faults.swarm = false;
    s.faults.roles = {Role::kBroker};
    s.faults.gap_mean_min = 1s;
    s.faults.gap_mean_max = 4s;
    specs.push_back(s);
  }
  {
    // Syncs take up to 30 ms, and a put waits at most 40 ms for its own: under load and failed
    // syncs many puts are answered FLUSH_DISK_TIMEOUT, which the producer must not count as
    // durable (the history records them as unknown), and crashes drop what was not synced.
    sim::ClusterSpec c = Standard();
    c.sync_flush_timeout = std::chrono::milliseconds(40);
    ClusterScenarioSpec s{
        "sync-timeout-crash",
        "brokers on slow, sometimes failing disks answer FLUSH_DISK_TIMEOUT after "
        "40 ms and crash: a put whose sync timed out is never acknowledged",
        c,
        {},
        30s,
        90s};
    s.faults.kinds = {FaultType::kFailedSyncs, FaultType::kCrash};
    s.faults.swarm = false;
    s.faults.roles = {Role::kBroker};
    s.faults.gap_mean_min = 1s;
    s.faults.gap_mean_max = 3s;
    specs.push_back(s);
  }
  {
    // The offsets file is rewritten every 20 ms with a sync of up to 30 ms, so a good share of
    // crashes land inside a write; torn crashes show what such a crash leaves of the file.
    sim::ClusterSpec c = Standard();
    c.offset_flush_interval = std::chrono::milliseconds(20);
    ClusterScenarioSpec s{"offsets-persist-crash",
                          "brokers rewrite their consumer offsets every 20 ms and crash often: no "
                          "crash mid-write loses or tears the offsets file",
                          c,
                          {},
                          30s,
                          90s};
    s.faults.kinds = {FaultType::kCrash};
    s.faults.swarm = false;
    s.faults.roles = {Role::kBroker};
    s.faults.crash_style = sim::CrashStyle::kTear;
    s.faults.gap_mean_min = 500ms;
    s.faults.gap_mean_max = 2s;
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
