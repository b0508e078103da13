#include "core/base/log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base/assert.h"

namespace apogee {
namespace {

// The sink is a plain function pointer, so captured lines go to a file-level buffer.
std::vector<std::pair<LogLevel, std::string>>& Captured() {
  static std::vector<std::pair<LogLevel, std::string>> lines;
  return lines;
}

void CaptureSink(LogLevel level, std::string_view line) {
  Captured().emplace_back(level, std::string(line));
}

int64_t FixedTime(const void* arg) { return *static_cast<const int64_t*>(arg); }

// Installs the capturing sink and a known diagnostic context, and restores the defaults after,
// so tests do not leak settings into each other.
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Captured().clear();
    saved_diag_ = CurrentDiag();
    saved_level_ = GetLogLevel();
    SetLogSink(&CaptureSink);
    DiagContext& d = CurrentDiag();
    d.node = "node2";
    d.now_ns = &FixedTime;
    d.now_arg = &now_ns_;
    d.has_seed = true;
    d.seed = 7;
  }
  void TearDown() override {
    SetLogSink(nullptr);
    SetLogLevel(saved_level_);
    CurrentDiag() = saved_diag_;
  }

  int64_t now_ns_ = 1'250'000'000;  // 1.25 s
  DiagContext saved_diag_;
  LogLevel saved_level_ = LogLevel::kInfo;
};

TEST_F(LogTest, LineCarriesLevelNodeTimeAndSeed) {
  // Proves a log line is "<level letter> <node> t=<s.ns>s seed=<seed>] <message>", with the
  // context taken from DiagContext at the moment of logging.
  SetLogLevel(LogLevel::kDebug);
  LOG_INFO("accepted connection from {}:{}", "10.0.0.1", 40001);
  now_ns_ = 3'000'000'007;
  CurrentDiag().node = "broker-a";
  LOG_ERROR("disk {}", "full");
  ASSERT_EQ(Captured().size(), 2u);
  EXPECT_EQ(Captured()[0].first, LogLevel::kInfo);
  EXPECT_EQ(Captured()[0].second,
            "I node2 t=1.250000000s seed=7] accepted connection from 10.0.0.1:40001");
  EXPECT_EQ(Captured()[1].first, LogLevel::kError);
  EXPECT_EQ(Captured()[1].second, "E broker-a t=3.000000007s seed=7] disk full");
}

TEST_F(LogTest, EachLevelHasItsLetter) {
  // Proves the level letters D, I, W, E.
  SetLogLevel(LogLevel::kDebug);
  LOG_DEBUG("d");
  LOG_INFO("i");
  LOG_WARN("w");
  LOG_ERROR("e");
  ASSERT_EQ(Captured().size(), 4u);
  const char kLetters[] = {'D', 'I', 'W', 'E'};
  for (size_t i = 0; i < 4; i++) EXPECT_EQ(Captured()[i].second[0], kLetters[i]) << i;
}

TEST_F(LogTest, PrefixWithoutClockOrSeed) {
  // Proves the time and seed parts are left out when the context does not know them, and the
  // node defaults to "-".
  CurrentDiag() = DiagContext{};
  LOG_WARN("plain");
  ASSERT_EQ(Captured().size(), 1u);
  EXPECT_EQ(Captured()[0].second, "W -] plain");
}

int evaluations = 0;
int Expensive() {
  evaluations++;
  return 1;
}

TEST_F(LogTest, LevelFilteringDropsLinesAndSkipsFormatting) {
  // Proves lines below the level are neither delivered nor formatted (their arguments are not
  // evaluated), and lines at or above it are delivered.
  SetLogLevel(LogLevel::kWarn);
  evaluations = 0;
  LOG_DEBUG("debug {}", Expensive());
  LOG_INFO("info {}", Expensive());
  EXPECT_TRUE(Captured().empty());
  EXPECT_EQ(evaluations, 0);
  LOG_WARN("warn {}", Expensive());
  LOG_ERROR("error {}", Expensive());
  EXPECT_EQ(evaluations, 2);
  ASSERT_EQ(Captured().size(), 2u);
  EXPECT_EQ(Captured()[0].first, LogLevel::kWarn);
  EXPECT_EQ(Captured()[1].first, LogLevel::kError);
}

TEST_F(LogTest, OffSilencesEverything) {
  // Proves level kOff drops even errors.
  SetLogLevel(LogLevel::kOff);
  LOG_ERROR("nobody hears this");
  EXPECT_TRUE(Captured().empty());
}

TEST(LogLevelTest, ParsesNamesAndRejectsOthers) {
  // Proves ParseLogLevel accepts the five level names and leaves the output alone on a typo.
  LogLevel level = LogLevel::kInfo;
  EXPECT_TRUE(ParseLogLevel("debug", &level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_TRUE(ParseLogLevel("warn", &level));
  EXPECT_EQ(level, LogLevel::kWarn);
  EXPECT_TRUE(ParseLogLevel("error", &level));
  EXPECT_EQ(level, LogLevel::kError);
  EXPECT_TRUE(ParseLogLevel("off", &level));
  EXPECT_EQ(level, LogLevel::kOff);
  EXPECT_TRUE(ParseLogLevel("info", &level));
  EXPECT_EQ(level, LogLevel::kInfo);
  EXPECT_FALSE(ParseLogLevel("INFO", &level));
  EXPECT_FALSE(ParseLogLevel("verbose", &level));
  EXPECT_EQ(level, LogLevel::kInfo);
}

}  // namespace
}  // namespace apogee
