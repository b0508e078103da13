// The store over real files in a real process killed with SIGKILL in the middle of its puts:
// after reopening, every put the child saw acknowledged under SYNC_FLUSH is there and intact,
// the log is a gapless prefix, and nothing corrupt is served.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/base/log.h"
#include "core/io/posix/posix_env.h"
#include "core/store/message_store.h"
#include "tests/store/message_store_test_util.h"

namespace apogee::store {
namespace {

using namespace std::chrono_literals;

StoreConfig KillConfig() {
  StoreConfig c = testing::SmallStoreConfig(FlushType::kSync);
  c.segment_bytes = 64u << 10;
  c.sync_flush_timeout = 5s;
  return c;
}

// The child: puts messages numbered from `first` for ever, writing each acknowledged number to
// `ack_fd`.
[[noreturn]] void PutUntilKilled(const std::string& dir, int ack_fd, int first) {
  SetLogLevel(LogLevel::kError);
  io::PosixEnv::RunMain("child", dir, [&](io::Env& env) {
    auto store = MessageStore::Open(env, KillConfig());
    if (!store.ok()) _exit(3);
    for (int i = first;; i++) {
      PutResult r = (*store)->Put(testing::Numbered(i, 300, i % 3).view());
      if (!r.ok()) _exit(4);
      if (write(ack_fd, &i, sizeof i) != static_cast<ssize_t>(sizeof i)) _exit(5);
    }
  });
  _exit(6);
}

TEST(StoreKillTest, AcknowledgedSyncPutsSurviveSigkill) {
  // Proves that SIGKILL at an arbitrary moment loses no acknowledged SYNC_FLUSH put and leaves
  // a store that recovers to a valid, gapless log, three kills in a row on the same files.
  std::string dir = (std::filesystem::temp_directory_path() / "apogee-kill-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  std::set<int> acked;
  for (int round = 0; round < 3; round++) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      PutUntilKilled(dir, fds[1], 100'000 * round);
    }
    close(fds[1]);
    // Kill after a different number of acknowledgements each round, mid-stream.
    int want = 150 + 97 * round;
    int seen = 0;
    int index = 0;
    while (seen < want &&
           read(fds[0], &index, sizeof index) == static_cast<ssize_t>(sizeof index)) {
      acked.insert(index);
      seen++;
    }
    ASSERT_EQ(kill(child, SIGKILL), 0);
    // Acknowledgements already in the pipe were acknowledged before the kill: count them too.
    while (read(fds[0], &index, sizeof index) == static_cast<ssize_t>(sizeof index)) {
      acked.insert(index);
    }
    close(fds[0]);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child ended on its own with status " << status;
    ASSERT_GE(seen, want);

    // Reopen and check: every acknowledged put of every round is there; records decode.
    std::vector<std::string> failures;
    int rc = io::PosixEnv::RunMain("check", dir, [&](io::Env& env) {
      auto opened = MessageStore::Open(env, KillConfig());
      if (!opened.ok()) {
        failures.push_back("reopen failed: " + opened.status().ToString());
        return;
      }
      MessageStore& store = **opened;
      if (store.recovery().clean_shutdown) failures.push_back("a kill was taken for a clean stop");
      std::set<std::string> bodies;
      for (int32_t q = 0; q < 3; q++) {
        int64_t offset = store.MinOffset("T", q);
        int64_t max = store.MaxOffset("T", q);
        while (offset >= 0 && offset < max) {
          GetResult g = store.Get("T", q, offset, 64, 1u << 20);
          if (g.status != GetStatus::kFound || g.corrupt_skipped != 0) {
            failures.push_back(
                fmt::format("queue {} at {}: {}", q, offset, GetStatusName(g.status)));
            break;
          }
          for (size_t k = 0; k < g.messages.size(); k++) {
            testing::Decoded d = testing::DecodeMessage(g, k);
            if (!d.valid) failures.push_back("served an invalid record: " + d.error);
            if (!bodies.insert(d.body).second) failures.push_back("a record appears twice");
          }
          offset = g.next_begin_offset;
        }
      }
      for (int i : acked) {
        if (!bodies.contains(testing::Numbered(i, 300, i % 3).body)) {
          failures.push_back(fmt::format("acknowledged put {} lost", i));
        }
      }
      if (!store.Shutdown().ok()) failures.push_back("shutdown after the check failed");
    });
    EXPECT_EQ(rc, 0);
    for (const std::string& f : failures) ADD_FAILURE() << f;
    if (!failures.empty()) break;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace apogee::store
