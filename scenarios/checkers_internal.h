#pragma once

// Helpers shared by the checkers' files (scenarios/checkers*.cc); not an interface.

#include <fmt/format.h>

#include <string>

#include "scenarios/checkers.h"

namespace apogee::scenarios::internal {

// Adds violations of one checker, keeping the first kViolationsShown and a total.
class Reporter {
 public:
  Reporter(const char* checker, CheckResult* result) : checker_(checker), result_(result) {}
  ~Reporter() {
    if (count_ > kViolationsShown) {
      result_->violations.push_back(
          fmt::format("{}: {} violations in all ({} shown)", checker_, count_, kViolationsShown));
    }
  }
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;
  void Add(std::string what) {
    if (count_++ < kViolationsShown) {
      result_->violations.push_back(fmt::format("{}: {}", checker_, what));
    }
  }
  size_t count() const { return count_; }

 private:
  const char* checker_;
  CheckResult* result_;
  size_t count_ = 0;
};

inline std::string Where(const sim::MessageQueue& q, int64_t offset) {
  return fmt::format("{}/{}#{}@{}", q.topic, q.broker_name, q.queue_id, offset);
}

inline int64_t Millis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace apogee::scenarios::internal
