#pragma once

// FaultInjector: carries out a FaultPlan against a World, on a controller fiber (never crashed
// or paused itself), and undoes each fault when its duration ends: a partition, isolation or
// one-way block is healed, a crashed node restarted, a paused one resumed, a disk's faults
// restored to what they were, a drift stopped. Clogs expire on their own. Every fault and undo
// is folded into the trace (World and FaultKind), and logged at info level with Describe().
//
// Overlapping faults combine as the layers below make them: healing one partition of a pair
// heals the pair; a crash of a node that is already down, a pause of one that is not up, or a
// disk fault on a node whose disk another fault holds is skipped and counted as such.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/fault_plan.h"
#include "sim/world.h"

namespace apogee::sim {

class FaultInjector {
 public:
  // REQUIRES: every node the plan names is a node of `world`; both outlive the injector's fiber
  // (HealAll() ends it).
  FaultInjector(World& world, FaultPlan plan);

  // Starts carrying out the plan; its times count from now.
  void Start();
  // Ends the plan: stops the fiber and undoes every fault still in force. Call at the end of
  // the safety phase. Idempotent.
  void HealAll();

  const FaultPlan& plan() const { return plan_; }
  // Faults applied by type name, and those skipped (the node was in no state to take them).
  const std::map<std::string, uint64_t>& applied() const { return applied_; }
  uint64_t skipped() const { return skipped_; }

 private:
  struct Step {
    Duration at;
    size_t fault;
    bool undo;
  };
  void Apply(const Fault& f);
  void Undo(const Fault& f);
  NodeId Node(const std::string& name) const;

  World& world_;
  FaultPlan plan_;
  std::map<std::string, NodeId> nodes_;
  std::map<NodeId, DiskFaults> disk_baseline_;
  std::map<NodeId, int> disk_holds_;  // disk faults in force per node
  std::vector<NodeId> crashed_;       // crashed by the plan and not yet restarted
  std::vector<NodeId> paused_;
  std::vector<NodeId> drifting_;
  std::map<std::string, uint64_t> applied_;
  uint64_t skipped_ = 0;
  io::FiberHandle fiber_;
  bool healed_ = false;
};

}  // namespace apogee::sim
