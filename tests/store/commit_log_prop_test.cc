// Round trips through the commit log across segment roll-overs: records of random sizes, the
// largest the store accepts among them, appended, flushed now and then, read back, and found
// again in the same places by recovery.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/store/commit_log.h"
#include "tests/store/store_backend.h"

namespace apogee::store {
namespace {

constexpr uint32_t kMessageBytesMax = 2048;

RC_GTEST_PROP(CommitLogProp, RecordsRoundTripAcrossRollOvers, ()) {
  StoreConfig config;
  config.segment_bytes = *rc::gen::element<uint64_t>(kMessageBytesMax + 8, 4096, 5000);
  config.message_bytes_max = kMessageBytesMax;
  config.write_buffer_bytes_max = 64u << 10;
  config.flush_type = FlushType::kSync;
  // The largest body: a record of exactly message_bytes_max (topic "T", no properties).
  const size_t largest = kMessageBytesMax - kRecordFixedBytes - 1 - RecordCrcPropertyBytes(0);
  auto sizes = *rc::gen::container<std::vector<size_t>>(rc::gen::weightedOneOf<size_t>(
      {{3, rc::gen::inRange<size_t>(0, largest + 1)}, {1, rc::gen::just(largest)}}));
  auto flush_after =
      *rc::gen::container<std::vector<bool>>(sizes.size(), rc::gen::arbitrary<bool>());

  std::vector<std::string> bodies;
  for (size_t i = 0; i < sizes.size(); i++) {
    bodies.push_back(std::string(sizes[i], static_cast<char>('a' + i % 26)));
  }
  std::vector<int64_t> placed;
  std::vector<std::string> failures;
  auto fail = [&](std::string what) { failures.push_back(std::move(what)); };
  testing::RunOnSim([&](io::Env& env) {
    {
      auto log = std::make_shared<CommitLog>(env, config);
      if (!log->Recover(0, [](const RecordView&) {}).ok()) return fail("open failed");
      for (size_t i = 0; i < bodies.size(); i++) {
        MessageToStore m;
        m.topic = "T";
        m.body = std::span(reinterpret_cast<const uint8_t*>(bodies[i].data()), bodies[i].size());
        uint32_t size = 0;
        RecordPlacement at = log->Append(m, static_cast<int64_t>(i), 0, &size);
        placed.push_back(at.physical_offset);
        int64_t seg = static_cast<int64_t>(config.segment_bytes);
        if (at.physical_offset / seg != (at.physical_offset + size - 1) / seg) {
          fail("a record crosses a segment end");
        }
        if (flush_after[i] && !log->Flush({}).ok()) fail("flush failed");
      }
      for (size_t i = 0; i < bodies.size(); i++) {
        auto rec = log->ReadRecord(placed[i]);
        if (!rec.ok()) {
          fail("read failed: " + rec.status().ToString());
          continue;
        }
        DecodedRecord d = DecodeRecord(*rec, placed[i], kMessageBytesMax, true);
        if (std::string(d.view.body.begin(), d.view.body.end()) != bodies[i]) fail("body differs");
      }
      if (!log->Shutdown().ok()) fail("shutdown failed");
    }
    auto again = std::make_shared<CommitLog>(env, config);
    std::vector<int64_t> found;
    std::vector<std::string> found_bodies;
    auto report = again->Recover(0, [&](const RecordView& v) {
      found.push_back(v.physical_offset);
      found_bodies.emplace_back(v.body.begin(), v.body.end());
    });
    if (!report.ok()) return fail("recovery failed");
    if (found != placed) fail("recovery found records in other places");
    if (found_bodies != bodies) fail("recovery found other bodies");
    if (report->bytes_cut != 0) fail("recovery cut a clean log");
    again->Shutdown().IgnoreError();
  });
  for (const std::string& f : failures) RC_LOG() << f << "\n";
  RC_ASSERT(failures.empty());
}

}  // namespace
}  // namespace apogee::store
