// Simulator-only tests of the message index: crashes in every mode, torn sectors, failed syncs
// and corrupt files. Each test runs one node whose process is crashed and started again over the
// same simulated disk.

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/store/index_service.h"
#include "sim/world.h"

namespace apogee::store {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();
constexpr int64_t kAllTime = std::numeric_limits<int64_t>::min() / 2;
constexpr int kKeys = 7;
// With this many slots the header (sector 0) and the entries (from byte 560) lie in different
// 512-byte sectors, so a torn crash can keep one and drop the other.
constexpr uint32_t kWideSlots = 130;

std::string KeyName(int k) { return "key" + std::to_string(k); }

// Offsets per key: every offset ever added for it, and those a successful Flush covered.
struct Model {
  std::map<int, std::set<int64_t>> added;
  std::map<int, std::set<int64_t>> flushed;
  std::vector<std::pair<int, int64_t>> pending;  // added since the last successful Flush
  int64_t next_offset = 0;

  void Add(IndexService& index, int key) {
    int64_t offset = next_offset;
    next_offset += 10;
    index.Add("T", KeyName(key), offset, 1'000'000 + offset);
    added[key].insert(offset);
    pending.emplace_back(key, offset);
  }
  void Flushed() {
    for (auto [key, offset] : pending) flushed[key].insert(offset);
    pending.clear();
  }
};

class IndexCrashTest : public ::testing::Test {
 protected:
  void MakeWorld(uint64_t seed, sim::DiskFaults faults = {}) {
    world_ = std::make_unique<sim::World>(seed);
    world_->AddNode(sim::NodeSpec{"store", "10.0.0.1",
                                  [this](io::Env& env) {
                                    phase_(env);
                                    done_ = true;
                                  },
                                  faults});
  }
  // Starts a new incarnation running `phase` and runs the world until it returns.
  void RunPhase(std::function<void(io::Env&)> phase) {
    phase_ = std::move(phase);
    done_ = false;
    world_->Start(0);
    Instant limit = world_->Now() + 3600s;
    while (!done_ && world_->Now() < limit) world_->RunFor(10ms);
    ASSERT_TRUE(done_) << "the phase did not finish";
  }
  // Starts `phase` and runs the world for `d` of virtual time, finished or not.
  void RunPhaseFor(std::function<void(io::Env&)> phase, Duration d) {
    phase_ = std::move(phase);
    done_ = false;
    world_->Start(0);
    world_->RunFor(d);
  }

  // Loads the index and checks it against the model: nothing foreign, everything flushed.
  static void LoadAndCheck(io::Env& env, const Model& model, uint32_t slots, uint32_t entries_max) {
    IndexService index(env.disk, "index", slots, entries_max);
    Status s = index.Load(kNoLimit);
    ASSERT_TRUE(s.ok()) << s.ToString();
    int64_t last_flushed = -1;
    for (int k = 0; k < kKeys; k++) {
      auto r = index.Query("T", KeyName(k), 1'000'000, kAllTime, kNoLimit);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      std::set<int64_t> found(r->begin(), r->end());
      EXPECT_EQ(found.size(), r->size()) << "an offset came back twice";
      auto added = model.added.find(k);
      for (int64_t offset : *r) {
        EXPECT_TRUE(added != model.added.end() && added->second.count(offset) == 1)
            << "offset " << offset << " was never added for " << KeyName(k);
      }
      auto flushed = model.flushed.find(k);
      if (flushed == model.flushed.end()) continue;
      for (int64_t offset : flushed->second) {
        EXPECT_EQ(found.count(offset), 1u)
            << "flushed offset " << offset << " of " << KeyName(k) << " is lost";
        last_flushed = std::max(last_flushed, offset);
      }
    }
    EXPECT_GE(index.last_commit_log_offset(), last_flushed);
  }

  std::unique_ptr<sim::World> world_;
  std::function<void(io::Env&)> phase_;
  bool done_ = false;
};

TEST_F(IndexCrashTest, FlushedEntriesSurviveEveryCrashMode) {
  // Proves that after Flush returns OK every entry it covered is found after a crash in each mode,
  // even when the crash hits a later Flush half way (slow disk) and tears what it wrote.
  sim::DiskFaults slow;
  slow.write_latency_min = 100us;
  slow.write_latency_max = 2ms;
  slow.sync_latency_min = 1ms;
  slow.sync_latency_max = 5ms;
  for (sim::CrashMode mode :
       {sim::CrashMode::kDrop, sim::CrashMode::kKeep, sim::CrashMode::kTear}) {
    for (uint64_t seed = 1; seed <= 4; seed++) {
      SCOPED_TRACE(std::string(sim::CrashModeName(mode)) + " seed " + std::to_string(seed));
      MakeWorld(seed, slow);
      Model model;
      RunPhaseFor(
          [&](io::Env& env) {
            IndexService index(env.disk, "index", kWideSlots, 6);
            ASSERT_TRUE(index.Load(kNoLimit).ok());
            for (int i = 0; i < 23; i++) model.Add(index, i % kKeys);
            ASSERT_TRUE(index.Flush().ok());
            model.Flushed();
            for (int i = 0; i < 11; i++) model.Add(index, (i * 3) % kKeys);
            ASSERT_TRUE(index.Flush().ok());  // the crash may come first
            model.Flushed();
            env.scheduler.Sleep(1h);
          },
          std::chrono::milliseconds(20 + 7 * seed));
      world_->Crash(0, mode);
      RunPhase([&](io::Env& env) { LoadAndCheck(env, model, kWideSlots, 6); });
    }
  }
}

TEST_F(IndexCrashTest, TornCrashesAtRandomTimesNeverReturnForeignOffsets) {
  // Proves that over many crashes at random moments of a busy add/flush loop (torn sectors, files
  // half created) Load always succeeds, returns only offsets added for the key, keeps everything
  // flushed, and the index keeps working across incarnations.
  sim::DiskFaults slow;
  slow.write_latency_min = 50us;
  slow.write_latency_max = 1ms;
  slow.sync_latency_min = 500us;
  slow.sync_latency_max = 3ms;
  uint64_t torn = 0;
  for (uint64_t seed = 1; seed <= 12; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    MakeWorld(seed, slow);
    Model model;
    for (int round = 0; round < 4; round++) {
      auto busy = [&](io::Env& env) {
        IndexService index(env.disk, "index", kWideSlots, 40);
        ASSERT_TRUE(index.Load(kNoLimit).ok());
        model.pending.clear();  // what the last incarnation had not flushed is gone or kept
        model.next_offset = std::max(model.next_offset, index.last_commit_log_offset() + 1);
        for (int step = 0;; step++) {
          int n = 1 + step % 4;
          for (int i = 0; i < n; i++) model.Add(index, (step + i) % kKeys);
          if (index.Flush().ok()) model.Flushed();
          env.scheduler.Sleep(1ms);
        }
      };
      RunPhaseFor(busy, std::chrono::microseconds(2000 + rng() % 300'000));
      world_->Crash(0, sim::CrashMode::kTear);
      RunPhase([&](io::Env& env) { LoadAndCheck(env, model, kWideSlots, 40); });
      world_->Crash(0, sim::CrashMode::kDrop);
    }
    torn += world_->disk(0).stats().torn_sectors_dropped;
  }
  EXPECT_GT(torn, 0u) << "no crash tore a write: the torn case went untested";
}

TEST_F(IndexCrashTest, FailedSyncsThenAFlushKeepEverything) {
  // Proves a failed sync at any step of Flush (entries, slot table, header, directory) loses
  // nothing once a later Flush succeeds, even through a crash that drops all unsynced data.
  uint64_t failed_syncs = 0;
  for (uint64_t seed = 1; seed <= 6; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    MakeWorld(seed);
    Model model;
    RunPhase([&](io::Env& env) {
      IndexService index(env.disk, "index", 3, 4);
      ASSERT_TRUE(index.Load(kNoLimit).ok());
      sim::DiskFaults faulty;
      faulty.sync_error_probability = seed == 1 ? 1.0 : 0.5;
      world_->disk(0).set_faults(faulty);
      int failures = 0;
      for (int i = 0; i < 20; i++) {
        model.Add(index, i % kKeys);
        model.Add(index, (i + 3) % kKeys);
        if (index.Flush().ok()) {
          model.Flushed();
        } else {
          failures++;
        }
        // Whatever the disk did, queries answer from memory and files alike.
        auto r = index.Query("T", KeyName(i % kKeys), 1000, kAllTime, kNoLimit);
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r->size(), model.added[i % kKeys].size());
      }
      EXPECT_GT(failures, 0);
      world_->disk(0).set_faults(sim::DiskFaults{});
      ASSERT_TRUE(index.Flush().ok());
      model.Flushed();
    });
    failed_syncs += world_->disk(0).stats().failed_syncs;
    world_->Crash(0, sim::CrashMode::kDrop);
    RunPhase([&](io::Env& env) { LoadAndCheck(env, model, 3, 4); });
  }
  EXPECT_GT(failed_syncs, 10u);
}

// Writes 4 entries of one key with 1 slot and entries_max 4: file 0 is sealed with entries
// 1..3 (offsets 0, 10, 20, chain 3 -> 2 -> 1), file 1 is active with entry 1 (offset 30).
void WriteFourEntries(io::Env& env) {
  IndexService index(env.disk, "index", 1, 4);
  ASSERT_TRUE(index.Load(kNoLimit).ok());
  for (int i = 0; i < 4; i++) index.Add("T", "k", 10 * i, 1'000'000);
  ASSERT_TRUE(index.Flush().ok());
  ASSERT_EQ(index.sealed_file_count(), 1u);
}

TEST_F(IndexCrashTest, BrokenChainInSealedFileEndsTheWalk) {
  // Proves a prevIndex that points forward (here at its own successor, a loop) in a sealed file
  // ends the chain instead of looping or reading out of range.
  MakeWorld(1);
  RunPhase(WriteFourEntries);
  // Entry 2 of file 0 lies at 40 + 4 + 2 * 20; its prevIndex (1) ends at byte 103: 1 -> 3.
  ASSERT_TRUE(world_->disk(0).FlipBit("index/00000000000000000000", 103, 1).ok());
  world_->Crash(0, sim::CrashMode::kDrop);
  RunPhase([](io::Env& env) {
    IndexService index(env.disk, "index", 1, 4);
    ASSERT_TRUE(index.Load(kNoLimit).ok());
    auto r = index.Query("T", "k", 100, kAllTime, kNoLimit);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, (std::vector<int64_t>{30, 20, 10}));
  });
}

TEST_F(IndexCrashTest, BadEntryInActiveFileCutsItThere) {
  // Proves Load checks the active file's entries and cuts the file at the first that Add could
  // not have written, so the store re-dispatches from there.
  MakeWorld(1);
  RunPhase([](io::Env& env) {
    IndexService index(env.disk, "index", 1, 8);
    ASSERT_TRUE(index.Load(kNoLimit).ok());
    for (int i = 0; i < 5; i++) index.Add("T", "k", 10 * i, 1'000'000);
    ASSERT_TRUE(index.Flush().ok());
  });
  // Entry 3's prevIndex (2) ends at 40 + 4 + 3 * 20 + 19 = 123: 2 -> 0.
  ASSERT_TRUE(world_->disk(0).FlipBit("index/00000000000000000000", 123, 1).ok());
  world_->Crash(0, sim::CrashMode::kDrop);
  RunPhase([](io::Env& env) {
    IndexService index(env.disk, "index", 1, 8);
    ASSERT_TRUE(index.Load(kNoLimit).ok());
    EXPECT_EQ(index.last_commit_log_offset(), 10);
    auto r = index.Query("T", "k", 100, kAllTime, kNoLimit);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, (std::vector<int64_t>{10, 0}));
    index.Add("T", "k", 20, 1'000'000);
    ASSERT_TRUE(index.Flush().ok());
  });
}

TEST_F(IndexCrashTest, RandomBitFlipsNeverCrashOrHang) {
  // Proves Load and Query survive random corruption of every index file: each either answers
  // (at most max_count offsets) or reports an error, and always returns.
  int answered = 0;
  for (uint64_t seed = 1; seed <= 10; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    MakeWorld(seed);
    Model model;
    RunPhase([&](io::Env& env) {
      IndexService index(env.disk, "index", 3, 9);
      ASSERT_TRUE(index.Load(kNoLimit).ok());
      for (int i = 0; i < 40; i++) model.Add(index, i % kKeys);
      ASSERT_TRUE(index.Flush().ok());
    });
    for (uint64_t i = 0; i < 2 + seed; i++) ASSERT_TRUE(world_->disk(0).FlipRandomBit().ok());
    world_->Crash(0, sim::CrashMode::kDrop);
    RunPhase([&](io::Env& env) {
      IndexService index(env.disk, "index", 3, 9);
      if (!index.Load(kNoLimit).ok()) return;  // kCorruption of a sealed file is allowed
      for (int k = 0; k < kKeys; k++) {
        auto r = index.Query("T", KeyName(k), 5, kAllTime, kNoLimit);
        if (r.ok()) {
          EXPECT_LE(r->size(), 5u);
          answered++;
        }
      }
    });
  }
  EXPECT_GT(answered, 0) << "no corrupt index ever loaded: the query path went untested";
}

}  // namespace
}  // namespace apogee::store
