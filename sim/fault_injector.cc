#include "sim/fault_injector.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/base/log.h"

namespace apogee::sim {

namespace {

CrashMode ModeOf(CrashStyle style) {
  switch (style) {
    case CrashStyle::kDrop:
      return CrashMode::kDrop;
    case CrashStyle::kKeep:
      return CrashMode::kKeep;
    case CrashStyle::kTear:
      return CrashMode::kTear;
  }
  return CrashMode::kDrop;
}

bool Erase(std::vector<NodeId>& v, NodeId id) {
  auto it = std::find(v.begin(), v.end(), id);
  if (it == v.end()) return false;
  v.erase(it);
  return true;
}

}  // namespace

FaultInjector::FaultInjector(World& world, FaultPlan plan) : world_(world), plan_(std::move(plan)) {
  for (NodeId id = 0; id < world_.node_count(); id++) nodes_[world_.name(id)] = id;
  for (const Fault& f : plan_.faults) {
    APOGEE_ASSERT(nodes_.count(f.a) != 0, "fault plan names unknown node '{}'", f.a);
    APOGEE_ASSERT(f.b.empty() || nodes_.count(f.b) != 0, "fault plan names unknown node '{}'", f.b);
  }
}

NodeId FaultInjector::Node(const std::string& name) const { return nodes_.at(name); }

void FaultInjector::Start() {
  std::vector<Step> steps;
  for (size_t i = 0; i < plan_.faults.size(); i++) {
    const Fault& f = plan_.faults[i];
    steps.push_back(Step{f.at, i, false});
    if (f.duration > Duration::zero()) steps.push_back(Step{f.at + f.duration, i, true});
  }
  // Undos before applies at one instant, so a fault that ends as another starts is gone first.
  std::stable_sort(steps.begin(), steps.end(), [](const Step& x, const Step& y) {
    return x.at != y.at ? x.at < y.at : x.undo > y.undo;
  });
  const Instant start = world_.Now();
  fiber_ = world_.SpawnController("fault-injector", [this, steps, start] {
    for (const Step& s : steps) {
      world_.controller().SleepUntil(start + s.at);
      const Fault& f = plan_.faults[s.fault];
      if (s.undo) {
        Undo(f);
      } else {
        Apply(f);
      }
    }
  });
}

void FaultInjector::Apply(const Fault& f) {
  NodeId a = Node(f.a);
  const std::string& host_a = world_.host(a);
  bool done = true;
  switch (f.type) {
    case FaultType::kPartition:
      world_.network().Partition(host_a, world_.host(Node(f.b)));
      world_.NoteFault(FaultKind::kPartition, (uint64_t{a} << 8) | Node(f.b));
      break;
    case FaultType::kPartitionOneWay:
      world_.network().PartitionOneWay(host_a, world_.host(Node(f.b)));
      world_.NoteFault(FaultKind::kPartition, (uint64_t{a} << 8) | Node(f.b) | (1u << 16));
      break;
    case FaultType::kIsolate:
      world_.network().Isolate(host_a);
      world_.NoteFault(FaultKind::kPartition, uint64_t{a} | (2u << 16));
      break;
    case FaultType::kClog:
      world_.network().Clog(host_a, world_.host(Node(f.b)), f.duration);
      world_.NoteFault(FaultKind::kClog, (uint64_t{a} << 8) | Node(f.b));
      break;
    case FaultType::kReset:
      world_.network().ResetConnections(host_a, world_.host(Node(f.b)));
      world_.NoteFault(FaultKind::kReset, (uint64_t{a} << 8) | Node(f.b));
      break;
    case FaultType::kCrash:
      if (world_.state(a) == NodeState::kDown) {
        done = false;
        break;
      }
      Erase(paused_, a);
      world_.Crash(a, ModeOf(f.crash));
      crashed_.push_back(a);
      break;
    case FaultType::kPause:
      if (world_.state(a) != NodeState::kUp) {
        done = false;
        break;
      }
      world_.Pause(a);
      paused_.push_back(a);
      break;
    case FaultType::kDiskErrors:
    case FaultType::kFailedSyncs:
    case FaultType::kDiskFull: {
      if (disk_holds_[a]++ == 0) disk_baseline_[a] = world_.disk(a).faults();
      DiskFaults faults = world_.disk(a).faults();
      if (f.type == FaultType::kDiskErrors) {
        faults.read_error_probability = f.probability;
        faults.write_error_probability = f.probability;
      } else if (f.type == FaultType::kFailedSyncs) {
        faults.sync_error_probability = f.probability;
      } else {
        faults.capacity_bytes = world_.disk(a).used_bytes() + static_cast<uint64_t>(f.amount);
      }
      world_.disk(a).set_faults(faults);
      world_.NoteFault(FaultKind::kDiskFaults, a);
      break;
    }
    case FaultType::kBitFlip: {
      Result<std::string> flipped = world_.disk(a).FlipRandomBit();
      if (!flipped.ok()) {
        done = false;
        break;
      }
      world_.NoteFault(FaultKind::kBitFlip, a);
      LOG_INFO("fault: {} ({})", Describe(f), *flipped);
      world_.timeline().Add(world_.Now(), TimelineKind::kFaultStart, f.a,
                            fmt::format("{} ({})", Describe(f), *flipped));
      break;
    }
    case FaultType::kClockJump:
      world_.JumpClock(a, std::chrono::milliseconds(f.amount));
      break;
    case FaultType::kClockDrift:
      world_.SetClockDrift(a, static_cast<double>(f.amount));
      drifting_.push_back(a);
      break;
  }
  if (!done) {
    skipped_++;
    LOG_INFO("fault skipped: {}", Describe(f));
    if (world_.timeline().enabled()) {
      world_.timeline().Add(world_.Now(), TimelineKind::kFaultSkipped, f.a, Describe(f));
    }
    return;
  }
  applied_[std::string(FaultTypeName(f.type))]++;
  if (f.type != FaultType::kBitFlip) {
    LOG_INFO("fault: {}", Describe(f));
    if (world_.timeline().enabled()) {
      world_.timeline().Add(world_.Now(), TimelineKind::kFaultStart, f.a, Describe(f));
    }
  }
}

void FaultInjector::Undo(const Fault& f) {
  NodeId a = Node(f.a);
  if (world_.timeline().enabled()) {
    world_.timeline().Add(world_.Now(), TimelineKind::kFaultEnd, f.a, Describe(f));
  }
  switch (f.type) {
    case FaultType::kPartition:
    case FaultType::kPartitionOneWay:
      world_.network().Heal(world_.host(a), world_.host(Node(f.b)));
      world_.NoteFault(FaultKind::kHeal, (uint64_t{a} << 8) | Node(f.b));
      break;
    case FaultType::kIsolate:
      for (const auto& [name, id] : nodes_) {
        if (id != a) world_.network().Heal(world_.host(a), world_.host(id));
      }
      world_.NoteFault(FaultKind::kHeal, a);
      break;
    case FaultType::kCrash:
      if (Erase(crashed_, a) && world_.state(a) == NodeState::kDown) world_.Start(a);
      break;
    case FaultType::kPause:
      if (Erase(paused_, a) && world_.state(a) == NodeState::kPaused) world_.Resume(a);
      break;
    case FaultType::kDiskErrors:
    case FaultType::kFailedSyncs:
    case FaultType::kDiskFull:
      if (disk_holds_[a] > 0 && --disk_holds_[a] == 0) {
        world_.disk(a).set_faults(disk_baseline_[a]);
        world_.NoteFault(FaultKind::kDiskFaults, a);
      }
      break;
    case FaultType::kClockDrift:
      if (Erase(drifting_, a)) world_.SetClockDrift(a, 0);
      break;
    case FaultType::kClog:
    case FaultType::kReset:
    case FaultType::kBitFlip:
    case FaultType::kClockJump:
      break;
  }
}

void FaultInjector::HealAll() {
  if (healed_) return;
  healed_ = true;
  world_.timeline().Add(world_.Now(), TimelineKind::kPhase, "", "heal everything");
  if (fiber_.valid() && !fiber_.done()) fiber_.Kill();
  world_.network().HealAll();
  world_.NoteFault(FaultKind::kHeal, UINT64_MAX);
  for (NodeId id : paused_) {
    if (world_.state(id) == NodeState::kPaused) world_.Resume(id);
  }
  paused_.clear();
  for (NodeId id : crashed_) {
    if (world_.state(id) == NodeState::kDown) world_.Start(id);
  }
  crashed_.clear();
  for (auto& [id, holds] : disk_holds_) {
    if (holds > 0) world_.disk(id).set_faults(disk_baseline_[id]);
    holds = 0;
  }
  for (NodeId id : drifting_) world_.SetClockDrift(id, 0);
  drifting_.clear();
}

}  // namespace apogee::sim
