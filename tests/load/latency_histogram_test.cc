#include "core/load/latency_histogram.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <vector>

namespace apogee::load {
namespace {

TEST(LatencyHistogramTest, EmptyAnswersZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(50), 0);
  EXPECT_EQ(h.Percentile(99), 0);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int v = 1; v <= 50; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(50), 25);
  EXPECT_EQ(h.Percentile(100), 50);
  EXPECT_EQ(h.Percentile(0), 1);
  EXPECT_EQ(h.min(), 1);
  EXPECT_DOUBLE_EQ(h.mean(), 25.5);
}

TEST(LatencyHistogramTest, OneSlowOutlierIsTheP99OfAHundred) {
  LatencyHistogram h;
  for (int i = 0; i < 98; ++i) h.Record(1'000'000);  // 1 ms
  h.Record(2'000'000);
  h.Record(50'000'000);  // 50 ms
  EXPECT_LE(h.Percentile(50), 1'000'000 + 1'000'000 / 64);
  EXPECT_GE(h.Percentile(50), 1'000'000);
  EXPECT_GE(h.Percentile(99), 2'000'000);
  EXPECT_LE(h.Percentile(99), 2'000'000 + 2'000'000 / 64);
  EXPECT_EQ(h.Percentile(100), 50'000'000);
}

TEST(LatencyHistogramTest, BucketsTileTheRange) {
  for (int b = 1; b < 3000; ++b) {
    ASSERT_EQ(LatencyHistogram::BucketOf(LatencyHistogram::BucketUpperBound(b - 1) + 1), b) << b;
    ASSERT_EQ(LatencyHistogram::BucketOf(LatencyHistogram::BucketUpperBound(b)), b) << b;
  }
}

// Against the exact answer from sorting: every percentile lies at or above the true value and
// within 1/64 of it.
RC_GTEST_PROP(LatencyHistogramProp, PercentilesWithinOneSixtyFourth, ()) {
  std::vector<int64_t> values = *rc::gen::nonEmpty(
      rc::gen::container<std::vector<int64_t>>(rc::gen::inRange<int64_t>(0, int64_t{1} << 40)));
  double p = *rc::gen::inRange(0, 1001) / 10.0;
  LatencyHistogram h;
  LatencyHistogram half_a, half_b;
  for (size_t i = 0; i < values.size(); ++i) {
    h.Record(values[i]);
    (i % 2 == 0 ? half_a : half_b).Record(values[i]);
  }
  half_a.Merge(half_b);
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * values.size()));
  rank = std::clamp<size_t>(rank, 1, values.size());
  int64_t exact = values[rank - 1];
  int64_t got = h.Percentile(p);
  RC_ASSERT(got >= exact);
  RC_ASSERT(got <= exact + exact / 64 + 1);
  RC_ASSERT(half_a.Percentile(p) == got);
  RC_ASSERT(h.max() == values.back());
}

}  // namespace
}  // namespace apogee::load
