// Tests of the consume queue on both backends (the simulated disk and real files): appends and
// reads across files, reopening, truncation, retention, time search and recovery from a damaged
// tail. Crash and fault tests, which need the simulator, are in consume_queue_crash_test.cc.

#include "core/store/consume_queue.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/store/store_backend.h"

namespace apogee::store {
namespace {

constexpr char kDir[] = "consumequeue/TopicA/3";

// Entry i: record i of the commit log is at 100 * i and 60 bytes long; tags differ per entry.
CqEntry Entry(int64_t i) {
  return CqEntry{.commit_log_offset = 100 * i, .size = 60, .tags_code = 7000 + i};
}
int64_t EndOf(int64_t i) { return 100 * i + 60; }

std::string PathOf(int64_t first_queue_offset) {
  return io::JoinPath(kDir, CqFileName(first_queue_offset));
}

// Appends entries [from, to) at their own queue offsets.
void AppendRange(ConsumeQueue& queue, int64_t from, int64_t to) {
  for (int64_t i = from; i < to; i++) {
    Result<bool> r = queue.Append(i, Entry(i));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(*r) << "entry " << i;
  }
}

// Reads [from, from + count) and expects exactly the entries Entry(from..).
void ExpectEntries(ConsumeQueue& queue, int64_t from, int64_t count) {
  std::vector<CqEntry> got;
  Status s = queue.Read(from, static_cast<size_t>(count), &got);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(got.size(), static_cast<size_t>(count));
  for (int64_t i = 0; i < count; i++) EXPECT_EQ(got[i], Entry(from + i)) << "entry " << from + i;
}

uint64_t FileSize(io::Disk& disk, const std::string& path) {
  auto file = disk.Open(path, io::OpenOptions{.read_only = true});
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  if (!file.ok()) return UINT64_MAX;
  auto size = (*file)->Size();
  EXPECT_TRUE(size.ok());
  return size.ok() ? *size : UINT64_MAX;
}

std::vector<std::string> Names(io::Disk& disk) {
  auto names = disk.List(kDir);
  EXPECT_TRUE(names.ok()) << names.status().ToString();
  return names.ok() ? *names : std::vector<std::string>{};
}

class ConsumeQueueTest : public testing::StoreBackendTest {};

TEST(CqEntryTest, EncodesBigEndianRocketMqLayout) {
  // Proves the 20-byte layout: int64 offset, int32 size, int64 tags code, all big-endian.
  uint8_t out[kCqEntryBytes];
  EncodeCqEntry(
      CqEntry{.commit_log_offset = 0x0102030405060708, .size = 0x0A0B0C0D, .tags_code = 2598919},
      out);
  const uint8_t want[kCqEntryBytes] = {1,    2,    3, 4, 5, 6, 7, 8,    0x0A, 0x0B,
                                       0x0C, 0x0D, 0, 0, 0, 0, 0, 0x27, 0xA8, 0x07};
  for (size_t i = 0; i < kCqEntryBytes; i++) EXPECT_EQ(out[i], want[i]) << "byte " << i;
  EXPECT_EQ(DecodeCqEntry(out).tags_code, 2598919);
  EXPECT_EQ(CqFileName(4), "00000000000000000080");
}

TEST_P(ConsumeQueueTest, ReadsAcrossFileBoundary) {
  // Proves entries spread over files of 4 entries read back the same from the buffer and from
  // the files, in one read across several files, and that files are named by byte offset.
  RunOnBackend([](io::Env& env) {
    ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
    ASSERT_TRUE(queue.Load(0).ok());
    EXPECT_EQ(queue.max_offset(), 0);
    EXPECT_EQ(queue.last_commit_log_end(), -1);
    AppendRange(queue, 0, 10);
    EXPECT_EQ(queue.memory_bytes(), 10 * sizeof(CqEntry));
    ExpectEntries(queue, 0, 10);
    ASSERT_TRUE(queue.Flush().ok());
    EXPECT_EQ(queue.memory_bytes(), 0u);
    ExpectEntries(queue, 0, 10);
    ExpectEntries(queue, 3, 6);
    AppendRange(queue, 10, 13);
    ExpectEntries(queue, 7, 6);  // files then buffer in one read
    std::vector<CqEntry> got;
    ASSERT_TRUE(queue.Read(11, 100, &got).ok());
    EXPECT_EQ(got.size(), 2u);
    EXPECT_EQ(queue.Read(13, 1, &got).code(), ErrorCode::kOutOfRange);
    EXPECT_EQ(Names(env.disk),
              (std::vector<std::string>{"00000000000000000000", "00000000000000000080",
                                        "00000000000000000160"}));
    EXPECT_EQ(FileSize(env.disk, PathOf(8)), 2 * kCqEntryBytes);
    EXPECT_EQ(queue.last_commit_log_end(), EndOf(12));
  });
}

TEST_P(ConsumeQueueTest, ReopenAfterFlushFindsMinAndMax) {
  // Proves a queue reopened after Flush has every flushed entry and none of the unflushed ones,
  // and that Load places min_offset at the first entry at or after the commit log's start.
  RunOnBackend([](io::Env& env) {
    {
      ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
      ASSERT_TRUE(queue.Load(0).ok());
      AppendRange(queue, 0, 10);
      ASSERT_TRUE(queue.Flush().ok());
      AppendRange(queue, 10, 12);  // never flushed
    }
    {
      ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
      ASSERT_TRUE(queue.Load(0).ok());
      EXPECT_EQ(queue.min_offset(), 0);
      EXPECT_EQ(queue.max_offset(), 10);
      EXPECT_EQ(queue.last_commit_log_end(), EndOf(9));
      ExpectEntries(queue, 0, 10);
      AppendRange(queue, 10, 11);  // appends go on where the files end
    }
    {
      ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
      ASSERT_TRUE(queue.Load(Entry(5).commit_log_offset - 10).ok());
      EXPECT_EQ(queue.min_offset(), 5);
      EXPECT_EQ(queue.max_offset(), 10);
      std::vector<CqEntry> got;
      EXPECT_EQ(queue.Read(4, 1, &got).code(), ErrorCode::kOutOfRange);
      ExpectEntries(queue, 5, 5);
    }
  });
}

TEST_P(ConsumeQueueTest, AppendReportsDuplicatesAndGaps) {
  // Proves Append takes only max_offset: an existing offset is a no-op returning false, a gap is
  // kCorruption, and neither changes the queue.
  RunOnBackend([](io::Env& env) {
    ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
    ASSERT_TRUE(queue.Load(0).ok());
    AppendRange(queue, 0, 5);
    ASSERT_TRUE(queue.Flush().ok());
    AppendRange(queue, 5, 6);
    Result<bool> dup_disk = queue.Append(2, Entry(2));
    ASSERT_TRUE(dup_disk.ok());
    EXPECT_FALSE(*dup_disk);
    Result<bool> dup_buffer = queue.Append(5, Entry(5));
    ASSERT_TRUE(dup_buffer.ok());
    EXPECT_FALSE(*dup_buffer);
    Result<bool> gap = queue.Append(7, Entry(7));
    EXPECT_EQ(gap.code(), ErrorCode::kCorruption);
    EXPECT_EQ(queue.max_offset(), 6);
    EXPECT_EQ(queue.last_commit_log_end(), EndOf(5));
    ExpectEntries(queue, 0, 6);
  });
}

TEST_P(ConsumeQueueTest, TruncateToCutsTheBuffer) {
  // Proves TruncateTo drops buffered entries that end past the commit log's end, keeps the
  // others, and that appends and flushes go on from the cut.
  RunOnBackend([](io::Env& env) {
    ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
    ASSERT_TRUE(queue.Load(0).ok());
    AppendRange(queue, 0, 3);
    ASSERT_TRUE(queue.Flush().ok());
    AppendRange(queue, 3, 7);
    ASSERT_TRUE(queue.TruncateTo(EndOf(4)).ok());
    EXPECT_EQ(queue.max_offset(), 5);
    EXPECT_EQ(queue.last_commit_log_end(), EndOf(4));
    ExpectEntries(queue, 0, 5);
    ASSERT_TRUE(queue.TruncateTo(EndOf(4) + 1000).ok());  // nothing past it: no change
    EXPECT_EQ(queue.max_offset(), 5);
    AppendRange(queue, 5, 6);
    ASSERT_TRUE(queue.Flush().ok());
    ConsumeQueue reopened(env.disk, kDir, "TopicA", 3, 4);
    ASSERT_TRUE(reopened.Load(0).ok());
    EXPECT_EQ(reopened.max_offset(), 6);
    ExpectEntries(reopened, 0, 6);
  });
}

TEST_P(ConsumeQueueTest, TruncateToCutsTheFiles) {
  // Proves TruncateTo drops flushed entries physically: the cut file is shortened, later files
  // are removed (also when the cut is exactly at a file start), and a reopen agrees.
  RunOnBackend([](io::Env& env) {
    {
      ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
      ASSERT_TRUE(queue.Load(0).ok());
      AppendRange(queue, 0, 11);
      ASSERT_TRUE(queue.Flush().ok());
      AppendRange(queue, 11, 13);
      ASSERT_TRUE(queue.TruncateTo(EndOf(5) + 30).ok());  // entry 6 ends past it
      EXPECT_EQ(queue.max_offset(), 6);
      EXPECT_EQ(queue.last_commit_log_end(), EndOf(5));
      EXPECT_EQ(queue.memory_bytes(), 0u);
      EXPECT_EQ(queue.file_count(), 2u);
      EXPECT_EQ(FileSize(env.disk, PathOf(4)), 2 * kCqEntryBytes);
      ExpectEntries(queue, 0, 6);
      ASSERT_TRUE(queue.TruncateTo(EndOf(3)).ok());  // the cut falls on file 4's start
      EXPECT_EQ(queue.max_offset(), 4);
      EXPECT_EQ(Names(env.disk), std::vector<std::string>{"00000000000000000000"});
      // New entries at the cut point may differ from the dropped ones.
      ASSERT_TRUE(queue.Append(4, CqEntry{.commit_log_offset = 400, .size = 7}).ok());
      ASSERT_TRUE(queue.Flush().ok());
    }
    ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
    ASSERT_TRUE(queue.Load(0).ok());
    EXPECT_EQ(queue.max_offset(), 5);
    EXPECT_EQ(queue.last_commit_log_end(), 407);
    ExpectEntries(queue, 0, 4);
  });
}

TEST_P(ConsumeQueueTest, TruncateToEverythingKeepsTheOffsets) {
  // Proves that cutting every entry after retention removed the first files keeps the last file
  // (empty), so a reopened queue goes on at the same queue offset instead of at 0.
  RunOnBackend([](io::Env& env) {
    {
      ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
      ASSERT_TRUE(queue.Load(0).ok());
      AppendRange(queue, 0, 10);
      ASSERT_TRUE(queue.Flush().ok());
      ASSERT_TRUE(queue.DeleteBefore(Entry(8).commit_log_offset).ok());
      EXPECT_EQ(queue.min_offset(), 8);
      ASSERT_TRUE(queue.TruncateTo(0).ok());
      EXPECT_EQ(queue.min_offset(), 8);
      EXPECT_EQ(queue.max_offset(), 8);
      EXPECT_EQ(queue.last_commit_log_end(), -1);
      EXPECT_EQ(Names(env.disk), std::vector<std::string>{"00000000000000000160"});
    }
    ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
    ASSERT_TRUE(queue.Load(0).ok());
    EXPECT_EQ(queue.min_offset(), 8);
    EXPECT_EQ(queue.max_offset(), 8);
    Result<bool> again = queue.Append(0, Entry(0));  // a duplicate, not a restart at 0
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(*again);
    EXPECT_EQ(queue.max_offset(), 8);
  });
}

TEST_P(ConsumeQueueTest, DeleteBeforeMovesMinAndRemovesFiles) {
  // Proves retention moves min_offset to the first entry at or after the commit log's start,
  // removes files wholly below it, never the last file, and never moves min back.
  RunOnBackend([](io::Env& env) {
    ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
    ASSERT_TRUE(queue.Load(0).ok());
    AppendRange(queue, 0, 10);
    ASSERT_TRUE(queue.Flush().ok());
    ASSERT_TRUE(queue.DeleteBefore(Entry(5).commit_log_offset - 1).ok());
    EXPECT_EQ(queue.min_offset(), 5);
    EXPECT_EQ(Names(env.disk),
              (std::vector<std::string>{"00000000000000000080", "00000000000000000160"}));
    std::vector<CqEntry> got;
    EXPECT_EQ(queue.Read(4, 1, &got).code(), ErrorCode::kOutOfRange);
    ExpectEntries(queue, 5, 5);
    ASSERT_TRUE(queue.DeleteBefore(0).ok());
    EXPECT_EQ(queue.min_offset(), 5) << "min moved back";
    ASSERT_TRUE(queue.DeleteBefore(EndOf(20)).ok());  // everything is older
    EXPECT_EQ(queue.min_offset(), 10);
    EXPECT_EQ(queue.max_offset(), 10);
    EXPECT_EQ(Names(env.disk), std::vector<std::string>{"00000000000000000160"});
    AppendRange(queue, 10, 11);
    ExpectEntries(queue, 10, 1);
    ConsumeQueue reopened(env.disk, kDir, "TopicA", 3, 4);
    ASSERT_TRUE(reopened.Load(EndOf(20)).ok());
    EXPECT_EQ(reopened.min_offset(), 10);
    EXPECT_EQ(reopened.max_offset(), 10);
  });
}

TEST_P(ConsumeQueueTest, SearchByTimestampFindsFirstNotOlder) {
  // Proves the time search returns the first offset stored at or after the time, max_offset
  // when all are older, min_offset when all are newer or the queue is empty; that records the
  // reader cannot find count as older, and that other reader errors are returned.
  RunOnBackend([](io::Env& env) {
    ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
    ASSERT_TRUE(queue.Load(0).ok());
    int reads = 0;
    // Record i (at 100 * i) was stored at 1000 + 10 * i ms.
    StoreTimeReader reader = [&reads](int64_t offset, int32_t size) -> Result<int64_t> {
      reads++;
      EXPECT_EQ(size, 60);
      return 1000 + offset / 10;
    };
    Result<int64_t> empty = queue.SearchByTimestamp(5, reader);
    ASSERT_TRUE(empty.ok());
    EXPECT_EQ(*empty, 0);
    AppendRange(queue, 0, 10);
    ASSERT_TRUE(queue.Flush().ok());
    AppendRange(queue, 10, 14);
    EXPECT_EQ(*queue.SearchByTimestamp(1055, reader), 6);
    EXPECT_EQ(*queue.SearchByTimestamp(1060, reader), 6);
    EXPECT_EQ(*queue.SearchByTimestamp(1121, reader), 13);  // found in the buffer
    EXPECT_EQ(*queue.SearchByTimestamp(0, reader), 0);
    EXPECT_EQ(*queue.SearchByTimestamp(99999, reader), 14);
    EXPECT_GT(reads, 0);
    EXPECT_LE(reads, 5 * 5) << "not a binary search";
    StoreTimeReader gone_below_3 = [](int64_t offset, int32_t) -> Result<int64_t> {
      if (offset < 300) return Status(ErrorCode::kNotFound, "deleted");
      return 1000 + offset / 10;
    };
    EXPECT_EQ(*queue.SearchByTimestamp(0, gone_below_3), 3);
    StoreTimeReader broken = [](int64_t, int32_t) -> Result<int64_t> {
      return Status(ErrorCode::kIoError, "disk");
    };
    EXPECT_EQ(queue.SearchByTimestamp(1055, broken).code(), ErrorCode::kIoError);
  });
}

// Writes `bytes` into a queue file at `offset` through the Disk API, durably.
void Scribble(io::Disk& disk, int64_t file_start, uint64_t offset, std::vector<uint8_t> bytes) {
  auto file = disk.Open(PathOf(file_start), io::OpenOptions{.create = true});
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_TRUE((*file)->WriteAt(offset, bytes).ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE(disk.SyncDir(kDir).ok());
}

std::vector<uint8_t> Encoded(const CqEntry& entry) {
  std::vector<uint8_t> bytes(kCqEntryBytes);
  EncodeCqEntry(entry, bytes.data());
  return bytes;
}

TEST_P(ConsumeQueueTest, LoadCutsGarbageTail) {
  // Proves Load stops at the first invalid entry of the last file (zeros, then a valid-looking
  // entry behind them), cuts the file there, and that the stale entry never comes back once
  // new entries are appended and flushed over the cut.
  RunOnBackend([](io::Env& env) {
    {
      ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
      ASSERT_TRUE(queue.Load(0).ok());
      AppendRange(queue, 0, 6);
      ASSERT_TRUE(queue.Flush().ok());
    }
    std::vector<uint8_t> garbage(kCqEntryBytes, 0);
    std::vector<uint8_t> stale = Encoded(Entry(50));
    garbage.insert(garbage.end(), stale.begin(), stale.end());
    garbage.push_back(0x55);  // and a partial entry
    Scribble(env.disk, 4, 2 * kCqEntryBytes, garbage);
    {
      ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
      ASSERT_TRUE(queue.Load(0).ok());
      EXPECT_EQ(queue.max_offset(), 6);
      EXPECT_EQ(FileSize(env.disk, PathOf(4)), 2 * kCqEntryBytes);
      ExpectEntries(queue, 0, 6);
      AppendRange(queue, 6, 7);
      ASSERT_TRUE(queue.Flush().ok());
    }
    ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
    ASSERT_TRUE(queue.Load(0).ok());
    EXPECT_EQ(queue.max_offset(), 7) << "the stale entry came back";
    ExpectEntries(queue, 0, 7);
  });
}

TEST_P(ConsumeQueueTest, LoadCutsOverlappingEntryAndRemovesEmptyLastFile) {
  // Proves an entry that starts before the previous one ends is invalid, that a last file left
  // empty is removed and the file before it becomes the last, and that the only file is kept.
  RunOnBackend([](io::Env& env) {
    {
      ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
      ASSERT_TRUE(queue.Load(0).ok());
      AppendRange(queue, 0, 8);
      ASSERT_TRUE(queue.Flush().ok());
    }
    // File 8 starts with an entry overlapping entry 7 (which ends at 760).
    Scribble(env.disk, 8, 0, Encoded(CqEntry{.commit_log_offset = 750, .size = 10}));
    {
      ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 4);
      ASSERT_TRUE(queue.Load(0).ok());
      EXPECT_EQ(queue.max_offset(), 8);
      EXPECT_EQ(queue.file_count(), 2u);
      EXPECT_EQ(Names(env.disk).size(), 2u);
      ExpectEntries(queue, 0, 8);
    }
    // A queue whose only file holds nothing valid keeps that file, empty.
    const std::string other = "consumequeue/TopicB/0";
    ASSERT_TRUE(env.disk.MakeDirs(other).ok());
    auto file = env.disk.Open(io::JoinPath(other, CqFileName(0)), io::OpenOptions{.create = true});
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->WriteAt(0, std::vector<uint8_t>(60, 0)).ok());
    ConsumeQueue queue(env.disk, other, "TopicB", 0, 4);
    ASSERT_TRUE(queue.Load(0).ok());
    EXPECT_EQ(queue.max_offset(), 0);
    EXPECT_EQ(queue.file_count(), 1u);
    auto size = (*file)->Size();
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(*size, 0u);
  });
}

TEST_P(ConsumeQueueTest, ReadStopsAtCorruptEntry) {
  // Proves a read from disk stops before a structurally invalid entry, and fails with
  // kCorruption when the invalid entry is the first one asked for.
  RunOnBackend([](io::Env& env) {
    ConsumeQueue queue(env.disk, kDir, "TopicA", 3, 8);
    ASSERT_TRUE(queue.Load(0).ok());
    AppendRange(queue, 0, 8);
    ASSERT_TRUE(queue.Flush().ok());
    Scribble(env.disk, 0, 5 * kCqEntryBytes, Encoded(CqEntry{.commit_log_offset = 10, .size = 3}));
    std::vector<CqEntry> got;
    ASSERT_TRUE(queue.Read(2, 10, &got).ok());  // entry 5 overlaps entry 4
    EXPECT_EQ(got.size(), 3u);
    Scribble(env.disk, 0, 5 * kCqEntryBytes, std::vector<uint8_t>(kCqEntryBytes, 0));
    EXPECT_EQ(queue.Read(5, 10, &got).code(), ErrorCode::kCorruption);
    EXPECT_TRUE(got.empty());
    ASSERT_TRUE(queue.Read(4, 10, &got).ok());
    EXPECT_EQ(got.size(), 1u);
  });
}

TEST_P(ConsumeQueueTest, LoadRejectsMisplacedFiles) {
  // Proves Load fails with kCorruption rather than guess when a file name is not a multiple of
  // the file size or the names leave a gap.
  RunOnBackend([](io::Env& env) {
    ASSERT_TRUE(env.disk.MakeDirs(kDir).ok());
    auto odd =
        env.disk.Open(io::JoinPath(kDir, "00000000000000000020"), io::OpenOptions{.create = true});
    ASSERT_TRUE(odd.ok());
    ConsumeQueue misnamed(env.disk, kDir, "TopicA", 3, 4);
    EXPECT_EQ(misnamed.Load(0).code(), ErrorCode::kCorruption);
    ASSERT_TRUE(env.disk.Remove(io::JoinPath(kDir, "00000000000000000020")).ok());
    for (int64_t start : {0, 8}) {
      auto f = env.disk.Open(PathOf(start), io::OpenOptions{.create = true});
      ASSERT_TRUE(f.ok());
    }
    ConsumeQueue gap(env.disk, kDir, "TopicA", 3, 4);
    EXPECT_EQ(gap.Load(0).code(), ErrorCode::kCorruption);
  });
}

INSTANTIATE_STORE_BACKENDS(ConsumeQueueTest);

}  // namespace
}  // namespace apogee::store
