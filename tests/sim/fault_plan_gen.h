#pragma once

// RapidCheck generators of fault plans: every fault a plan can hold, against a scenario's
// targets, within its safety phase. Shrinking removes faults, moves them earlier and shortens
// them, so a failing property reports a short plan.

#include <rapidcheck.h>

#include <algorithm>
#include <ostream>
#include <vector>

#include "sim/fault_plan.h"

namespace apogee::sim {

// How RapidCheck prints a plan in a counterexample: its JSON, as repro files hold it.
inline void showValue(const FaultPlan& plan, std::ostream& os) { os << EncodeFaultPlan(plan); }

// The kinds of `kinds` a plan against `t` can hold (disk faults need a stateful node, two-node
// faults two nodes).
inline std::vector<FaultType> UsableKinds(const FaultTargets& t, std::vector<FaultType> kinds) {
  std::vector<std::string> all = t.nodes;
  all.insert(all.end(), t.peers.begin(), t.peers.end());
  std::erase_if(kinds, [&](FaultType k) {
    if (IsDiskFault(k)) return t.stateful.empty();
    if (IsTwoNodeFault(k)) return t.nodes.empty() || all.size() < 2;
    return all.empty();
  });
  return kinds;
}

inline rc::Gen<Fault> GenFault(FaultTargets t, Duration length, std::vector<FaultType> kinds) {
  return rc::gen::exec([t, length, kinds] {
    using std::chrono::milliseconds;
    const int64_t len = std::chrono::duration_cast<milliseconds>(length).count();
    std::vector<std::string> all = t.nodes;
    all.insert(all.end(), t.peers.begin(), t.peers.end());
    Fault f;
    f.type = *rc::gen::elementOf(kinds);
    const int64_t at = *rc::gen::inRange<int64_t>(0, len);
    f.at = milliseconds(at);
    if (IsDiskFault(f.type)) {
      f.a = *rc::gen::elementOf(t.stateful);
    } else if (IsTwoNodeFault(f.type)) {
      f.a = *rc::gen::elementOf(t.nodes);
      std::vector<std::string> others = t.peers.empty() ? t.nodes : t.peers;
      std::erase(others, f.a);
      if (others.empty()) {
        others = all;
        std::erase(others, f.a);
      }
      f.b = *rc::gen::elementOf(others);
    } else {
      f.a = *rc::gen::elementOf(all);
    }
    if (!IsInstantaneousFault(f.type)) {
      const int64_t left = len - at;
      f.duration = milliseconds(
          left <= 100 ? left : *rc::gen::inRange<int64_t>(100, std::min<int64_t>(5000, left) + 1));
    }
    switch (f.type) {
      case FaultType::kCrash:
        f.crash = *rc::gen::element(CrashStyle::kDrop, CrashStyle::kKeep, CrashStyle::kTear);
        break;
      case FaultType::kDiskErrors:
      case FaultType::kFailedSyncs:
        f.probability = static_cast<double>(*rc::gen::inRange(5, 51)) / 100;
        break;
      case FaultType::kDiskFull:
        f.amount = *rc::gen::inRange<int64_t>(0, 1 << 20);
        break;
      case FaultType::kClockJump:
        f.amount = *rc::gen::inRange<int64_t>(-120'000, 120'001);
        break;
      case FaultType::kClockDrift:
        f.amount = *rc::gen::inRange<int64_t>(-100'000, 100'001);
        break;
      default:
        break;
    }
    return f;
  });
}

// Plans of at most `max_faults` faults of `kinds` against `t`, ordered by start time.
// REQUIRES: UsableKinds(t, kinds) is not empty.
inline rc::Gen<FaultPlan> GenFaultPlan(const FaultTargets& t, Duration length,
                                       std::vector<FaultType> kinds, int max_faults) {
  return rc::gen::map(
      rc::gen::resize(max_faults, rc::gen::container<std::vector<Fault>>(
                                      GenFault(t, length, UsableKinds(t, std::move(kinds))))),
      [](std::vector<Fault> faults) {
        std::stable_sort(faults.begin(), faults.end(),
                         [](const Fault& x, const Fault& y) { return x.at < y.at; });
        return FaultPlan{std::move(faults)};
      });
}

}  // namespace apogee::sim
