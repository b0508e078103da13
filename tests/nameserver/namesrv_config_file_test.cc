// ParseNamesrvConfig reads an operator's namesrv.conf: listenPort (and RocketMQ 5's scan
// interval) applied, RocketMQ's other nameserver keys and unknown keys warned about with their
// lines, bad values refused naming line, key and value; and the mqnamesrv command line.

#include "core/nameserver/namesrv_config_file.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace apogee::nameserver {
namespace {

const NamesrvConfig kDefaults;

NamesrvConfigLoad Parse(std::string_view text) {
  Result<NamesrvConfigLoad> r = ParseNamesrvConfig(text, kDefaults);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return NamesrvConfigLoad{};
  return std::move(r).value();
}

TEST(NamesrvConfigFileTest, RealisticFile) {
  // Proves a typical namesrv.conf sets the port and reports the keys Apogee does not use.
  NamesrvConfigLoad load = Parse(
      "# name server of ProdCluster\r\n"
      "rocketmqHome=/opt/rocketmq\r\n"
      "kvConfigPath=/data/namesrv/kvConfig.json\r\n"
      "listenPort = 9877\r\n"
      "orderMessageEnable=true\r\n"
      "serverWorkerThreads=16\r\n"
      "fooBar=1\r\n");
  EXPECT_EQ(load.config.listen.port, 9877);
  EXPECT_EQ(load.config.listen.host, "0.0.0.0");
  EXPECT_EQ(load.config.scan_interval, std::chrono::seconds(10));
  EXPECT_EQ(load.warnings, (std::vector<std::string>{
                               "line 2: key 'rocketmqHome' ignored (not supported)",
                               "line 3: key 'kvConfigPath' ignored (not supported)",
                               "line 5: key 'orderMessageEnable' ignored (not supported)",
                               "line 6: key 'serverWorkerThreads' ignored (not supported)",
                               "line 7: unknown key 'fooBar' ignored",
                           }));
}

TEST(NamesrvConfigFileTest, ScanIntervalAndDuplicates) {
  // Proves scanNotActiveBrokerInterval is read in ms and a repeated key warns, later winning.
  NamesrvConfigLoad load = Parse("listenPort=1\nscanNotActiveBrokerInterval=5000\nlistenPort=2\n");
  EXPECT_EQ(load.config.listen.port, 2);
  EXPECT_EQ(load.config.scan_interval, std::chrono::seconds(5));
  EXPECT_EQ(load.warnings,
            (std::vector<std::string>{"line 3: 'listenPort' set again, replacing line 1"}));
}

TEST(NamesrvConfigFileTest, BadValuesNameLineKeyAndValue) {
  // Proves bad values of mapped keys and malformed text are errors naming the line.
  auto error = [](std::string_view text) {
    Result<NamesrvConfigLoad> r = ParseNamesrvConfig(text, kDefaults);
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(error("\nlistenPort=abc\n"), "line 2: bad value 'abc' for listenPort: not an integer");
  EXPECT_EQ(error("listenPort=0\n"),
            "line 1: bad value '0' for listenPort: out of range [1, 65535]");
  EXPECT_EQ(error("scanNotActiveBrokerInterval=0\n").rfind("line 1: bad value '0'", 0), 0u);
  EXPECT_EQ(error("a=1\nb=\\uZZZZ\n"), "line 2: malformed \\uXXXX escape");
}

TEST(NamesrvConfigFileTest, RenderReadsBack) {
  // Proves -p output reads back to the same config, without warnings.
  NamesrvConfig c;
  c.listen.port = 19876;
  c.scan_interval = std::chrono::milliseconds(2500);
  std::string text = RenderNamesrvConfig(c);
  NamesrvConfigLoad load = Parse(text);
  EXPECT_EQ(load.config.listen.port, 19876);
  EXPECT_EQ(load.config.scan_interval, std::chrono::milliseconds(2500));
  EXPECT_TRUE(load.warnings.empty());
  EXPECT_EQ(RenderNamesrvConfig(load.config), text);
}

TEST(NamesrvArgsTest, FormsAndMistakes) {
  // Proves the -c spellings and flags are read, and mistakes are errors carrying the usage.
  for (const auto& args : std::vector<std::vector<std::string>>{{"-c", "namesrv.conf"},
                                                                {"-cnamesrv.conf"},
                                                                {"--configFile", "namesrv.conf"},
                                                                {"--config=namesrv.conf"}}) {
    Result<NamesrvCommandLine> cl = ParseNamesrvArgs(args);
    ASSERT_TRUE(cl.ok()) << cl.status().ToString();
    EXPECT_EQ(cl->config_file, "namesrv.conf");
  }
  Result<NamesrvCommandLine> flags = ParseNamesrvArgs({"-p", "--help"});
  ASSERT_TRUE(flags.ok());
  EXPECT_TRUE(flags->print_config);
  EXPECT_TRUE(flags->help);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"-m"}, {"-n", "a:9876"}, {"-c"}, {"-h", "-h"}, {"extra"}, {"--printConfigItem=1"}}) {
    Result<NamesrvCommandLine> cl = ParseNamesrvArgs(args);
    ASSERT_FALSE(cl.ok()) << args[0];
    EXPECT_NE(cl.status().message().find("usage: apogee-namesrv"), std::string::npos);
  }
}

}  // namespace
}  // namespace apogee::nameserver
