#include "sim/shrink.h"

#include <algorithm>

namespace apogee::sim {

std::string FailureSignature(const std::string& outcome,
                             const std::vector<std::string>& violations) {
  if (outcome == "crash" || outcome == "nondeterminism" || violations.empty()) return outcome;
  const std::string& first = violations.front();
  size_t colon = first.find(':');
  return outcome + "/" + (colon == std::string::npos ? first : first.substr(0, colon));
}

namespace {

class Shrinker {
 public:
  Shrinker(const std::function<bool(const FaultPlan&)>& still_fails, int max_runs,
           ShrinkStats* stats)
      : still_fails_(still_fails), max_runs_(max_runs), stats_(stats) {}

  // True when the candidate still fails; false when it passes or the budget is spent.
  bool Try(const FaultPlan& candidate) {
    if (stats_->runs >= max_runs_) {
      stats_->exhausted = true;
      return false;
    }
    stats_->runs++;
    if (!still_fails_(candidate)) return false;
    stats_->accepted++;
    return true;
  }
  // Asked only when there is more to try: true (and noted) when the budget allows no more.
  bool spent() {
    if (stats_->runs < max_runs_) return false;
    stats_->exhausted = true;
    return true;
  }

 private:
  const std::function<bool(const FaultPlan&)>& still_fails_;
  int max_runs_;
  ShrinkStats* stats_;
};

// Delta debugging: drops chunks of `chunk` faults while the run still fails, halving the chunk
// when a whole pass drops nothing.
void DropFaults(FaultPlan& plan, Shrinker& s) {
  size_t chunk = std::max<size_t>(1, plan.faults.size() / 2);
  while (!plan.faults.empty() && !s.spent()) {
    bool dropped = false;
    for (size_t start = 0; start < plan.faults.size() && !s.spent();) {
      FaultPlan candidate;
      for (size_t i = 0; i < plan.faults.size(); i++) {
        if (i < start || i >= start + chunk) candidate.faults.push_back(plan.faults[i]);
      }
      if (s.Try(candidate)) {
        plan = std::move(candidate);
        dropped = true;  // the next chunk has moved into `start`
      } else {
        start += chunk;
      }
    }
    if (chunk == 1 && !dropped) break;
    if (!dropped) chunk = std::max<size_t>(1, chunk / 2);
  }
}

// Halves what can be halved in each fault (its duration, a clock jump or drift) while the run
// still fails.
void Simplify(FaultPlan& plan, Shrinker& s) {
  constexpr Duration kShortest = std::chrono::milliseconds(100);
  for (size_t i = 0; i < plan.faults.size() && !s.spent(); i++) {
    for (int round = 0; round < 4 && !s.spent(); round++) {
      FaultPlan candidate = plan;
      Fault& f = candidate.faults[i];
      bool changed = false;
      if (f.duration > kShortest) {
        f.duration = std::max(kShortest, f.duration / 2);
        changed = true;
      }
      if ((f.type == FaultType::kClockJump || f.type == FaultType::kClockDrift) &&
          (f.amount > 1 || f.amount < -1)) {
        f.amount /= 2;
        changed = true;
      }
      if (!changed || !s.Try(candidate)) break;
      plan = std::move(candidate);
    }
  }
}

}  // namespace

FaultPlan ShrinkFaultPlan(const FaultPlan& plan,
                          const std::function<bool(const FaultPlan&)>& still_fails, int max_runs,
                          ShrinkStats* stats) {
  *stats = ShrinkStats();
  Shrinker s(still_fails, max_runs, stats);
  FaultPlan best = plan;
  DropFaults(best, s);
  Simplify(best, s);
  return best;
}

}  // namespace apogee::sim
