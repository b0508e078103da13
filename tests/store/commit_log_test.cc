// The commit log alone: appends, roll-over, reads, group commit, recovery and its cuts.

#include "core/store/commit_log.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/base/bytes.h"
#include "tests/store/sim_store_rig.h"
#include "tests/store/store_backend.h"

namespace apogee::store {
namespace {

using namespace std::chrono_literals;

StoreConfig SmallConfig(FlushType type) {
  StoreConfig c;
  c.segment_bytes = 8192;
  c.message_bytes_max = 4096;
  c.write_buffer_bytes_max = 1u << 20;
  c.flush_type = type;
  c.async_flush_interval = 50ms;
  return c;
}

struct Msg {
  std::string topic = "T";
  std::string body;
  std::string props;
  MessageToStore view() const {
    MessageToStore m;
    m.topic = topic;
    m.body = std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size());
    m.properties = props;
    return m;
  }
};

Msg Numbered(int i, size_t body_bytes = 700) {
  Msg m;
  m.body = std::to_string(i) + ":" + std::string(body_bytes, static_cast<char>('a' + i % 26));
  return m;
}

std::string BodyOf(const std::vector<uint8_t>& record) {
  DecodedRecord d = DecodeRecord(record, static_cast<int64_t>(GetU64(&record[kOffPhysicalOffset])),
                                 4u << 20, true);
  EXPECT_EQ(d.kind, RecordKind::kMessage) << d.error;
  return std::string(d.view.body.begin(), d.view.body.end());
}

std::shared_ptr<CommitLog> OpenLog(io::Env& env, const StoreConfig& config,
                                   std::vector<std::string>* recovered = nullptr,
                                   LogRecoveryReport* report = nullptr) {
  auto log = std::make_shared<CommitLog>(env, config);
  auto r = log->Recover(0, [&](const RecordView& v) {
    if (recovered) recovered->emplace_back(v.body.begin(), v.body.end());
  });
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (report && r.ok()) *report = *r;
  return log;
}

class CommitLogTest : public testing::StoreBackendTest {};

TEST_P(CommitLogTest, AppendsRollOverAndReadBack) {
  // Proves records roll to a new 20-digit-named segment behind a blank record, and every one
  // reads back intact from the buffer and, after a flush, from the files.
  RunOnBackend([](io::Env& env) {
    StoreConfig config = SmallConfig(FlushType::kAsync);
    auto log = OpenLog(env, config);
    std::vector<int64_t> offsets;
    for (int i = 0; i < 30; i++) {
      uint32_t size = 0;
      offsets.push_back(log->Append(Numbered(i).view(), i, 1000 + i, &size).physical_offset);
      // No record crosses a segment end.
      EXPECT_EQ(offsets.back() / 8192, (offsets.back() + size - 1) / 8192);
    }
    for (int i = 0; i < 30; i++) {
      auto rec = log->ReadRecord(offsets[i]);
      ASSERT_TRUE(rec.ok()) << rec.status().ToString();
      EXPECT_EQ(BodyOf(*rec), Numbered(i).body);
    }
    ASSERT_TRUE(log->Flush({}).ok());
    auto names = env.disk.List("commitlog");
    ASSERT_TRUE(names.ok());
    ASSERT_GE(names->size(), 3u);
    EXPECT_EQ((*names)[0], "00000000000000000000");
    EXPECT_EQ((*names)[1], "00000000000000008192");
    for (int i = 0; i < 30; i++) {
      auto rec = log->ReadRecord(offsets[i]);
      ASSERT_TRUE(rec.ok());
      EXPECT_EQ(BodyOf(*rec), Numbered(i).body);
    }
    EXPECT_TRUE(log->Shutdown().ok());
  });
}

TEST_P(CommitLogTest, ReopenFindsEveryRecordInOrder) {
  // Proves recovery after a clean stop visits every record in log order and ends where the
  // writer ended, without cutting anything.
  RunOnBackend([](io::Env& env) {
    StoreConfig config = SmallConfig(FlushType::kSync);
    int64_t end = 0;
    {
      auto log = OpenLog(env, config);
      for (int i = 0; i < 25; i++) {
        uint32_t size = 0;
        log->Append(Numbered(i).view(), i, 0, &size);
      }
      end = log->write_offset();
      EXPECT_TRUE(log->Shutdown().ok());
    }
    std::vector<std::string> bodies;
    LogRecoveryReport report;
    auto log = OpenLog(env, config, &bodies, &report);
    ASSERT_EQ(bodies.size(), 25u);
    for (int i = 0; i < 25; i++) EXPECT_EQ(bodies[i], Numbered(i).body);
    EXPECT_EQ(report.end_offset, end);
    EXPECT_EQ(report.bytes_cut, 0u);
    EXPECT_TRUE(report.cut_reason.empty());
    EXPECT_TRUE(log->Shutdown().ok());
  });
}

TEST_P(CommitLogTest, GarbageTailIsCutAndStaysCut) {
  // Proves a damaged tail is cut physically at the last valid record, so appends continue
  // from there and a second recovery finds exactly the new records.
  RunOnBackend([](io::Env& env) {
    StoreConfig config = SmallConfig(FlushType::kSync);
    int64_t end = 0;
    {
      auto log = OpenLog(env, config);
      uint32_t size = 0;
      for (int i = 0; i < 3; i++) log->Append(Numbered(i, 100).view(), i, 0, &size);
      end = log->write_offset();
      EXPECT_TRUE(log->Shutdown().ok());
    }
    {
      auto file = env.disk.Open("commitlog/00000000000000000000", {});
      ASSERT_TRUE(file.ok());
      std::vector<uint8_t> junk(300, 0xEE);
      ASSERT_TRUE((*file)->WriteAt(static_cast<uint64_t>(end), junk).ok());
      ASSERT_TRUE((*file)->Sync().ok());
    }
    std::vector<std::string> bodies;
    LogRecoveryReport report;
    auto log = OpenLog(env, config, &bodies, &report);
    EXPECT_EQ(bodies.size(), 3u);
    EXPECT_EQ(report.end_offset, end);
    EXPECT_EQ(report.bytes_cut, 300u);
    EXPECT_NE(report.cut_reason, "");
    uint32_t size = 0;
    log->Append(Numbered(9, 100).view(), 3, 0, &size);
    EXPECT_TRUE(log->Shutdown().ok());
    bodies.clear();
    auto again = OpenLog(env, config, &bodies, &report);
    ASSERT_EQ(bodies.size(), 4u);
    EXPECT_EQ(bodies[3], Numbered(9, 100).body);
    EXPECT_EQ(report.bytes_cut, 0u);
    EXPECT_TRUE(again->Shutdown().ok());
  });
}

TEST_P(CommitLogTest, GroupCommitServesManyWaitersWithFewSyncs) {
  // Proves one sync serves every put waiting for it: 50 concurrent sync puts need far fewer
  // than 50 syncs, and each waiter returns only once its bytes are durable.
  RunOnBackend([](io::Env& env) {
    StoreConfig config = SmallConfig(FlushType::kSync);
    config.segment_bytes = 1u << 20;
    auto log = OpenLog(env, config);
    std::vector<io::FiberHandle> writers;
    int durable = 0;
    for (int i = 0; i < 50; i++) {
      writers.push_back(env.scheduler.Spawn("writer", [&, i] {
        uint32_t size = 0;
        RecordPlacement at = log->Append(Numbered(i, 50).view(), i, 0, &size);
        ASSERT_TRUE(log->WaitDurable(at.physical_offset + size, {}).ok());
        EXPECT_GE(log->flushed_offset(), at.physical_offset + size);
        durable++;
      }));
    }
    for (auto& w : writers) w.Join();
    EXPECT_EQ(durable, 50);
    EXPECT_LT(log->stats().syncs, 25u);
    EXPECT_TRUE(log->Shutdown().ok());
  });
}

TEST_P(CommitLogTest, EightByteBlankRecordRollsOverCleanly) {
  // Proves the tightest roll-over: records leave exactly 8 bytes, the blank record fills them,
  // and the next record (written in the same buffer chunk) lands at the next segment's start,
  // survives a flush and a reopen.
  RunOnBackend([](io::Env& env) {
    StoreConfig config = SmallConfig(FlushType::kSync);
    Msg big;
    big.body = std::string(3981, 'x');  // 91 + 3981 + 1 + 19 = 4092 bytes: two leave 8 of 8192
    {
      auto log = OpenLog(env, config);
      uint32_t size = 0;
      log->Append(big.view(), 0, 0, &size);
      ASSERT_EQ(size, 4092u);
      log->Append(big.view(), 1, 0, &size);
      RecordPlacement third = log->Append(Numbered(3, 10).view(), 2, 0, &size);
      EXPECT_EQ(third.physical_offset, 8192);
      ASSERT_TRUE(log->Flush({}).ok());
      EXPECT_TRUE(log->Shutdown().ok());
    }
    std::vector<std::string> bodies;
    auto log = OpenLog(env, config, &bodies);
    ASSERT_EQ(bodies.size(), 3u);
    EXPECT_EQ(bodies[2], Numbered(3, 10).body);
    EXPECT_TRUE(log->Shutdown().ok());
  });
}

INSTANTIATE_STORE_BACKENDS(CommitLogTest);

// --- Simulator only: crashes and disk faults. ---

TEST(CommitLogSimTest, FailedSyncIsRewrittenNotTrusted) {
  // Proves a failed sync neither acknowledges the put nor loses it: the waiter times out while
  // syncs fail, then the flusher rewrites the dropped bytes, and they survive a kDrop crash.
  testing::SimStoreRig rig;
  StoreConfig config = SmallConfig(FlushType::kSync);
  int64_t end = 0;
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    auto log = OpenLog(env, config);
    uint32_t size = 0;
    log->Append(Numbered(1).view(), 0, 0, &size);
    ASSERT_TRUE(log->Flush({}).ok());
    sim::DiskFaults faults;
    faults.sync_error_probability = 1;
    rig.disk().set_faults(faults);
    RecordPlacement at = log->Append(Numbered(2).view(), 1, 0, &size);
    end = at.physical_offset + size;
    Status s = log->WaitDurable(end, env.scheduler.After(200ms));
    EXPECT_EQ(s.code(), ErrorCode::kTimeout);
    EXPECT_LT(log->flushed_offset(), end);
    EXPECT_GT(log->stats().failed_syncs, 0u);
    rig.disk().set_faults({});
    EXPECT_TRUE(log->WaitDurable(end, env.scheduler.After(5s)).ok());
    EXPECT_TRUE(log->Shutdown().ok());
  }));
  rig.Crash(sim::CrashMode::kDrop);
  std::vector<std::string> bodies;
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    auto log = OpenLog(env, config, &bodies);
    EXPECT_EQ(log->write_offset(), end);
    EXPECT_TRUE(log->Shutdown().ok());
  }));
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(bodies[1], Numbered(2).body);
}

TEST(CommitLogSimTest, TornCrashKeepsAValidPrefixAndEverythingSynced) {
  // Proves that after a torn crash with unsynced appends in flight, recovery keeps every synced
  // record and a prefix of the rest, in order, for many seeds.
  for (uint64_t seed = 1; seed <= 20; seed++) {
    testing::SimStoreRig rig(seed);
    StoreConfig config = SmallConfig(FlushType::kAsync);
    config.async_flush_interval = 1h;  // nothing is synced unless asked
    int64_t synced_end = 0;
    int appended = 0;
    ASSERT_TRUE(rig.Run([&](io::Env& env) {
      auto log = OpenLog(env, config);
      uint32_t size = 0;
      for (int i = 0; i < 12; i++) log->Append(Numbered(i, 300).view(), i, 0, &size);
      ASSERT_TRUE(log->Flush({}).ok());
      synced_end = log->write_offset();
      for (int i = 12; i < 30; i++) log->Append(Numbered(i, 300).view(), i, 0, &size);
      appended = 30;
      // Let the flusher write (not sync) part of it: a flush that will never complete.
      env.scheduler.Spawn("flush", [log] { log->Flush({}).IgnoreError(); });
      env.scheduler.Sleep(1ms);
    }));
    rig.Crash(sim::CrashMode::kTear);
    std::vector<std::string> bodies;
    LogRecoveryReport report;
    ASSERT_TRUE(rig.Run([&](io::Env& env) {
      auto log = OpenLog(env, config, &bodies, &report);
      EXPECT_TRUE(log->Shutdown().ok());
    }));
    EXPECT_GE(report.end_offset, synced_end) << "seed " << seed;
    ASSERT_GE(bodies.size(), 12u) << "seed " << seed;
    ASSERT_LE(static_cast<int>(bodies.size()), appended);
    for (size_t i = 0; i < bodies.size(); i++) {
      EXPECT_EQ(bodies[i], Numbered(static_cast<int>(i), 300).body) << "seed " << seed;
    }
  }
}

TEST(CommitLogSimTest, DiskFullRefusesWritesUntilSpaceFrees) {
  // Proves a write that hits ENOSPC sets disk_full and keeps the bytes buffered; once space
  // frees the flusher writes them and the flag clears.
  sim::DiskFaults faults;
  faults.capacity_bytes = 20'000;
  testing::SimStoreRig rig(5, faults);
  StoreConfig config = SmallConfig(FlushType::kSync);
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    auto log = OpenLog(env, config);
    uint32_t size = 0;
    int64_t end = 0;
    for (int i = 0; i < 40; i++) {
      RecordPlacement at = log->Append(Numbered(i).view(), i, 0, &size);
      end = at.physical_offset + size;
    }
    EXPECT_EQ(log->WaitDurable(end, env.scheduler.After(1s)).code(), ErrorCode::kTimeout);
    EXPECT_TRUE(log->disk_full());
    sim::DiskFaults more = faults;
    more.capacity_bytes = 1u << 20;
    rig.disk().set_faults(more);
    EXPECT_TRUE(log->WaitDurable(end, env.scheduler.After(5s)).ok());
    EXPECT_FALSE(log->disk_full());
    EXPECT_TRUE(log->Shutdown().ok());
  }));
}

}  // namespace
}  // namespace apogee::store
