// The MessageStore on one simulated machine: unclean stops, failing syncs, backpressure, a full
// disk, retention by age and by disk use, silent bit flips, and a Get that races retention.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/store/message_store.h"
#include "tests/store/message_store_test_util.h"
#include "tests/store/sim_store_rig.h"

namespace apogee::store {
namespace {

using namespace std::chrono_literals;
using testing::DecodeMessage;
using testing::MustOpen;
using testing::MustPut;
using testing::Numbered;
using testing::SmallStoreConfig;

constexpr int64_t kSegment = 4096;  // SmallStoreConfig's segment_bytes

std::string SegmentPath(int64_t physical_offset) {
  return fmt::format("commitlog/{:020}", physical_offset / kSegment * kSegment);
}

// Flips a bit of the durable image of the record at `physical_offset`, `into` bytes in.
void FlipIn(testing::SimStoreRig& rig, int64_t physical_offset, uint64_t into) {
  uint64_t at = static_cast<uint64_t>(physical_offset % kSegment) + into;
  ASSERT_TRUE(rig.disk().FlipBit(SegmentPath(physical_offset), at, 3).ok());
}

TEST(MessageStoreSimTest, UncleanStopIsReportedAndFlushedRecordsSurvive) {
  // Proves a crash gives clean_shutdown false on reopen, keeps what Flush made durable, drops
  // what it did not, and that a queue created but left without entries answers
  // NO_MESSAGE_IN_QUEUE with next 0; a clean stop afterwards is recognised again.
  testing::SimStoreRig rig;
  StoreConfig config = SmallStoreConfig();
  config.async_flush_interval = 1h;  // nothing is durable unless a test flushes
  config.cq_flush_interval = 1h;
  std::shared_ptr<MessageStore> store;
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    store = MustOpen(env, config);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 5; i++) MustPut(*store, Numbered(i));
    ASSERT_TRUE(store->Flush().ok());
    for (int i = 5; i < 8; i++) MustPut(*store, Numbered(i));
    MustPut(*store, Numbered(0, 10, /*queue_id=*/1));
    EXPECT_EQ(store->MaxOffset("T", 1), 1);
  }));
  store.reset();
  rig.Crash(sim::CrashMode::kDrop);
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    auto s = MustOpen(env, config);
    ASSERT_NE(s, nullptr);
    EXPECT_FALSE(s->recovery().clean_shutdown) << s->recovery().Describe();
    EXPECT_TRUE(s->recovery().checkpoint_found);
    EXPECT_EQ(s->MaxOffset("T", 0), 5);
    GetResult g = s->Get("T", 0, 0, 32, 1u << 20);
    ASSERT_EQ(g.messages.size(), 5u);
    for (int i = 0; i < 5; i++) EXPECT_EQ(DecodeMessage(g, i).body, Numbered(i).body);
    GetResult empty = s->Get("T", 1, 0, 32, 1u << 20);
    EXPECT_EQ(empty.status, GetStatus::kNoMessageInQueue);
    EXPECT_EQ(empty.next_begin_offset, 0);
    EXPECT_EQ(empty.max_offset, 0);
    EXPECT_EQ(s->Get("T", 1, 4, 32, 1u << 20).next_begin_offset, 0);
    EXPECT_EQ(MustPut(*s, Numbered(5)).queue_offset, 5);
    EXPECT_TRUE(s->Shutdown().ok());
  }));
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    auto s = MustOpen(env, config);
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(s->recovery().clean_shutdown);
    EXPECT_EQ(s->MaxOffset("T", 0), 6);
    EXPECT_TRUE(s->Shutdown().ok());
  }));
}

TEST(MessageStoreSimTest, SyncFlushTimeoutHidesTheRecordUntilItIsDurable) {
  // Proves under SYNC_FLUSH with failing syncs a waiting put answers FLUSH_DISK_TIMEOUT after
  // sync_flush_timeout and neither it nor a WAIT=false put is visible; once syncs work again
  // both become durable and visible, and survive a crash.
  testing::SimStoreRig rig;
  StoreConfig config = SmallStoreConfig(FlushType::kSync);
  std::shared_ptr<MessageStore> store;
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    store = MustOpen(env, config);
    ASSERT_NE(store, nullptr);
    MustPut(*store, Numbered(0));
    sim::DiskFaults failing;
    failing.sync_error_probability = 1;
    rig.disk().set_faults(failing);
    Instant before = env.clock.Now();
    PutResult timed_out = store->Put(Numbered(1).view());
    EXPECT_EQ(timed_out.status, PutStatus::kFlushDiskTimeout) << timed_out.error;
    EXPECT_GE(env.clock.Now() - before, config.sync_flush_timeout);
    EXPECT_EQ(timed_out.queue_offset, 1);
    testing::Msg no_wait = Numbered(2, 200, 0, {{"WAIT", "false"}});
    EXPECT_EQ(store->Put(no_wait.view()).status, PutStatus::kOk);
    EXPECT_EQ(store->MaxOffset("T", 0), 1);
    GetResult hidden = store->Get("T", 0, 1, 32, 1u << 20);
    EXPECT_EQ(hidden.status, GetStatus::kOffsetOverflowOne);
    EXPECT_TRUE(store->QueryByKey("T", "u0-1", 4, 0, INT64_MAX)->empty());

    rig.disk().set_faults({});
    env.scheduler.Sleep(200ms);
    EXPECT_EQ(store->MaxOffset("T", 0), 3);
    GetResult g = store->Get("T", 0, 0, 32, 1u << 20);
    ASSERT_EQ(g.messages.size(), 3u);
    EXPECT_EQ(DecodeMessage(g, 1).body, Numbered(1).body);
    EXPECT_EQ(DecodeMessage(g, 2).body, no_wait.body);
    EXPECT_EQ(store->QueryByKey("T", "u0-1", 4, 0, INT64_MAX)->size(), 1u);
  }));
  store.reset();
  rig.Crash(sim::CrashMode::kDrop);
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    auto s = MustOpen(env, config);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->MaxOffset("T", 0), 3);
    EXPECT_EQ(s->Get("T", 0, 0, 32, 1u << 20).messages.size(), 3u);
    EXPECT_TRUE(s->Shutdown().ok());
  }));
}

TEST(MessageStoreSimTest, ReadErrorsNeverSkipARecord) {
  // A disk that fails reads (EIO) now and then: a Get that cannot read a record ends its answer
  // there and names that record as the next offset, so a reader following next_begin_offset
  // gets every record, in order, none skipped as if it were corrupt.
  testing::SimStoreRig rig;
  StoreConfig config = SmallStoreConfig(FlushType::kSync);
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    std::shared_ptr<MessageStore> store = MustOpen(env, config);
    ASSERT_NE(store, nullptr);
    constexpr int kCount = 40;
    for (int i = 0; i < kCount; i++) MustPut(*store, Numbered(i));
    sim::DiskFaults failing;
    failing.read_error_probability = 0.3;
    rig.disk().set_faults(failing);
    std::vector<int64_t> served;
    int64_t offset = 0;
    uint32_t skipped = 0;
    bool some_failed = false;
    for (int round = 0; round < 2000 && offset < kCount; round++) {
      GetResult g = store->Get("T", 0, offset, 4, 1u << 20);
      skipped += g.corrupt_skipped;
      some_failed = some_failed || g.read_failed;
      for (const GetResult::Message& m : g.messages) served.push_back(m.queue_offset);
      ASSERT_GE(g.next_begin_offset, offset);
      offset = g.next_begin_offset;
    }
    rig.disk().set_faults({});
    EXPECT_TRUE(some_failed);  // the faults did bite
    EXPECT_EQ(skipped, 0u);
    ASSERT_EQ(served.size(), static_cast<size_t>(kCount));
    for (int i = 0; i < kCount; i++) EXPECT_EQ(served[i], i);
    EXPECT_TRUE(store->Shutdown().ok());
  }));
}

TEST(MessageStoreSimTest, FullWriteBufferAnswersOsPageCacheBusy) {
  // Proves backpressure: while syncs fail the write buffer fills, further puts wait
  // sync_flush_timeout and answer OS_PAGECACHE_BUSY, accepted records stay readable, and puts
  // succeed once syncs recover.
  testing::SimStoreRig rig;
  StoreConfig config = SmallStoreConfig();
  config.write_buffer_bytes_max = 8u << 10;
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    auto store = MustOpen(env, config);
    ASSERT_NE(store, nullptr);
    MustPut(*store, Numbered(0));  // opens the queue while the disk still syncs
    sim::DiskFaults failing;
    failing.sync_error_probability = 1;
    rig.disk().set_faults(failing);
    int accepted = 1;
    PutResult last;
    for (int i = 1; i < 100; i++) {
      last = store->Put(Numbered(i).view());
      if (!last.ok()) break;
      accepted++;
    }
    EXPECT_EQ(last.status, PutStatus::kOsPageCacheBusy) << last.error;
    EXPECT_GT(accepted, 1);
    EXPECT_LT(accepted, 100);
    EXPECT_LE(store->commit_log().unflushed_bytes(), config.write_buffer_bytes_max);
    // A new queue cannot be created while SyncDir fails: refused, and nothing is registered.
    EXPECT_EQ(store->Put(Numbered(0, 200, 5).view()).status, PutStatus::kServiceNotAvailable);
    EXPECT_EQ(store->Get("T", 5, 0, 32, 1u << 20).status, GetStatus::kNoMatchedLogicQueue);
    GetResult g = store->Get("T", 0, 0, 1000, 1u << 20);
    EXPECT_EQ(g.messages.size(), static_cast<size_t>(accepted));

    rig.disk().set_faults({});
    PutResult again = store->Put(Numbered(accepted).view());
    EXPECT_TRUE(again.ok()) << again.error;
    EXPECT_EQ(again.queue_offset, accepted);
    EXPECT_TRUE(store->Shutdown().ok());
  }));
}

TEST(MessageStoreSimTest, FullDiskRefusesPutsUntilSpaceFrees) {
  // Proves that on a full disk puts eventually answer DISK_FULL, Gets still serve what was
  // accepted, and once capacity grows (seen by the flusher and the periodic space check) puts
  // succeed again and everything accepted becomes durable.
  sim::DiskFaults small;
  small.capacity_bytes = 48u << 10;
  testing::SimStoreRig rig(11, small);
  StoreConfig config = SmallStoreConfig();
  config.clean_interval = 100ms;
  config.disk_clean_ratio = 1.0;  // nothing is deleted to make room
  config.disk_full_ratio = 0.95;
  std::shared_ptr<MessageStore> store;
  int accepted = 0;
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    store = MustOpen(env, config);
    ASSERT_NE(store, nullptr);
    PutResult last;
    for (int i = 0; i < 1000; i++) {
      last = store->Put(Numbered(i).view());
      if (!last.ok()) break;
      accepted++;
      env.scheduler.Sleep(10ms);
    }
    ASSERT_EQ(last.status, PutStatus::kDiskFull) << last.error;
    EXPECT_TRUE(store->disk_full());
    EXPECT_GT(accepted, 20);
    GetResult g = store->Get("T", 0, 0, 1000, 1u << 20);
    ASSERT_EQ(g.messages.size(), static_cast<size_t>(accepted));
    EXPECT_EQ(DecodeMessage(g, 0).body, Numbered(0).body);

    sim::DiskFaults big;
    big.capacity_bytes = 16u << 20;
    rig.disk().set_faults(big);
    env.scheduler.Sleep(500ms);
    EXPECT_FALSE(store->disk_full());
    PutResult again = store->Put(Numbered(accepted).view());
    EXPECT_TRUE(again.ok()) << again.error;
    EXPECT_EQ(again.queue_offset, accepted);
    EXPECT_TRUE(store->Flush().ok());
  }));
  store.reset();
  rig.Crash(sim::CrashMode::kDrop);
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    auto s = MustOpen(env, config);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->MaxOffset("T", 0), accepted + 1);
    EXPECT_TRUE(s->Shutdown().ok());
  }));
}

TEST(MessageStoreSimTest, DiskUseForcesDeletionOfUnexpiredSegments) {
  // Proves that above disk_clean_ratio retention deletes the oldest segments although none has
  // expired, until use falls below the ratio or only the active segment is left, and moves the
  // queues' min offsets with them.
  sim::DiskFaults faults;
  faults.capacity_bytes = 64u << 10;
  testing::SimStoreRig rig(11, faults);
  StoreConfig config = SmallStoreConfig();
  config.disk_clean_ratio = 0.3;
  config.disk_full_ratio = 0.95;
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    auto store = MustOpen(env, config);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 60; i++) MustPut(*store, Numbered(i, 300));
    ASSERT_TRUE(store->Flush().ok());
    const double cap = static_cast<double>(faults.capacity_bytes);
    ASSERT_GE(static_cast<double>(rig.disk().used_bytes()) / cap, 0.3);
    ASSERT_TRUE(store->RunRetention().ok());
    EXPECT_GT(store->stats().segments_deleted, 0u);
    bool only_active = store->commit_log().min_offset() ==
                       store->commit_log().write_offset() / kSegment * kSegment;
    EXPECT_TRUE(static_cast<double>(rig.disk().used_bytes()) / cap < 0.3 || only_active);
    int64_t min = store->MinOffset("T", 0);
    EXPECT_GT(min, 0);
    GetResult low = store->Get("T", 0, 0, 32, 1u << 20);
    EXPECT_EQ(low.status, GetStatus::kOffsetTooSmall);
    EXPECT_EQ(low.next_begin_offset, min);
    GetResult g = store->Get("T", 0, min, 1, 1u << 20);
    ASSERT_EQ(g.status, GetStatus::kFound);
    EXPECT_GE(g.messages[0].physical_offset, store->commit_log().min_offset());
    EXPECT_EQ(DecodeMessage(g, 0).body, Numbered(static_cast<int>(min), 300).body);
    EXPECT_TRUE(store->Shutdown().ok());
  }));
}

TEST(MessageStoreSimTest, RetentionWaitsUntilASegmentHasExpired) {
  // Proves a sealed segment is deleted only once file_reserved_time has passed since it was
  // sealed (the store time of the next segment's first record), oldest first.
  testing::SimStoreRig rig;
  StoreConfig config = SmallStoreConfig();
  config.file_reserved_time = 10min;
  ASSERT_TRUE(rig.Run(
      [&](io::Env& env) {
        auto store = MustOpen(env, config);
        ASSERT_NE(store, nullptr);
        std::vector<PutResult> puts;
        for (int i = 0; i < 20; i++) puts.push_back(MustPut(*store, Numbered(i, 300)));
        env.scheduler.Sleep(20min);
        for (int i = 20; i < 40; i++) puts.push_back(MustPut(*store, Numbered(i, 300)));
        ASSERT_TRUE(store->Flush().ok());
        // The first segment sealed after the sleep is the first one retention must keep.
        int64_t keep_from = -1;
        for (size_t i = 1; i < puts.size() && keep_from < 0; i++) {
          bool starts_segment =
              puts[i].physical_offset / kSegment != puts[i - 1].physical_offset / kSegment;
          if (starts_segment && i >= 20)
            keep_from = puts[i - 1].physical_offset / kSegment * kSegment;
        }
        ASSERT_GT(keep_from, 0);
        ASSERT_TRUE(store->RunRetention().ok());
        EXPECT_EQ(store->commit_log().min_offset(), keep_from);
        env.scheduler.Sleep(5min);
        ASSERT_TRUE(store->RunRetention().ok());
        EXPECT_EQ(store->commit_log().min_offset(), keep_from);
        env.scheduler.Sleep(6min);
        ASSERT_TRUE(store->RunRetention().ok());
        EXPECT_EQ(store->commit_log().min_offset(),
                  store->commit_log().write_offset() / kSegment * kSegment);
        EXPECT_EQ(store->Get("T", 0, 39, 1, 1u << 20).status, GetStatus::kFound);
        EXPECT_TRUE(store->Shutdown().ok());
      },
      2h));
}

// Where one put landed: its queue and queue offset.
struct Placed {
  int32_t queue = 0;
  int64_t queue_offset = 0;
  int64_t physical_offset = 0;
};

// Checks that flipped records 3 (queue 0, offset 3) and 5 (the only record of queue 1) are
// never served while the other 15 of queue 0's 16 records are.
void ExpectFlipsNeverServed(MessageStore& store, const std::vector<Placed>& placed) {
  GetResult all = store.Get("T", 0, 0, 32, 1u << 20);
  ASSERT_EQ(all.status, GetStatus::kFound);
  EXPECT_EQ(all.messages.size(), 15u);
  EXPECT_EQ(all.corrupt_skipped, 1u);
  EXPECT_EQ(all.next_begin_offset, 16);
  for (size_t i = 0; i < all.messages.size(); i++) {
    EXPECT_NE(all.messages[i].queue_offset, 3);
    EXPECT_TRUE(DecodeMessage(all, i).valid);
  }
  GetResult from3 = store.Get("T", 0, 3, 1, 1u << 20);
  ASSERT_EQ(from3.status, GetStatus::kFound);
  EXPECT_EQ(from3.messages[0].queue_offset, 4);
  EXPECT_EQ(from3.next_begin_offset, 5);
  GetResult only = store.Get("T", 1, 0, 32, 1u << 20);
  EXPECT_EQ(only.status, GetStatus::kOffsetFoundNull);
  EXPECT_EQ(only.next_begin_offset, 1);
  EXPECT_TRUE(only.records.empty());
  EXPECT_EQ(store.ReadRecordAt(placed[3].physical_offset).status().code(), ErrorCode::kCorruption);
  EXPECT_EQ(store.ReadRecordAt(placed[5].physical_offset).status().code(), ErrorCode::kCorruption);
  EXPECT_TRUE(store.QueryByKey("T", "u0-3", 4, 0, INT64_MAX)->empty());
  EXPECT_EQ(store.QueryByKey("T", "u0-4", 4, 0, INT64_MAX)->size(), 1u);
}

TEST(MessageStoreSimTest, BitFlipsBelowTheCheckpointAreNeverServed) {
  // Proves silently flipped bits in durable records (one in a body, one in a header) make Get
  // skip those records (counted in corrupt_skipped) while serving the rest, ReadRecordAt fail
  // with kCorruption, and that after a clean restart (the records lie below the checkpoint, so
  // recovery does not rescan or cut them) the same holds.
  testing::SimStoreRig rig;
  StoreConfig config = SmallStoreConfig();
  std::vector<Placed> placed;
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    auto store = MustOpen(env, config);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 17; i++) {
      int32_t queue = i == 5 ? 1 : 0;
      PutResult r = MustPut(*store, Numbered(i, 150, queue));
      placed.push_back(Placed{queue, r.queue_offset, r.physical_offset});
    }
    // The flipped records must be read from the file, not the write buffer: the log has rolled
    // to a second segment, so the flush trims the first segment's buffer chunk.
    ASSERT_LT(placed[5].physical_offset, kSegment);
    ASSERT_GE(placed[16].physical_offset, kSegment);
    ASSERT_TRUE(store->Flush().ok());
    FlipIn(rig, placed[3].physical_offset, kOffBodyLength + 4 + 7);  // a body byte
    FlipIn(rig, placed[5].physical_offset, kOffQueueOffset + 7);     // a header byte
    ExpectFlipsNeverServed(*store, placed);
    EXPECT_GE(store->stats().corrupt_records_skipped, 3u);
    EXPECT_TRUE(store->Shutdown().ok());
  }));
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    auto store = MustOpen(env, config);
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(store->recovery().clean_shutdown);
    EXPECT_EQ(store->recovery().log.bytes_cut, 0u) << store->recovery().Describe();
    EXPECT_EQ(store->MaxOffset("T", 0), 16);
    ExpectFlipsNeverServed(*store, placed);
    EXPECT_TRUE(store->Shutdown().ok());
  }));
}

TEST(MessageStoreSimTest, BitFlipAboveTheCheckpointCutsRecoveryThere) {
  // Proves a flipped bit in a durable record past the checkpoint makes recovery cut the log at
  // that record (the records after it go too), nothing corrupt is served, and new puts take
  // the freed queue offset and physical offset.
  testing::SimStoreRig rig;
  StoreConfig config = SmallStoreConfig();
  config.cq_flush_interval = 1h;  // the checkpoint moves only with Flush()
  std::vector<PutResult> puts;
  std::shared_ptr<MessageStore> store;
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    store = MustOpen(env, config);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 4; i++) puts.push_back(MustPut(*store, Numbered(i, 150)));
    ASSERT_TRUE(store->Flush().ok());
    for (int i = 4; i < 12; i++) puts.push_back(MustPut(*store, Numbered(i, 150)));
    env.scheduler.Sleep(100ms);  // the async flusher makes them durable
    ASSERT_EQ(store->commit_log().flushed_offset(), store->commit_log().write_offset());
  }));
  store.reset();
  FlipIn(rig, puts[7].physical_offset, kOffBodyLength + 4 + 2);
  rig.Crash(sim::CrashMode::kDrop);
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    auto s = MustOpen(env, config);
    ASSERT_NE(s, nullptr);
    const RecoveryReport& rec = s->recovery();
    EXPECT_FALSE(rec.clean_shutdown);
    EXPECT_EQ(rec.log.end_offset, puts[7].physical_offset) << rec.Describe();
    EXPECT_EQ(rec.log.bytes_cut, static_cast<uint64_t>(puts[11].physical_offset + puts[11].size -
                                                       puts[7].physical_offset));
    EXPECT_NE(rec.log.cut_reason, "");
    EXPECT_EQ(s->MaxOffset("T", 0), 7);
    GetResult g = s->Get("T", 0, 0, 32, 1u << 20);
    ASSERT_EQ(g.messages.size(), 7u);
    EXPECT_EQ(g.corrupt_skipped, 0u);
    for (int i = 0; i < 7; i++) EXPECT_EQ(DecodeMessage(g, i).body, Numbered(i, 150).body);
    EXPECT_FALSE(s->ReadRecordAt(puts[7].physical_offset).ok());
    EXPECT_TRUE(s->QueryByKey("T", "u0-9", 4, 0, INT64_MAX)->empty());
    PutResult next = MustPut(*s, Numbered(100, 150));
    EXPECT_EQ(next.queue_offset, 7);
    EXPECT_EQ(next.physical_offset, puts[7].physical_offset);
    EXPECT_TRUE(s->Shutdown().ok());
  }));
}

TEST(MessageStoreSimTest, GetDuringRetentionSaysMessageWasRemoving) {
  // Proves a Get that runs while retention has moved the log's start but not yet the queues'
  // answers MESSAGE_WAS_REMOVING (never a record from a deleted segment), and afterwards the
  // emptied queue answers OFFSET_TOO_SMALL below and OVERFLOW_ONE at its max.
  sim::DiskFaults slow;
  slow.write_latency_min = 1ms;
  slow.write_latency_max = 2ms;
  slow.sync_latency_min = 1ms;
  slow.sync_latency_max = 2ms;
  testing::SimStoreRig rig(11, slow);
  StoreConfig config = SmallStoreConfig();
  config.file_reserved_time = 0ms;
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    auto store = MustOpen(env, config);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 3; i++) MustPut(*store, Numbered(i, 100, /*queue_id=*/1));
    for (int i = 0; i < 40; i++) MustPut(*store, Numbered(i, 300));
    ASSERT_TRUE(store->Flush().ok());
    io::FiberHandle retention =
        env.scheduler.Spawn("retention", [store] { ASSERT_TRUE(store->RunRetention().ok()); });
    for (int i = 0; i < 10000 && store->commit_log().min_offset() == 0; i++) {
      env.scheduler.Sleep(50us);
    }
    ASSERT_GT(store->commit_log().min_offset(), 0);
    ASSERT_EQ(store->MinOffset("T", 1), 0);  // the queue has not caught up yet
    GetResult racing = store->Get("T", 1, 0, 32, 1u << 20);
    EXPECT_EQ(racing.status, GetStatus::kMessageWasRemoving);
    EXPECT_TRUE(racing.records.empty());
    EXPECT_EQ(racing.next_begin_offset, 3);
    retention.Join();
    EXPECT_EQ(store->MinOffset("T", 1), 3);
    GetResult low = store->Get("T", 1, 0, 32, 1u << 20);
    EXPECT_EQ(low.status, GetStatus::kOffsetTooSmall);
    EXPECT_EQ(low.next_begin_offset, 3);
    EXPECT_EQ(store->Get("T", 1, 3, 32, 1u << 20).status, GetStatus::kOffsetOverflowOne);
    EXPECT_TRUE(store->Shutdown().ok());
  }));
}

}  // namespace
}  // namespace apogee::store
