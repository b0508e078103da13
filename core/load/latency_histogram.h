#pragma once

// LatencyHistogram: latencies recorded in log-linear buckets (as HdrHistogram does), so that a
// load run of any length keeps a few kilobytes and still answers percentiles within 1/64
// (about 1.6 %) of the true value.
//
// Values are nanoseconds. Bucket layout: values below 2^kSubBits are exact; above, each power of
// two [2^k, 2^(k+1)) is split into 2^kSubBits equal sub-buckets. A percentile is answered with
// the upper bound of the bucket that holds it, clamped to the largest value recorded.

#include <array>
#include <cstdint>

namespace apogee::load {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 6;

  void Record(int64_t nanos);
  // Adds every count of `other`.
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }
  // The value at or below which `p` percent (0..100) of the recorded values lie; 0 when empty.
  int64_t Percentile(double p) const;

  // The bucket of `nanos` and the largest value that bucket holds (exposed for tests).
  static int BucketOf(int64_t nanos);
  static int64_t BucketUpperBound(int bucket);

 private:
  static constexpr int kBuckets = (64 - kSubBits + 1) << kSubBits;
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  __int128 sum_ = 0;
};

}  // namespace apogee::load
