#pragma once

// Random: a node's stream of random numbers. In the simulator every node's stream is split from
// the run's root seed and every draw is folded into the trace hash; in production it is seeded
// from the operating system. Core code takes all randomness from here, never from the C
// library's generator or the operating system's entropy source.

#include <cstdint>
#include <span>
#include <utility>

#include "core/base/assert.h"

namespace apogee::io {

class Random {
 public:
  virtual ~Random() = default;
  // A uniformly distributed 64-bit value.
  virtual uint64_t Next() = 0;

  // Uniform in [0, n). REQUIRES: n > 0. Unbiased (rejection sampling).
  uint64_t Uniform(uint64_t n) {
    APOGEE_ASSERT(n > 0);
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
      x = Next();
    } while (x >= limit);
    return x % n;
  }
  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  int64_t Range(int64_t lo, int64_t hi) {
    APOGEE_ASSERT(lo <= hi);
    // Unsigned arithmetic: hi - lo may not fit an int64_t.
    uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
    if (span == UINT64_MAX) return static_cast<int64_t>(Next());
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + Uniform(span + 1));
  }
  // Uniform in [0, 1).
  double Real() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }
  // True with probability p.
  bool Chance(double p) { return p > 0 && Real() < p; }
  template <typename T>
  void Shuffle(std::span<T> items) {
    for (size_t i = items.size(); i > 1; i--) std::swap(items[i - 1], items[Uniform(i)]);
  }
};

// xoshiro256** seeded through splitmix64: fast, small state, good statistical quality, and fully
// determined by its seed. Used by both backends.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) { Reseed(seed); }
  void Reseed(uint64_t seed) {
    for (uint64_t& word : s_) word = SplitMix(seed);
  }
  uint64_t Next() override {
    uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // splitmix64: advances `state` and returns the next output. Also used to derive independent
  // seeds from one root seed.
  static uint64_t SplitMix(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace apogee::io
