#include "core/load/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace apogee::load {

int LatencyHistogram::BucketOf(int64_t nanos) {
  uint64_t v = nanos < 0 ? 0 : static_cast<uint64_t>(nanos);
  if (v < (uint64_t{1} << kSubBits)) return static_cast<int>(v);
  int top = 63 - std::countl_zero(v);  // v in [2^top, 2^(top+1)), top >= kSubBits
  int shift = top - kSubBits;
  uint64_t sub = (v >> shift) - (uint64_t{1} << kSubBits);  // 0 .. 2^kSubBits - 1
  return ((shift + 1) << kSubBits) + static_cast<int>(sub);
}

int64_t LatencyHistogram::BucketUpperBound(int bucket) {
  if (bucket < (1 << kSubBits)) return bucket;
  int shift = (bucket >> kSubBits) - 1;
  uint64_t sub = static_cast<uint64_t>(bucket & ((1 << kSubBits) - 1));
  uint64_t low = ((uint64_t{1} << kSubBits) + sub) << shift;
  uint64_t high = low + (uint64_t{1} << shift) - 1;
  return high > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(high);
}

void LatencyHistogram::Record(int64_t nanos) {
  if (nanos < 0) nanos = 0;
  counts_[BucketOf(nanos)]++;
  if (count_ == 0 || nanos < min_) min_ = nanos;
  max_ = std::max(max_, nanos);
  count_++;
  sum_ += nanos;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

int64_t LatencyHistogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // The rank of the value wanted, 1-based: the smallest r with r >= p% of count.
  uint64_t rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(BucketUpperBound(i), min_, max_);
  }
  return max_;
}

}  // namespace apogee::load
