// Store benchmarks over real files (the POSIX backend, a fresh directory under $TMPDIR or /tmp).
//
//   BM_CommitLogAppendAsync/<body bytes>  MessageStore::Put under ASYNC_FLUSH: validation, queue
//                                         lookup, encoding with both CRCs, dispatch to the consume
//                                         queue and the index (every message has a UNIQ_KEY).
//                                         Items = messages.
//   BM_CommitLogGroupCommit/<writers>     SYNC_FLUSH puts from N fibers at once; one iteration is
//                                         one put by each writer, all waiting for their sync.
//                                         Items = messages.
//   BM_RawFsync                           pwrite of 4 KiB + fdatasync on a plain file, no store:
//                                         the device's floor for one synchronous put.
//   BM_RecoveryScan                       CommitLog::Recover over a 256 MiB log in the page cache,
//                                         validating every record. Bytes = log bytes scanned.
//   BM_StoreResidentMemory                puts 4 GiB of 1 KiB messages and samples the process's
//                                         resident set after every 256 MiB: it must stay flat.

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/base/log.h"
#include "core/io/posix/posix_env.h"
#include "core/io/sync.h"
#include "core/store/commit_log.h"
#include "core/store/message_store.h"

namespace apogee {
namespace {

using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "apogee-bench-store-XXXXXX").string();
    if (mkdtemp(t.data()) == nullptr) std::abort();
    path_ = t;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs `body` as the main fiber of a POSIX node over a fresh directory.
void OnPosix(const std::function<void(io::Env&)>& body) {
  SetLogLevel(LogLevel::kWarn);  // opens and shutdowns would flood the report
  TempDir dir;
  if (io::PosixEnv::RunMain("bench", dir.path(), body) != 0) std::abort();
}

store::StoreConfig BenchConfig(store::FlushType type) {
  store::StoreConfig c;
  c.flush_type = type;
  c.segment_bytes = 256u << 20;
  c.delete_when_hour = -1;
  return c;
}

struct BenchMessage {
  std::string body;
  std::string props;
  store::MessageToStore view(int32_t queue) const {
    store::MessageToStore m;
    m.topic = "BenchTopic";
    m.queue_id = queue;
    m.body = std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size());
    m.properties = props;
    m.born_timestamp_ms = 1'700'000'000'000;
    return m;
  }
};

BenchMessage MakeMessage(size_t body_bytes) {
  BenchMessage m;
  m.body.assign(body_bytes, 'x');
  // A producer's UNIQ_KEY (32 hex digits) and a tag, as real clients send.
  m.props =
      "TAGS\x01TagA\x02UNIQ_KEY\x01"
      "0A0000017F1C18B4AAC2000000000000";
  return m;
}

void BM_CommitLogAppendAsync(benchmark::State& state) {
  const size_t body_bytes = static_cast<size_t>(state.range(0));
  OnPosix([&](io::Env& env) {
    auto opened = store::MessageStore::Open(env, BenchConfig(store::FlushType::kAsync));
    if (!opened.ok()) {
      state.SkipWithError(opened.status().ToString().c_str());
      return;
    }
    auto store = *opened;
    BenchMessage msg = MakeMessage(body_bytes);
    int32_t queue = 0;
    for (auto _ : state) {
      store::PutResult r = store->Put(msg.view(queue));
      if (!r.ok()) {
        state.SkipWithError(r.error.c_str());
        break;
      }
      queue = (queue + 1) & 7;
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["resident_MiB"] = static_cast<double>(store->memory_bytes()) / (1 << 20);
    store->Shutdown().IgnoreError();
  });
}
BENCHMARK(BM_CommitLogAppendAsync)->Arg(100)->Arg(1024)->UseRealTime();

void BM_CommitLogGroupCommit(benchmark::State& state) {
  const int writers = static_cast<int>(state.range(0));
  OnPosix([&](io::Env& env) {
    auto opened = store::MessageStore::Open(env, BenchConfig(store::FlushType::kSync));
    if (!opened.ok()) {
      state.SkipWithError(opened.status().ToString().c_str());
      return;
    }
    auto store = *opened;
    BenchMessage msg = MakeMessage(100);
    io::Runtime& rt = env.scheduler.runtime();
    // Each round releases every writer once; the round ends when all have their sync.
    io::Channel<int> start(rt, 0);
    io::Channel<bool> done(rt, 0);
    std::vector<io::FiberHandle> fibers;
    for (int w = 0; w < writers; w++) {
      fibers.push_back(env.scheduler.Spawn("writer", [&, w] {
        while (start.Recv().ok()) {
          done.Send(store->Put(msg.view(w & 7)).ok()).IgnoreError();
        }
      }));
    }
    for (auto _ : state) {
      for (int w = 0; w < writers; w++) start.Send(w).IgnoreError();
      for (int w = 0; w < writers; w++) {
        auto ok = done.Recv();
        if (!ok.ok() || !*ok) {
          state.SkipWithError("sync put failed");
          break;
        }
      }
    }
    start.Close();
    for (auto& f : fibers) f.Join();
    state.SetItemsProcessed(state.iterations() * writers);
    state.counters["syncs_per_round"] =
        benchmark::Counter(static_cast<double>(store->commit_log().stats().syncs) /
                           static_cast<double>(std::max<int64_t>(1, state.iterations())));
    store->Shutdown().IgnoreError();
  });
}
BENCHMARK(BM_CommitLogGroupCommit)->Arg(1)->Arg(16)->Arg(64)->UseRealTime();

void BM_RawFsync(benchmark::State& state) {
  TempDir dir;
  std::string path = dir.path() + "/raw";
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) {
    state.SkipWithError("open failed");
    return;
  }
  std::vector<char> page(4096, 'r');
  off_t at = 0;
  for (auto _ : state) {
    if (pwrite(fd, page.data(), page.size(), at) != static_cast<ssize_t>(page.size()) ||
        fdatasync(fd) != 0) {
      state.SkipWithError("write or sync failed");
      break;
    }
    at += static_cast<off_t>(page.size());
  }
  close(fd);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawFsync)->UseRealTime();

void BM_RecoveryScan(benchmark::State& state) {
  SetLogLevel(LogLevel::kWarn);
  TempDir dir;
  constexpr uint64_t kLogBytes = 256u << 20;
  store::StoreConfig config = BenchConfig(store::FlushType::kAsync);
  config.segment_bytes = 64u << 20;
  // Build the log once: 1 KiB messages (real files, written through the store).
  int rc = io::PosixEnv::RunMain("bench", dir.path(), [&](io::Env& env) {
    auto store = store::MessageStore::Open(env, config);
    if (!store.ok()) return;
    BenchMessage msg = MakeMessage(1024);
    while ((*store)->commit_log().write_offset() < static_cast<int64_t>(kLogBytes)) {
      if (!(*store)->Put(msg.view(0)).ok()) break;
    }
    (*store)->Shutdown().IgnoreError();
  });
  if (rc != 0) {
    state.SkipWithError("building the log failed");
    return;
  }
  uint64_t scanned = 0;
  for (auto _ : state) {
    io::PosixEnv::RunMain("bench", dir.path(), [&](io::Env& env) {
      auto log = std::make_shared<store::CommitLog>(env, config);
      uint64_t records = 0;
      auto report = log->Recover(0, [&](const store::RecordView&) { records++; });
      if (!report.ok()) {
        state.SkipWithError(report.status().ToString().c_str());
      } else {
        scanned += static_cast<uint64_t>(report->end_offset);
        benchmark::DoNotOptimize(records);
      }
      log->Shutdown().IgnoreError();
    });
  }
  state.SetBytesProcessed(static_cast<int64_t>(scanned));
}
BENCHMARK(BM_RecoveryScan)->Unit(benchmark::kMillisecond)->UseRealTime();

// The process's resident set in bytes (/proc/self/statm, second field, in pages).
double ResidentBytes() {
  long pages = 0;
  if (FILE* f = fopen("/proc/self/statm", "r")) {
    long size = 0;
    if (fscanf(f, "%ld %ld", &size, &pages) != 2) pages = 0;
    fclose(f);
  }
  return static_cast<double>(pages) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

void BM_StoreResidentMemory(benchmark::State& state) {
  constexpr int64_t kLogBytes = int64_t{4} << 30;
  constexpr int64_t kSampleEvery = int64_t{256} << 20;
  for (auto _ : state) {
    OnPosix([&](io::Env& env) {
      store::StoreConfig config = BenchConfig(store::FlushType::kAsync);
      config.segment_bytes = 1u << 30;  // the default
      auto opened = store::MessageStore::Open(env, config);
      if (!opened.ok()) {
        state.SkipWithError(opened.status().ToString().c_str());
        return;
      }
      auto store = *opened;
      BenchMessage msg = MakeMessage(1024);
      double first_sample = 0;
      double max_rss = 0;
      double max_store = 0;
      int64_t next_sample = kSampleEvery;
      int32_t queue = 0;
      while (store->commit_log().write_offset() < kLogBytes) {
        if (!store->Put(msg.view(queue)).ok()) {
          state.SkipWithError("put failed");
          break;
        }
        queue = (queue + 1) & 7;
        if (store->commit_log().write_offset() >= next_sample) {
          double rss = ResidentBytes();
          if (first_sample == 0) first_sample = rss;
          max_rss = std::max(max_rss, rss);
          max_store = std::max(max_store, static_cast<double>(store->memory_bytes()));
          next_sample += kSampleEvery;
        }
      }
      state.counters["log_GiB"] =
          static_cast<double>(store->commit_log().write_offset()) / (1 << 30);
      state.counters["rss_at_256MiB_MiB"] = first_sample / (1 << 20);
      state.counters["rss_max_MiB"] = max_rss / (1 << 20);
      state.counters["store_memory_max_MiB"] = max_store / (1 << 20);
      store->Shutdown().IgnoreError();
    });
  }
}
BENCHMARK(BM_StoreResidentMemory)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace
}  // namespace apogee
