// The built-in demo scenario of the foundation: three demo nodes (sim/demo_node.h) exchange
// framed messages and persist them through crashes in every mode, partitions of every shape,
// clogged links, resets, pauses, clock jumps and drift, disk errors, failed syncs, a full disk
// and silent bit flips, drawn from the seed. Safety: every acknowledged message survives in its
// receiver's inbox (unless a bit flip destroyed it, which must then be detected), and nothing is
// read back that was not sent intact. Liveness: once every fault has healed, every pair of nodes
// gets messages through again.

#include <fmt/format.h>

#include <map>
#include <set>

#include "core/base/log.h"
#include "sim/demo_node.h"
#include "sim/scenario.h"
#include "sim/world.h"

namespace apogee::sim {
namespace {

constexpr uint32_t kNodes = 3;
constexpr Duration kSafetyPhase = std::chrono::seconds(30);
constexpr Duration kLivenessPhase = std::chrono::seconds(15);

// Which fault kinds this seed turns on, and how often faults come (swarm testing: a seed that
// only crashes finds different bugs from one that mixes everything).
struct FaultMix {
  bool crash = false;
  bool partition = false;
  bool clog = false;
  bool reset = false;
  bool pause = false;
  bool clock = false;
  bool disk_errors = false;
  bool disk_full = false;
  bool bit_flip = false;
  Duration gap_min{};
  Duration gap_max{};
};

FaultMix DrawMix(io::Random& rng) {
  FaultMix m;
  // Each kind is on with probability 0.6; crashes and partitions, the core of the demo, 0.8.
  m.crash = rng.Chance(0.8);
  m.partition = rng.Chance(0.8);
  m.clog = rng.Chance(0.6);
  m.reset = rng.Chance(0.6);
  m.pause = rng.Chance(0.6);
  m.clock = rng.Chance(0.6);
  m.disk_errors = rng.Chance(0.6);
  m.disk_full = rng.Chance(0.6);
  m.bit_flip = rng.Chance(0.3);
  int64_t gap = rng.Range(100, 1500);
  m.gap_min = std::chrono::milliseconds(gap / 2);
  m.gap_max = std::chrono::milliseconds(gap * 2);
  return m;
}

// The history of the run, as the nodes report it, and the checks over it.
class Oracle {
 public:
  explicit Oracle(RunReport* report) : report_(report) {}

  void OnAcked(uint32_t sender, uint32_t receiver, uint64_t id, Instant now) {
    acked_[receiver].insert(id);
    last_ack_[{sender, receiver}] = now;
    acks_++;
  }

  // Checks a recovered inbox against everything acknowledged to that node so far. A bit flip
  // in durable data may destroy the one record it lands in, and recovery must detect that; so
  // each flip on a machine excuses at most one acknowledged message, never more.
  void CheckInbox(uint32_t node, const std::vector<demo::InboxRecord>& records, const char* when) {
    std::set<uint64_t> present;
    for (const auto& r : records) present.insert(r.id);
    records_checked_ += records.size();
    std::set<uint64_t>& lost = lost_[node];
    for (uint64_t id : acked_[node]) {
      if (present.count(id) != 0) continue;
      lost.insert(id);
      if (lost.size() <= flips_[node]) continue;
      report_->Violation(fmt::format(
          "{}: acknowledged message {:016x} missing from the inbox of n{} ({} records recovered, "
          "{} acknowledged messages missing, {} bit flips injected)",
          when, id, node + 1, records.size(), lost.size(), flips_[node]));
      return;
    }
  }

  void OnBitFlip(uint32_t node) { flips_[node]++; }
  Instant LastAck(uint32_t sender, uint32_t receiver) const {
    auto it = last_ack_.find({sender, receiver});
    return it == last_ack_.end() ? Instant{} : it->second;
  }
  uint64_t acks() const { return acks_; }
  uint64_t records_checked() const { return records_checked_; }
  uint64_t lost_to_flips() const {
    uint64_t n = 0;
    for (const auto& [node, ids] : lost_) n += ids.size();
    return n;
  }

 private:
  RunReport* report_;
  std::map<uint32_t, std::set<uint64_t>> acked_;
  std::map<std::pair<uint32_t, uint32_t>, Instant> last_ack_;
  std::map<uint32_t, uint64_t> flips_;           // bit flips injected per machine
  std::map<uint32_t, std::set<uint64_t>> lost_;  // acknowledged messages found missing
  uint64_t acks_ = 0;
  uint64_t records_checked_ = 0;
};

class DemoRun {
 public:
  DemoRun(const RunConfig& config, RunReport* report)
      : config_(config), report_(report), oracle_(report), world_(config.seed) {
    world_.kernel().trace().set_record(config.record_trace);
    faults_rng_ = world_.kernel().NewStream("faults");
    mix_ = DrawMix(*faults_rng_);
    observer_.on_recovered = [this](uint32_t node, const std::vector<demo::InboxRecord>& records,
                                    uint64_t cut) {
      recoveries_++;
      bytes_cut_ += cut;
      oracle_.CheckInbox(node, records, "after restart");
    };
    observer_.on_acked = [this](uint32_t sender, uint32_t receiver, uint64_t id) {
      oracle_.OnAcked(sender, receiver, id, world_.Now());
    };
    observer_.on_violation = [this](std::string what) { report_->Violation(std::move(what)); };
    std::vector<std::string> hosts;
    for (uint32_t i = 0; i < kNodes; i++) hosts.push_back(fmt::format("10.0.0.{}", i + 1));
    for (uint32_t i = 0; i < kNodes; i++) {
      demo::DemoNodeConfig node_config{i, hosts, &observer_};
      world_.AddNode(NodeSpec{fmt::format("n{}", i + 1), hosts[i],
                              [node_config](io::Env& env) { demo::RunDemoNode(env, node_config); },
                              DiskFaults{.write_latency_min = std::chrono::microseconds(5),
                                         .write_latency_max = std::chrono::microseconds(50),
                                         .sync_latency_min = std::chrono::microseconds(200),
                                         .sync_latency_max = std::chrono::milliseconds(3)}});
    }
  }

  void Run() {
    for (uint32_t i = 0; i < kNodes; i++) world_.Start(i);
    if (config_.inject_nondeterminism) InjectNondeterminism();
    if (config_.inject_crash) {
      world_.SpawnController("crash", [this] {
        world_.controller().Sleep(std::chrono::seconds(1));
        APOGEE_ASSERT(!config_.inject_crash, "crash injected by --inject-crash");
      });
    }
    world_.SpawnController("faults", [this] { FaultLoop(); });
    world_.RunFor(kSafetyPhase);
    HealEverything();
    Instant healed = world_.Now();
    world_.RunFor(kLivenessPhase);
    CheckLiveness(healed);
    CheckFinalInboxes();
    Finish();
  }

 private:
  Duration Gap() {
    return Duration(faults_rng_->Range(mix_.gap_min.count(), mix_.gap_max.count()));
  }
  uint32_t AnyNode() { return static_cast<uint32_t>(faults_rng_->Uniform(kNodes)); }
  void Count(const char* kind) { faults_[kind]++; }

  // Deliberately reads state that outlives the run (a static counter), so two runs of one seed
  // differ. Only for showing that the determinism checker catches such bugs.
  void InjectNondeterminism() {
    static uint64_t runs = 0;
    runs++;
    world_.SpawnController("nondeterministic", [this] {
      world_.controller().Sleep(std::chrono::milliseconds(100 + (runs % 2) * 7));
      (void)faults_rng_->Next();
    });
  }

  void FaultLoop() {
    io::Scheduler& s = world_.controller();
    for (;;) {
      s.Sleep(Gap());
      switch (faults_rng_->Uniform(9)) {
        case 0:
          if (mix_.crash) CrashAndRestart();
          break;
        case 1:
          if (mix_.partition) PartitionAndHeal();
          break;
        case 2:
          if (mix_.clog) Clog();
          break;
        case 3:
          if (mix_.reset) ResetLink();
          break;
        case 4:
          if (mix_.pause) PauseAndResume();
          break;
        case 5:
          if (mix_.clock) ClockFault();
          break;
        case 6:
          if (mix_.disk_errors) DiskErrorWindow();
          break;
        case 7:
          if (mix_.disk_full) DiskFullWindow();
          break;
        case 8:
          if (mix_.bit_flip && faults_.count("bit_flip") == 0) BitFlip();
          break;
      }
    }
  }

  // Runs `then` after `delay` on a controller fiber of its own, so faults overlap.
  void After(Duration delay, std::function<void()> then) {
    world_.SpawnController("heal", [this, delay, then = std::move(then)] {
      world_.controller().Sleep(delay);
      then();
    });
  }

  void CrashAndRestart() {
    uint32_t n = AnyNode();
    if (world_.state(n) == NodeState::kDown) return;
    auto mode = static_cast<CrashMode>(faults_rng_->Uniform(3));
    world_.Crash(n, mode);
    Count("crash");
    After(Duration(faults_rng_->Range(10'000'000, 2'000'000'000)), [this, n] {
      if (world_.state(n) == NodeState::kDown) world_.Start(n);
    });
  }

  void PartitionAndHeal() {
    uint32_t a = AnyNode();
    uint32_t b = (a + 1 + static_cast<uint32_t>(faults_rng_->Uniform(kNodes - 1))) % kNodes;
    const std::string& ha = world_.host(a);
    const std::string& hb = world_.host(b);
    switch (faults_rng_->Uniform(3)) {
      case 0:
        world_.network().Partition(ha, hb);
        Count("partition_symmetric");
        break;
      case 1:
        world_.network().PartitionOneWay(ha, hb);
        Count("partition_one_way");
        break;
      default:
        world_.network().Isolate(ha);
        Count("isolate");
        break;
    }
    world_.NoteFault(FaultKind::kPartition, (a << 8) | b);
    After(Duration(faults_rng_->Range(100'000'000, 3'000'000'000)), [this] {
      world_.network().HealAll();
      world_.NoteFault(FaultKind::kHeal, 0);
    });
  }

  void Clog() {
    uint32_t a = AnyNode();
    uint32_t b = (a + 1) % kNodes;
    world_.network().Clog(world_.host(a), world_.host(b),
                          Duration(faults_rng_->Range(50'000'000, 1'000'000'000)));
    world_.NoteFault(FaultKind::kClog, (a << 8) | b);
    Count("clog");
  }

  void ResetLink() {
    uint32_t a = AnyNode();
    uint32_t b = (a + 1) % kNodes;
    world_.network().ResetConnections(world_.host(a), world_.host(b));
    world_.NoteFault(FaultKind::kReset, (a << 8) | b);
    Count("reset");
  }

  void PauseAndResume() {
    uint32_t n = AnyNode();
    if (world_.state(n) != NodeState::kUp) return;
    world_.Pause(n);
    Count("pause");
    After(Duration(faults_rng_->Range(50'000'000, 1'500'000'000)), [this, n] {
      if (world_.state(n) == NodeState::kPaused) world_.Resume(n);
    });
  }

  void ClockFault() {
    uint32_t n = AnyNode();
    if (faults_rng_->Chance(0.5)) {
      world_.JumpClock(n, std::chrono::seconds(faults_rng_->Range(-120, 120)));
      Count("clock_jump");
    } else {
      world_.SetClockDrift(n, static_cast<double>(faults_rng_->Range(-500, 500)));
      Count("clock_drift");
    }
  }

  void DiskErrorWindow() {
    uint32_t n = AnyNode();
    DiskFaults f = world_.disk(n).faults();
    switch (faults_rng_->Uniform(3)) {
      case 0:
        f.sync_error_probability = 0.3;
        Count("failed_syncs");
        break;
      case 1:
        f.write_error_probability = 0.2;
        Count("write_eio");
        break;
      default:
        f.read_error_probability = 0.2;
        Count("read_eio");
        break;
    }
    SetDiskFaults(n, f);
  }

  void DiskFullWindow() {
    uint32_t n = AnyNode();
    DiskFaults f = world_.disk(n).faults();
    f.capacity_bytes = world_.disk(n).used_bytes() + 512;
    SetDiskFaults(n, f);
    Count("disk_full");
  }

  void SetDiskFaults(uint32_t n, const DiskFaults& f) {
    DiskFaults before = world_.disk(n).faults();
    world_.disk(n).set_faults(f);
    world_.NoteFault(FaultKind::kDiskFaults, n);
    After(Duration(faults_rng_->Range(200'000'000, 2'000'000'000)),
          [this, n, before] { world_.disk(n).set_faults(before); });
  }

  void BitFlip() {
    uint32_t n = AnyNode();
    Result<std::string> what = world_.disk(n).FlipRandomBit();
    if (!what.ok()) return;
    oracle_.OnBitFlip(n);
    world_.NoteFault(FaultKind::kBitFlip, n);
    Count("bit_flip");
    LOG_DEBUG("n{}: {}", n + 1, *what);
  }

  void HealEverything() {
    world_.runtime().KillGroup(world_.controller().group());  // no more faults
    world_.network().HealAll();
    for (uint32_t n = 0; n < kNodes; n++) {
      DiskFaults f = world_.disk(n).faults();
      f.read_error_probability = 0;
      f.write_error_probability = 0;
      f.sync_error_probability = 0;
      f.capacity_bytes = UINT64_MAX;
      world_.disk(n).set_faults(f);
      if (world_.state(n) == NodeState::kPaused) world_.Resume(n);
      if (world_.state(n) == NodeState::kDown) world_.Start(n);
    }
  }

  void CheckLiveness(Instant healed) {
    for (uint32_t s = 0; s < kNodes; s++) {
      for (uint32_t r = 0; r < kNodes; r++) {
        if (s == r || oracle_.LastAck(s, r) > healed) continue;
        if (report_->outcome == Outcome::kPass) report_->outcome = Outcome::kLiveness;
        report_->violations.push_back(
            fmt::format("liveness: no message from n{} to n{} acknowledged in the {} s after "
                        "every fault healed",
                        s + 1, r + 1, ToSeconds(kLivenessPhase)));
      }
    }
  }

  // What is durable now must hold everything acknowledged: read each inbox as a crash that drops
  // every unsynced byte would leave it.
  void CheckFinalInboxes() {
    for (uint32_t n = 0; n < kNodes; n++) {
      Result<std::vector<uint8_t>> image = world_.disk(n).DurableContents(demo::kInboxPath);
      std::vector<uint8_t> bytes = image.ok() ? std::move(image).value() : std::vector<uint8_t>{};
      uint64_t valid = 0;
      uint64_t damaged = 0;
      oracle_.CheckInbox(n, demo::ParseInbox(bytes, &valid, &damaged), "at the end");
    }
  }

  void Finish() {
    report_->Count("acks", oracle_.acks());
    report_->Count("recoveries", recoveries_);
    report_->Count("records_checked", oracle_.records_checked());
    report_->Count("bytes_cut_at_recovery", bytes_cut_);
    report_->Count("acked_lost_to_bit_flips", oracle_.lost_to_flips());
    report_->Count("net_deliveries", world_.network().stats().deliveries);
    report_->Count("net_resets", world_.network().stats().resets);
    uint64_t failed_syncs = 0;
    uint64_t torn_kept = 0;
    uint64_t torn_dropped = 0;
    for (uint32_t n = 0; n < kNodes; n++) {
      failed_syncs += world_.disk(n).stats().failed_syncs;
      torn_kept += world_.disk(n).stats().torn_sectors_kept;
      torn_dropped += world_.disk(n).stats().torn_sectors_dropped;
    }
    report_->Count("disk_failed_syncs", failed_syncs);
    report_->Count("disk_torn_sectors_kept", torn_kept);
    report_->Count("disk_torn_sectors_dropped", torn_dropped);
    for (const auto& [kind, count] : faults_) report_->Count("fault_" + kind, count);
    report_->buggify = world_.buggify().Coverage();
    if (config_.record_trace) {
      report_->trace = world_.kernel().trace().entries();
      for (size_t g = 0; g < world_.runtime().group_count(); g++) {
        report_->group_names.push_back(world_.runtime().GroupName(static_cast<io::GroupId>(g)));
      }
    }
    report_->trace_hash = world_.kernel().trace().hash();
    report_->trace_steps = world_.kernel().steps();
    report_->sim_time_ns = ToNanos(world_.Now());
    report_->fiber_resumes = world_.runtime().fiber_resumes();
    report_->events_fired = world_.runtime().events_fired();
  }

  RunConfig config_;
  RunReport* report_;
  Oracle oracle_;
  demo::DemoObserver observer_;
  std::unique_ptr<TracedRandom> faults_rng_;
  FaultMix mix_;
  std::map<std::string, uint64_t> faults_;
  uint64_t recoveries_ = 0;
  uint64_t bytes_cut_ = 0;
  // Last, so it is destroyed first: its destructor still runs node fibers, which may use
  // everything above.
  World world_;
};

RunReport RunDemo(const RunConfig& config) {
  RunReport report;
  report.scenario = "demo";
  report.seed = config.seed;
  LogLevel saved = GetLogLevel();
  SetLogLevel(config.log_level);
  {
    DemoRun run(config, &report);
    run.Run();
  }
  SetLogLevel(saved);
  return report;
}

}  // namespace

Scenario DemoScenario() {
  return Scenario{"demo",
                  "3 nodes exchange framed messages and persist them through crashes, "
                  "partitions, disk and clock faults; acked messages must survive",
                  &RunDemo,
                  {},
                  {}};
}

}  // namespace apogee::sim
