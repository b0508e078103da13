#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "core/io/posix/posix_env.h"
#include "core/io/posix/signals.h"

namespace apogee::io {
namespace {

// A SIGTERM sent to the node's thread wakes the fiber waiting for it, which can then shut down
// as ordinary fiber code; the process is not terminated.
TEST(SignalWaiterTest, DeliversSigtermToAWaitingFiber) {
  BlockTerminationSignals();
  std::string root = (std::filesystem::temp_directory_path() / "apogee-signals").string();
  PosixEnv node("n1", root);
  int got = 0;
  bool before_signal = true;
  node.env().scheduler.Spawn("waiter", [&] {
    Result<std::unique_ptr<SignalWaiter>> waiter = SignalWaiter::Open(node.reactor());
    ASSERT_TRUE(waiter.ok()) << waiter.status().ToString();
    node.env().scheduler.Spawn("sender", [&] {
      node.env().scheduler.Sleep(std::chrono::milliseconds(20));
      before_signal = false;
      pthread_kill(pthread_self(), SIGTERM);
    });
    got = (*waiter)->WaitForSignal();
    EXPECT_FALSE(before_signal) << "woke before the signal was sent";
  });
  node.Run();
  EXPECT_EQ(got, SIGTERM);
}

TEST(ReadTextFileTest, ReadsAFileAndNamesAMissingOne) {
  std::filesystem::path p = std::filesystem::temp_directory_path() / "apogee-read-text.conf";
  {
    std::ofstream out(p);
    out << "brokerName=broker-a\nlistenPort=10911\n";
  }
  Result<std::string> text = ReadTextFile(p.string());
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, "brokerName=broker-a\nlistenPort=10911\n");
  std::filesystem::remove(p);
  Result<std::string> missing = ReadTextFile(p.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find(p.string()), std::string::npos);
}

}  // namespace
}  // namespace apogee::io
