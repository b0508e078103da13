#pragma once

// The simulator's Buggify (after FoundationDB's flow/Buggify.h). A point, named by its call site,
// is decided the first time a run reaches it: armed with probability `arm_probability`, else
// never. An armed point fires with probability `fire_probability` each time it is reached. All
// draws come from the run's "buggify" stream, so a seed replays the same faults. Coverage (which
// points were reached, armed, fired) goes into the run's report: a point that never fires in a
// sweep was never tested.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/io/buggify.h"
#include "sim/kernel.h"

namespace apogee::sim {

struct BuggifyPointStats {
  std::string point;  // "file:line"
  bool armed = false;
  uint64_t reached = 0;
  uint64_t fired = 0;
};

class SimBuggify final : public io::Buggify {
 public:
  explicit SimBuggify(Kernel& kernel);

  bool Fire(const char* file, unsigned line) override;

  void set_enabled(bool on) { enabled_ = on; }
  bool enabled() const { return enabled_; }
  void set_probabilities(double arm, double fire) {
    arm_probability_ = arm;
    fire_probability_ = fire;
  }
  // Every point reached so far, in name order.
  std::vector<BuggifyPointStats> Coverage() const;

 private:
  Kernel* kernel_;
  std::unique_ptr<TracedRandom> rng_;
  bool enabled_ = true;
  double arm_probability_ = 0.25;
  double fire_probability_ = 0.05;
  std::map<std::string, BuggifyPointStats> points_;
};

}  // namespace apogee::sim
