#pragma once

// The trace of a simulated run: every scheduling decision, fired event and random draw is folded
// into one 64-bit hash. Two runs of the same seed and build must end with the same hash; when
// they do not, the recorded entries (kept only when asked, since they cost memory) name the
// first step where they went apart.

#include <cstdint>
#include <string>
#include <vector>

namespace apogee::sim {

enum class TraceKind : uint8_t {
  kResume = 1,  // a = fiber id, b = group id
  kEvent = 2,   // a = event sequence number
  kPick = 3,    // a = number of ready fibers, b = index picked
  kDraw = 4,    // a = random stream id, b = value drawn
  kFault = 5,   // a = fault kind, b = detail
  kNote = 6,    // a, b chosen by the caller (scenarios mark their own steps)
};

const char* TraceKindName(TraceKind kind);

struct TraceEntry {
  uint64_t index = 0;   // 0-based position in the trace
  int64_t time_ns = 0;  // virtual time of the step
  TraceKind kind = TraceKind::kNote;
  uint64_t a = 0;
  uint64_t b = 0;
  uint64_t hash = 0;  // the trace hash after folding this step
};

class Trace {
 public:
  void Fold(TraceKind kind, uint64_t a, uint64_t b, int64_t time_ns) {
    hash_ = Mix(hash_ ^ (static_cast<uint64_t>(kind) * 0x9e3779b97f4a7c15ULL));
    hash_ = Mix(hash_ ^ a);
    hash_ = Mix(hash_ ^ b);
    if (record_) {
      entries_.push_back(TraceEntry{count_, time_ns, kind, a, b, hash_});
    }
    count_++;
  }
  uint64_t hash() const { return hash_; }
  uint64_t count() const { return count_; }
  // Keeps every entry from now on (for the determinism checker).
  void set_record(bool on) { record_ = on; }
  const std::vector<TraceEntry>& entries() const { return entries_; }

 private:
  static uint64_t Mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
  }
  uint64_t hash_ = 0x6a09e667f3bcc909ULL;
  uint64_t count_ = 0;
  bool record_ = false;
  std::vector<TraceEntry> entries_;
};

// "#1234 t=0.005000000s resume fiber=17 of n2". `group_names` (indexed by group id, may be
// empty) turns group ids into node names.
std::string DescribeEntry(const TraceEntry& entry,
                          const std::vector<std::string>& group_names = {});

}  // namespace apogee::sim
