// Tests of the message index: the file format's codecs, the service on both backends (add, query,
// roll-over, reopen, keep_below, retention), and on the simulator alone its crash behaviour.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/base/java_hash.h"
#include "core/store/index_file.h"
#include "core/store/index_service.h"
#include "sim/world.h"
#include "tests/store/store_backend.h"

namespace apogee::store {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();
constexpr int64_t kAllTime = std::numeric_limits<int64_t>::min() / 2;

// ---------------------------------------------------------------------------------------------
// Format.

TEST(IndexFileTest, HeaderAndEntryRoundTripBigEndian) {
  // Proves the header and entry codecs write RocketMQ's big-endian layout and read it back.
  IndexHeader h{0x0102030405060708, 2, 3, 4, 5, 6};
  uint8_t buf[kIndexHeaderBytes];
  h.EncodeTo(buf);
  EXPECT_EQ(buf[0], 0x01);
  EXPECT_EQ(buf[7], 0x08);
  EXPECT_EQ(buf[35], 5);  // hashSlotCount at 32
  EXPECT_EQ(buf[39], 6);  // indexCount at 36
  IndexHeader back = IndexHeader::DecodeFrom(buf);
  EXPECT_EQ(back.begin_timestamp_ms, h.begin_timestamp_ms);
  EXPECT_EQ(back.end_phy_offset, 4);
  EXPECT_EQ(back.index_count, 6);

  IndexEntry e{123, 0x1122334455, -7, 9};
  uint8_t ebuf[kIndexEntryBytes];
  e.EncodeTo(ebuf);
  EXPECT_EQ(ebuf[3], 123);
  EXPECT_EQ(ebuf[7], 0x11);  // phyOffset occupies bytes 4..11
  EXPECT_EQ(ebuf[11], 0x55);
  IndexEntry eb = IndexEntry::DecodeFrom(ebuf);
  EXPECT_EQ(eb.key_hash, 123);
  EXPECT_EQ(eb.phy_offset, 0x1122334455);
  EXPECT_EQ(eb.time_diff_s, -7);
  EXPECT_EQ(eb.prev_index, 9);
}

TEST(IndexFileTest, ShapeOffsetsMatchRocketMq) {
  // Proves slots follow the 40-byte header and entries follow the slots, and the file size.
  IndexShape s{5'000'000, 20'000'000};
  EXPECT_EQ(s.SlotOffset(0), 40u);
  EXPECT_EQ(s.EntryOffset(0), 40u + 4u * 5'000'000);
  EXPECT_EQ(s.FileBytes(), 40u + 4u * 5'000'000 + 20u * 20'000'000);  // RocketMQ's 420000040
  EXPECT_EQ(s.FileBytes(), 420'000'040u);
}

TEST(IndexFileTest, KeyHashIsAbsJavaHashOfTopicHashKey) {
  // Proves the key hash is |hashCode("topic#key")|, and Java's abs(INT_MIN) case maps to 0.
  std::string scratch;
  EXPECT_EQ(IndexKeyHash("TopicA", "key1", &scratch), std::abs(JavaStringHash("TopicA#key1")));
  int32_t raw = JavaStringHash("TopicTest#OrderID188");
  EXPECT_EQ(IndexKeyHash("TopicTest", "OrderID188", &scratch), raw < 0 ? -raw : raw);
  // "t#VNY4QO1ce\u99f3".hashCode() == Integer.MIN_VALUE.
  std::string key = "VNY4QO1ce\xe9\xa7\xb3";
  ASSERT_EQ(JavaStringHash("t#" + key), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(IndexKeyHash("t", key, &scratch), 0);
}

TEST(IndexFileTest, TimeDiffFloorsAndWindowIsConservative) {
  // Proves time diffs floor to the second (also before the file's begin) and the window test
  // keeps every entry whose second meets the window.
  EXPECT_EQ(IndexTimeDiff(1999, 1000), 0);
  EXPECT_EQ(IndexTimeDiff(2000, 1000), 1);
  EXPECT_EQ(IndexTimeDiff(999, 1000), -1);
  EXPECT_EQ(IndexTimeDiff(0, 1000), -1);
  EXPECT_EQ(IndexTimeDiff(-1, 1000), -2);
  EXPECT_EQ(IndexTimeDiff(kNoLimit, 0), std::numeric_limits<int32_t>::max());
  // Entry at second [2000, 2999].
  EXPECT_TRUE(IndexTimeMayMatch(1000, 1, 2999, 5000));
  EXPECT_TRUE(IndexTimeMayMatch(1000, 1, 0, 2000));
  EXPECT_FALSE(IndexTimeMayMatch(1000, 1, 3000, 5000));
  EXPECT_FALSE(IndexTimeMayMatch(1000, 1, 0, 1999));
}

TEST(IndexFileTest, FileNamesAreTwentyDigitSequences) {
  // Proves names are 20 zero-padded digits that parse back, and other names are rejected.
  EXPECT_EQ(IndexFileName(42), "00000000000000000042");
  EXPECT_EQ(ParseIndexFileName("00000000000000000042"), 42u);
  EXPECT_EQ(ParseIndexFileName(IndexFileName(UINT64_MAX)), UINT64_MAX);
  EXPECT_FALSE(ParseIndexFileName("0000000000000000042").has_value());
  EXPECT_FALSE(ParseIndexFileName("0000000000000000004x").has_value());
  EXPECT_FALSE(ParseIndexFileName("99999999999999999999").has_value());  // > UINT64_MAX
}

// ---------------------------------------------------------------------------------------------
// The service on both backends.

// One added entry, to compute what a query must answer.
struct Added {
  std::string topic;
  std::string key;
  int64_t offset;
  int64_t time_ms;
};

// What the index must answer for (topic, key): offsets of entries with the same key hash (hashes
// collide) whose second meets the window, newest first, at most max_count.
std::vector<int64_t> Expected(const std::vector<Added>& added, const std::string& topic,
                              const std::string& key, size_t max_count, int64_t begin_ms,
                              int64_t end_ms) {
  std::string scratch;
  int32_t hash = IndexKeyHash(topic, key, &scratch);
  std::vector<int64_t> out;
  for (auto it = added.rbegin(); it != added.rend() && out.size() < max_count; ++it) {
    if (IndexKeyHash(it->topic, it->key, &scratch) != hash) continue;
    // Times are whole seconds in these tests, so the entry's second starts at its time.
    if (it->time_ms > end_ms || it->time_ms + 999 < begin_ms) continue;
    out.push_back(it->offset);
  }
  return out;
}

std::vector<int64_t> QueryAll(IndexService& index, const std::string& topic,
                              const std::string& key) {
  auto r = index.Query(topic, key, 1'000'000, kAllTime, kNoLimit);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<int64_t>{};
}

// Adds entries for 3 topics x 5 keys; offsets step by 10, times by a second.
std::vector<Added> AddMany(IndexService& index, int count, int64_t first_offset = 0) {
  std::vector<Added> added;
  for (int i = 0; i < count; i++) {
    Added a{"topic" + std::to_string(i % 3), "key" + std::to_string(i % 5),
            first_offset + 10 * int64_t{i}, 1'000'000 + 1000 * int64_t{i}};
    index.Add(a.topic, a.key, a.offset, a.time_ms);
    added.push_back(a);
  }
  return added;
}

void ExpectAllFound(IndexService& index, const std::vector<Added>& added) {
  for (int t = 0; t < 3; t++) {
    for (int k = 0; k < 5; k++) {
      std::string topic = "topic" + std::to_string(t);
      std::string key = "key" + std::to_string(k);
      EXPECT_EQ(QueryAll(index, topic, key),
                Expected(added, topic, key, 1'000'000, kAllTime, kNoLimit))
          << topic << "#" << key;
    }
  }
}

class IndexTest : public testing::StoreBackendTest {};

TEST_P(IndexTest, AddAndQueryAcrossKeysTopicsAndCollidingSlots) {
  // Proves buffered entries answer queries exactly, newest first, with 3 slots so most keys share
  // a slot chain, and the same key under another topic is another key.
  RunOnBackend([](io::Env& env) {
    IndexService index(env.disk, "index", 3, 1000);
    ASSERT_TRUE(index.Load(kNoLimit).ok());
    EXPECT_EQ(index.last_commit_log_offset(), -1);
    EXPECT_TRUE(QueryAll(index, "topic0", "key0").empty());
    std::vector<Added> added = AddMany(index, 60);
    ExpectAllFound(index, added);
    std::vector<int64_t> k0 = QueryAll(index, "topic0", "key0");
    ASSERT_EQ(k0.size(), 4u);  // i = 0, 15, 30, 45
    EXPECT_EQ(k0, (std::vector<int64_t>{450, 300, 150, 0}));
    EXPECT_TRUE(QueryAll(index, "topic0", "nokey").empty());
    EXPECT_EQ(index.last_commit_log_offset(), 590);
    ASSERT_TRUE(index.Flush().ok());
    ExpectAllFound(index, added);  // now from the file
  });
}

TEST_P(IndexTest, MaxCountAndTimeWindowLimitAnswers) {
  // Proves max_count keeps the newest matches and the window keeps matches by store second.
  RunOnBackend([](io::Env& env) {
    IndexService index(env.disk, "index", 7, 1000);
    ASSERT_TRUE(index.Load(kNoLimit).ok());
    for (int i = 0; i < 10; i++) index.Add("T", "K", 100 * i, 50'000 + 1000 * i);
    auto two = index.Query("T", "K", 2, kAllTime, kNoLimit);
    ASSERT_TRUE(two.ok());
    EXPECT_EQ(*two, (std::vector<int64_t>{900, 800}));
    // Store times 53'000..56'000 inclusive: i = 3..6.
    auto window = index.Query("T", "K", 100, 53'000, 56'000);
    ASSERT_TRUE(window.ok());
    EXPECT_EQ(*window, (std::vector<int64_t>{600, 500, 400, 300}));
    // A window inside one second still finds that second's entry: the caller narrows it.
    auto inside = index.Query("T", "K", 100, 53'500, 53'600);
    ASSERT_TRUE(inside.ok());
    EXPECT_EQ(*inside, (std::vector<int64_t>{300}));
    auto none = index.Query("T", "K", 0, kAllTime, kNoLimit);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
    ASSERT_TRUE(index.Flush().ok());
    auto after = index.Query("T", "K", 100, 53'000, 56'000);
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(*after, *window);
  });
}

TEST_P(IndexTest, RollsToNewFilesWhenFull) {
  // Proves a file takes entries_max - 1 entries, Add opens the next one in memory, and Flush seals
  // every full file (one file per sequence name) while queries see all of them.
  RunOnBackend([](io::Env& env) {
    IndexService index(env.disk, "index", 3, 4);  // 3 entries a file
    ASSERT_TRUE(index.Load(kNoLimit).ok());
    std::vector<Added> added = AddMany(index, 20);
    EXPECT_EQ(index.open_file_count(), 7u);  // 6 full + 1 with 2 entries, none sealed yet
    ExpectAllFound(index, added);
    ASSERT_TRUE(index.Flush().ok());
    EXPECT_EQ(index.sealed_file_count(), 6u);
    EXPECT_EQ(index.open_file_count(), 1u);
    auto names = env.disk.List("index");
    ASSERT_TRUE(names.ok());
    ASSERT_EQ(names->size(), 7u);
    EXPECT_EQ(names->front(), "00000000000000000000");
    EXPECT_EQ(names->back(), "00000000000000000006");
    // A sealed file is exactly RocketMQ's size.
    auto sealed = env.disk.ReadAll("index/00000000000000000000");
    ASSERT_TRUE(sealed.ok());
    EXPECT_EQ(sealed->size(), (IndexShape{3, 4}.FileBytes()));
    ExpectAllFound(index, added);
  });
}

TEST_P(IndexTest, ReopenAfterFlushAnswersFromSealedAndActiveFiles) {
  // Proves what Flush wrote is found after reopening (sealed files and the active file's rebuilt
  // slot table), the last offset is restored, and adding goes on where it stopped.
  RunOnBackend([](io::Env& env) {
    std::vector<Added> added;
    {
      IndexService index(env.disk, "data/index", 3, 5);
      ASSERT_TRUE(index.Load(kNoLimit).ok());
      added = AddMany(index, 18);  // 4 full files of 4 and one of 2
      ASSERT_TRUE(index.Flush().ok());
    }
    IndexService index(env.disk, "data/index", 3, 5);
    ASSERT_TRUE(index.Load(kNoLimit).ok());
    EXPECT_EQ(index.sealed_file_count(), 4u);
    EXPECT_EQ(index.last_commit_log_offset(), 170);
    ExpectAllFound(index, added);
    std::vector<Added> more = AddMany(index, 7, 180);
    added.insert(added.end(), more.begin(), more.end());
    ExpectAllFound(index, added);
    ASSERT_TRUE(index.Flush().ok());
    ExpectAllFound(index, added);
  });
}

TEST_P(IndexTest, ReopenWithoutFlushLosesOnlyUnflushedEntries) {
  // Proves entries added after the last Flush are not on disk, and the last offset says so.
  RunOnBackend([](io::Env& env) {
    std::vector<Added> added;
    {
      IndexService index(env.disk, "index", 3, 100);
      ASSERT_TRUE(index.Load(kNoLimit).ok());
      added = AddMany(index, 10);
      ASSERT_TRUE(index.Flush().ok());
      AddMany(index, 5, 100);
    }
    IndexService index(env.disk, "index", 3, 100);
    ASSERT_TRUE(index.Load(kNoLimit).ok());
    EXPECT_EQ(index.last_commit_log_offset(), 90);
    ExpectAllFound(index, added);
  });
}

TEST_P(IndexTest, LoadDropsEntriesAtOrAboveKeepBelow) {
  // Proves Load drops every entry at or above keep_below, in the active file and in sealed files
  // (removing those that keep nothing), and that the dropped range can be added again.
  RunOnBackend([](io::Env& env) {
    std::vector<Added> added;
    {
      IndexService index(env.disk, "index", 3, 5);
      ASSERT_TRUE(index.Load(kNoLimit).ok());
      added = AddMany(index, 30);  // 7 full files of 4 (offsets 0..270) and one of 2
      ASSERT_TRUE(index.Flush().ok());
    }
    // 95 lies inside the third file (offsets 80..110): it keeps 80 and 90.
    std::vector<Added> kept(added.begin(), added.begin() + 10);
    {
      IndexService index(env.disk, "index", 3, 5);
      ASSERT_TRUE(index.Load(95).ok());
      EXPECT_EQ(index.last_commit_log_offset(), 90);
      EXPECT_EQ(index.sealed_file_count(), 2u);
      ExpectAllFound(index, kept);
      auto names = env.disk.List("index");
      ASSERT_TRUE(names.ok());
      EXPECT_EQ(names->size(), 3u);
      // Re-dispatch: the same range again, with other keys this time.
      for (int i = 10; i < 16; i++) {
        Added a{"topic1", "again", 10 * int64_t{i}, 1'000'000 + 1000 * int64_t{i}};
        index.Add(a.topic, a.key, a.offset, a.time_ms);
        kept.push_back(a);
      }
      ASSERT_TRUE(index.Flush().ok());
    }
    IndexService index(env.disk, "index", 3, 5);
    ASSERT_TRUE(index.Load(kNoLimit).ok());
    EXPECT_EQ(index.last_commit_log_offset(), 150);
    ExpectAllFound(index, kept);
    EXPECT_EQ(QueryAll(index, "topic1", "again"),
              (std::vector<int64_t>{150, 140, 130, 120, 110, 100}));
  });
}

TEST_P(IndexTest, LoadWithKeepBelowZeroEmptiesTheIndex) {
  // Proves keep_below = 0 removes every file and the index starts over.
  RunOnBackend([](io::Env& env) {
    {
      IndexService index(env.disk, "index", 3, 5);
      ASSERT_TRUE(index.Load(kNoLimit).ok());
      AddMany(index, 12);
      ASSERT_TRUE(index.Flush().ok());
    }
    IndexService index(env.disk, "index", 3, 5);
    ASSERT_TRUE(index.Load(0).ok());
    EXPECT_EQ(index.last_commit_log_offset(), -1);
    EXPECT_EQ(index.sealed_file_count(), 0u);
    EXPECT_TRUE(QueryAll(index, "topic0", "key0").empty());
    auto names = env.disk.List("index");
    ASSERT_TRUE(names.ok());
    EXPECT_TRUE(names->empty());
    index.Add("a", "b", 0, 0);
    ASSERT_TRUE(index.Flush().ok());
    EXPECT_EQ(QueryAll(index, "a", "b"), (std::vector<int64_t>{0}));
  });
}

TEST_P(IndexTest, DeleteBeforeRemovesOnlyWhollyOlderSealedFiles) {
  // Proves retention removes sealed files whose last offset is below the minimum, keeps a file
  // that straddles it and never removes the active file, durably across a reopen.
  RunOnBackend([](io::Env& env) {
    std::vector<Added> added;
    {
      IndexService index(env.disk, "index", 3, 5);
      ASSERT_TRUE(index.Load(kNoLimit).ok());
      added = AddMany(index, 14);  // files: 0..30, 40..70, 80..110, active 120..130
      ASSERT_TRUE(index.Flush().ok());
      ASSERT_TRUE(index.DeleteBefore(75).ok());
      EXPECT_EQ(index.sealed_file_count(), 1u);
      std::vector<Added> left(added.begin() + 8, added.end());
      ExpectAllFound(index, left);
      ASSERT_TRUE(index.DeleteBefore(kNoLimit).ok());
      EXPECT_EQ(index.sealed_file_count(), 0u);
      EXPECT_EQ(index.open_file_count(), 1u);
    }
    IndexService index(env.disk, "index", 3, 5);
    ASSERT_TRUE(index.Load(kNoLimit).ok());
    std::vector<Added> left(added.begin() + 12, added.end());
    ExpectAllFound(index, left);
    EXPECT_EQ(index.last_commit_log_offset(), 130);
  });
}

TEST_P(IndexTest, MemoryHoldsOnlyOpenSlotTablesAndBuffers) {
  // Proves flushed entries leave memory: after Flush only the active slot table (and a spare)
  // stays, whatever was added.
  RunOnBackend([](io::Env& env) {
    IndexService index(env.disk, "index", 1000, 200);
    ASSERT_TRUE(index.Load(kNoLimit).ok());
    AddMany(index, 1000);
    size_t before = index.memory_bytes();
    EXPECT_GE(before, 1000u * kIndexEntryBytes / 2);  // buffers of several open files
    ASSERT_TRUE(index.Flush().ok());
    size_t after = index.memory_bytes();
    EXPECT_LT(after, before);
    // Two slot tables (active and spare), scratch that grew to twice a table, small handles.
    EXPECT_LT(after, 5 * 4000u);
  });
}

INSTANTIATE_STORE_BACKENDS(IndexTest);

}  // namespace
}  // namespace apogee::store
