// ParseBrokerConfig reads an operator's RocketMQ broker.conf into a BrokerConfig: mapped keys
// with RocketMQ's units, warnings (with lines) for unused, unknown and repeated keys and for
// values Apogee cannot honour, and errors naming line, key and value for bad values. Also the
// mqbroker command line, the -n override, and the -p / -m rendering read back.

#include "core/broker/broker_config_file.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace apogee::broker {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The master of broker-a in a two-master, two-slave, asynchronous-replication cluster, as
// operators write it (comments, blank lines, the 4.x "maped" spelling, thread-pool tuning).
constexpr std::string_view kMasterA =
    "# Cluster 2m-2s-async: broker-a, master\n"  // 1
    "brokerClusterName=ProdCluster\n"            // 2
    "brokerName=broker-a\n"                      // 3
    "brokerId=0\n"                               // 4
    "\n"                                         // 5
    "# delete expired files at 4 am, keep 48 h\n"
    "deleteWhen=04\n"        // 7
    "fileReservedTime=48\n"  // 8
    "brokerRole=ASYNC_MASTER\n"
    "flushDiskType=ASYNC_FLUSH\n"
    "namesrvAddr=10.0.0.11:9876;10.0.0.12:9876\n"
    "brokerIP1=10.0.1.21\n"
    "listenPort=10911\n"
    "storePathRootDir=/data/rocketmq/store-a\n"
    "storePathCommitLog=/data/rocketmq/store-a/commitlog\n"
    "autoCreateTopicEnable=false\n"
    "autoCreateSubscriptionGroup=false\n"
    "mapedFileSizeCommitLog=1073741824\n"
    "mapedFileSizeConsumeQueue=6000000\n"
    "diskMaxUsedSpaceRatio=88\n"
    "maxMessageSize=65536\n"
    "sendMessageThreadPoolNums=128\n"        // 22
    "useReentrantLockWhenPutMessage=true\n"  // 23
    "waitTimeMillsInSendQueue=300\n";        // 24

// The defaults, named: GCC 12 warns falsely (maybe-uninitialized) about BrokerConfig{}
// temporaries passed by value.
const BrokerConfig kDefaults;

BrokerConfigLoad Parse(std::string_view text, const BrokerConfig& base = kDefaults) {
  Result<BrokerConfigLoad> r = ParseBrokerConfig(text, base);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return BrokerConfigLoad{};
  return std::move(r).value();
}

std::string ErrorOf(std::string_view text) {
  Result<BrokerConfigLoad> r = ParseBrokerConfig(text, kDefaults);
  EXPECT_FALSE(r.ok()) << "accepted: " << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.code(), ErrorCode::kInvalidArgument);
  return r.status().message();
}

TEST(BrokerConfigFileTest, RealisticMasterFile) {
  // Proves a typical master broker.conf lands in every field it names, with warnings only for
  // the keys Apogee does not use and the deleteWhen time zone.
  BrokerConfigLoad load = Parse(kMasterA);
  const BrokerConfig& c = load.config;
  EXPECT_EQ(c.cluster_name, "ProdCluster");
  EXPECT_EQ(c.broker_name, "broker-a");
  EXPECT_EQ(c.broker_id, 0);
  EXPECT_EQ(c.store.delete_when_hour, 4);
  EXPECT_EQ(c.store.file_reserved_time, hours(48));
  EXPECT_EQ(c.store.flush_type, store::FlushType::kAsync);
  ASSERT_EQ(c.namesrv_addrs.size(), 2u);
  EXPECT_EQ(c.namesrv_addrs[0], (io::Address{"10.0.0.11", 9876}));
  EXPECT_EQ(c.namesrv_addrs[1], (io::Address{"10.0.0.12", 9876}));
  EXPECT_EQ(c.announce_host, "10.0.1.21");
  EXPECT_EQ(c.store.store_ipv4, 0x0A000115u);
  EXPECT_EQ(c.listen.port, 10911);
  EXPECT_EQ(c.store.store_port, 10911);
  EXPECT_EQ(c.store_root, "/data/rocketmq/store-a");
  EXPECT_FALSE(c.auto_create_topic);
  EXPECT_FALSE(c.auto_create_subscription_group);
  EXPECT_EQ(c.store.segment_bytes, uint64_t{1} << 30);
  EXPECT_EQ(c.store.cq_entries_per_file, 300'000u);
  EXPECT_DOUBLE_EQ(c.store.disk_clean_ratio, 0.88);
  EXPECT_EQ(c.store.message_bytes_max, 65536u);
  EXPECT_EQ(load.warnings,
            (std::vector<std::string>{
                "line 7: deleteWhen hour 04 is read as UTC (RocketMQ uses the host's local time)",
                "line 22: key 'sendMessageThreadPoolNums' ignored (not supported)",
                "line 23: key 'useReentrantLockWhenPutMessage' ignored (not supported)",
                "line 24: key 'waitTimeMillsInSendQueue' ignored (not supported)",
            }));
}

TEST(BrokerConfigFileTest, SlaveFileWarnsAndKeepsItsId) {
  // Proves brokerRole=SLAVE is a warning, the slave keeps its brokerId, and a slave with id 0
  // is refused as mqbroker refuses it.
  BrokerConfigLoad load = Parse("brokerName=broker-a\nbrokerId=1\nbrokerRole=SLAVE\n");
  EXPECT_EQ(load.config.broker_id, 1);
  EXPECT_EQ(load.warnings, (std::vector<std::string>{"line 3: brokerRole SLAVE ignored (not "
                                                     "supported): Apogee serves as a master"}));
  EXPECT_NE(ErrorOf("brokerRole=SLAVE\n").find("brokerId above 0"), std::string::npos);
}

TEST(BrokerConfigFileTest, MasterBrokerIdIsZero) {
  // Proves a master's brokerId is forced to 0, with a warning on the brokerId line.
  BrokerConfigLoad load = Parse("brokerId=2\nbrokerRole=SYNC_MASTER\n");
  EXPECT_EQ(load.config.broker_id, 0);
  ASSERT_EQ(load.warnings.size(), 2u);
  EXPECT_EQ(load.warnings[0], "line 1: brokerId 2 taken as 0: a master's brokerId is 0");
  EXPECT_NE(load.warnings[1].find("line 2: brokerRole SYNC_MASTER"), std::string::npos);
}

TEST(BrokerConfigFileTest, UnknownKeysAreWarnedWithTheirLine) {
  // Proves an unknown key is reported with its line and ignored, and the rest still applies.
  BrokerConfigLoad load = Parse("# c\n\nbrokerName=b\n\n\n\nfooBar=1\nlistenPort=10999\n");
  EXPECT_EQ(load.warnings, (std::vector<std::string>{"line 7: unknown key 'fooBar' ignored"}));
  EXPECT_EQ(load.config.broker_name, "b");
  EXPECT_EQ(load.config.listen.port, 10999);
}

TEST(BrokerConfigFileTest, BadValuesNameLineKeyAndValue) {
  // Proves each bad value of a mapped key is an error naming its line, key and value.
  EXPECT_EQ(ErrorOf("brokerName=a\nlistenPort=abc\n"),
            "line 2: bad value 'abc' for listenPort: not an integer");
  EXPECT_EQ(ErrorOf("flushDiskType=FOO\n"),
            "line 1: bad value 'FOO' for flushDiskType: expected ASYNC_FLUSH or SYNC_FLUSH");
  EXPECT_EQ(ErrorOf("brokerId=-x\n"), "line 1: bad value '-x' for brokerId: not an integer");
  const char* bad[] = {
      "brokerId=-1",
      "listenPort=0",
      "listenPort=70000",
      "brokerRole=MASTER",
      "flushDiskType=async_flush",
      "autoCreateTopicEnable=yes",
      "namesrvAddr=host",
      "namesrvAddr=a:9876;b:x",
      "deleteWhen=25",
      "deleteWhen=",
      "messageDelayLevel=1s 5x",
      "messageDelayLevel=",
      "brokerName=",
      "mapedFileSizeConsumeQueue=0",
      "fileReservedTime=-1",
      "flushIntervalCommitLog=0",
      "maxMessageSize=3000000000",
      "brokerPermission=16",
      "storePathCommitLog=",
      "longPollingEnable=1",
  };
  for (const char* line : bad) {
    std::string text = std::string("# first\n") + line + "\n";
    std::string error = ErrorOf(text);
    std::string key(line, std::string_view(line).find('='));
    EXPECT_EQ(error.rfind("line 2: bad value '", 0), 0u) << error;
    EXPECT_NE(error.find("' for " + key + ":"), std::string::npos) << error;
  }
}

TEST(BrokerConfigFileTest, LaterDuplicateWinsWithAWarning) {
  // Proves the later of two lines for a key wins and the repeat is reported.
  BrokerConfigLoad load = Parse("brokerName=a\nlistenPort=1\nbrokerName=b\n");
  EXPECT_EQ(load.config.broker_name, "b");
  EXPECT_EQ(load.warnings,
            (std::vector<std::string>{"line 3: 'brokerName' set again, replacing line 1"}));
}

TEST(BrokerConfigFileTest, ContinuationCrLfCommentsAndBlanks) {
  // Proves Windows line ends, continued lines, '!' comments and padded separators all read.
  BrokerConfigLoad load = Parse(
      "! written on Windows\r\n"
      "namesrvAddr = 10.0.0.11:9876;\\\r\n"
      "              10.0.0.12:9876;\\\r\n"
      "              10.0.0.13:9876\r\n"
      "\r\n"
      "brokerName : broker-b   \r\n"
      "fooBar x\r\n");
  ASSERT_EQ(load.config.namesrv_addrs.size(), 3u);
  EXPECT_EQ(load.config.namesrv_addrs[2], (io::Address{"10.0.0.13", 9876}));
  EXPECT_EQ(load.config.broker_name, "broker-b");
  EXPECT_EQ(load.warnings, (std::vector<std::string>{"line 7: unknown key 'fooBar' ignored"}));
}

TEST(BrokerConfigFileTest, UnitsAndLimits) {
  // Proves RocketMQ's units (ms, hours, bytes, percent) and its own clamps are applied.
  BrokerConfigLoad load = Parse(
      "mappedFileSizeConsumeQueue=30\n"  // rounded up to 2 entries
      "mappedFileSizeCommitLog=4096\n"
      "flushIntervalCommitLog=1000\n"
      "flushIntervalConsumeQueue=250\n"
      "syncFlushTimeout=2000\n"
      "diskMaxUsedSpaceRatio=99\n"
      "registerNameServerPeriod=5000\n"
      "rebalanceLockMaxLiveTime=30000\n"
      "flushConsumerOffsetInterval=3000\n"
      "maxTransferBytesOnMessageInMemory=1024\n"
      "maxTransferCountOnMessageInMemory=4\n"
      "defaultTopicQueueNums=4\n"
      "brokerPermission=4\n"
      "longPollingEnable=FALSE\n"
      "messageDelayLevel=1s 10m 2h 1d\n"
      "channelExpiredTimeout=60000\n"
      "registerBrokerTimeoutMills=3000\n");
  const BrokerConfig& c = load.config;
  EXPECT_EQ(c.store.cq_entries_per_file, 2u);
  EXPECT_EQ(c.store.segment_bytes, 4096u);
  EXPECT_EQ(c.store.async_flush_interval, seconds(1));
  EXPECT_EQ(c.store.cq_flush_interval, milliseconds(250));
  EXPECT_EQ(c.store.sync_flush_timeout, seconds(2));
  EXPECT_DOUBLE_EQ(c.store.disk_clean_ratio, 0.95);
  EXPECT_EQ(c.register_period, seconds(10));
  EXPECT_EQ(c.lock_expiry, seconds(30));
  EXPECT_EQ(c.offset_flush_interval, seconds(3));
  EXPECT_EQ(c.pull_bytes_max, 1024u);
  EXPECT_EQ(c.pull_messages_max, 4);
  EXPECT_EQ(c.default_topic_queue_nums, 4);
  EXPECT_EQ(c.broker_permission, 4);
  EXPECT_FALSE(c.long_polling);
  EXPECT_EQ(c.message_delay_level, "1s 10m 2h 1d");
  EXPECT_EQ(c.client_expiry, seconds(60));
  EXPECT_EQ(c.register_timeout, seconds(3));
  EXPECT_EQ(load.warnings, (std::vector<std::string>{
                               "line 6: diskMaxUsedSpaceRatio 99 taken as 95",
                               "line 7: registerNameServerPeriod 5000 taken as 10000",
                           }));
}

TEST(BrokerConfigFileTest, DeleteWhenTakesTheFirstHour) {
  // Proves "04;16" keeps 4 and says so.
  BrokerConfigLoad load = Parse("deleteWhen=04;16\n");
  EXPECT_EQ(load.config.store.delete_when_hour, 4);
  ASSERT_EQ(load.warnings.size(), 2u);
  EXPECT_EQ(load.warnings[0],
            "line 1: deleteWhen '04;16': Apogee deletes at one hour a day; using 04");
}

TEST(BrokerConfigFileTest, StoreHostFollowsListenPortAndIpv4BrokerIp) {
  // Proves the STOREHOST fields follow listenPort and an IPv4 brokerIP1, and a host name keeps
  // the previous store address with a warning.
  BrokerConfigLoad load = Parse("brokerIP1=192.168.7.9\nlistenPort=20911\n");
  EXPECT_EQ(load.config.store.store_ipv4, 0xC0A80709u);
  EXPECT_EQ(load.config.store.store_port, 20911);
  EXPECT_TRUE(load.warnings.empty());

  load = Parse("brokerIP1=broker-a.example\n");
  EXPECT_EQ(load.config.announce_host, "broker-a.example");
  EXPECT_EQ(load.config.store.store_ipv4, 0x7F000001u);
  ASSERT_EQ(load.warnings.size(), 1u);
  EXPECT_NE(load.warnings[0].find("not an IPv4 address"), std::string::npos);
  for (const char* not_ipv4 : {"1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4x", "01234.1.1.1"}) {
    load = Parse(std::string("brokerIP1=") + not_ipv4 + "\n");
    EXPECT_EQ(load.config.store.store_ipv4, 0x7F000001u) << not_ipv4;
  }
}

TEST(BrokerConfigFileTest, CommitLogPathOutsideTheRootIsWarned) {
  // Proves storePathCommitLog equal to <root>/commitlog is silent (in either key order, with a
  // trailing slash) and anywhere else is a warning naming where the commit log really is.
  EXPECT_TRUE(
      Parse("storePathCommitLog=/d/s/commitlog/\nstorePathRootDir=/d/s\n").warnings.empty());
  BrokerConfigLoad load = Parse("storePathRootDir=/d/s\nstorePathCommitLog=/fast/commitlog\n");
  EXPECT_EQ(load.warnings,
            (std::vector<std::string>{"line 2: storePathCommitLog '/fast/commitlog' ignored (not "
                                      "supported): Apogee keeps the commit log in "
                                      "storePathRootDir, at '/d/s/commitlog'"}));
}

TEST(BrokerConfigFileTest, EmptyTextKeepsTheBase) {
  // Proves keys absent from the file keep the caller's values.
  BrokerConfig base;
  base.broker_name = "from-base";
  base.store.segment_bytes = 1 << 20;
  BrokerConfigLoad load = Parse("", base);
  EXPECT_EQ(load.config.broker_name, "from-base");
  EXPECT_EQ(load.config.store.segment_bytes, 1u << 20);
  EXPECT_TRUE(load.warnings.empty());
}

TEST(BrokerConfigFileTest, NamesrvAddrList) {
  // Proves the list skips blanks and empty entries and rejects entries without a good port.
  Result<std::vector<io::Address>> list = ParseNamesrvAddrList(" a:1 ; ;b:2;");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<io::Address>{{"a", 1}, {"b", 2}}));
  EXPECT_TRUE(ParseNamesrvAddrList("").value().empty());
  EXPECT_FALSE(ParseNamesrvAddrList("a").ok());
  EXPECT_FALSE(ParseNamesrvAddrList(":9876").ok());
  EXPECT_FALSE(ParseNamesrvAddrList("a:0").ok());
  EXPECT_FALSE(ParseNamesrvAddrList("a:65536").ok());
}

TEST(BrokerConfigFileTest, RenderReadsBack) {
  // Proves the -p output parses back, without warnings beyond the deleteWhen note, to a config
  // that renders the same; and -m prints a subset.
  BrokerConfigLoad load = Parse(kMasterA);
  std::string rendered = RenderBrokerConfig(load.config);
  EXPECT_NE(rendered.find("namesrvAddr=10.0.0.11:9876;10.0.0.12:9876\n"), std::string::npos);
  EXPECT_NE(rendered.find("mappedFileSizeConsumeQueue=6000000\n"), std::string::npos);
  EXPECT_NE(rendered.find("deleteWhen=04\n"), std::string::npos);
  BrokerConfigLoad again = Parse(rendered);
  EXPECT_EQ(RenderBrokerConfig(again.config), rendered);
  EXPECT_EQ(again.config.store.store_ipv4, load.config.store.store_ipv4);
  ASSERT_EQ(again.warnings.size(), 1u);
  EXPECT_NE(again.warnings[0].find("UTC"), std::string::npos);

  std::string important = RenderBrokerConfig(load.config, true);
  EXPECT_LT(important.size(), rendered.size());
  EXPECT_NE(important.find("brokerIP1=10.0.1.21\n"), std::string::npos);
  EXPECT_EQ(important.find("maxHashSlotNum="), std::string::npos);
}

TEST(BrokerConfigFileTest, RenderEscapesAwkwardValues) {
  // Proves a value with blanks, backslashes and '#' survives the round trip.
  BrokerConfig c;
  c.store_root = " C:\\rocket mq\\#store ";
  BrokerConfigLoad load = Parse(RenderBrokerConfig(c));
  EXPECT_EQ(load.config.store_root, c.store_root);
}

// --- The mqbroker command line. ---

Result<BrokerCommandLine> Args(std::vector<std::string> args) {
  return ParseBrokerArgs(std::move(args));
}

TEST(BrokerArgsTest, ShortAndLongForms) {
  // Proves every spelling of -c and -n gives the value, and flags are read.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"-c", "broker.conf", "-n", "a:9876;b:9876"},
           {"-cbroker.conf", "-na:9876;b:9876"},
           {"--configFile", "broker.conf", "--namesrvAddr=a:9876;b:9876"},
           {"--config=broker.conf", "--namesrv", "a:9876;b:9876"}}) {
    Result<BrokerCommandLine> cl = Args(args);
    ASSERT_TRUE(cl.ok()) << cl.status().ToString();
    EXPECT_EQ(cl->config_file, "broker.conf");
    EXPECT_EQ(cl->namesrv_addr, "a:9876;b:9876");
    EXPECT_FALSE(cl->print_config);
  }
  Result<BrokerCommandLine> flags = Args({"-p", "--printImportantConfig", "-h"});
  ASSERT_TRUE(flags.ok());
  EXPECT_TRUE(flags->print_config);
  EXPECT_TRUE(flags->print_important);
  EXPECT_TRUE(flags->help);
  EXPECT_FALSE(flags->config_file.has_value());
  Result<BrokerCommandLine> none = Args({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->help);
}

TEST(BrokerArgsTest, MistakesAreErrorsWithUsage) {
  // Proves unknown options, missing or empty values, values on flags, repeats and stray
  // arguments are refused, each message carrying the usage text.
  for (const auto& args : std::vector<std::vector<std::string>>{{"-x"},
                                                                {"--verbose"},
                                                                {"-c"},
                                                                {"-c", ""},
                                                                {"-pm"},
                                                                {"--help=yes"},
                                                                {"-p", "-p"},
                                                                {"-c", "a", "--config", "b"},
                                                                {"broker.conf"},
                                                                {"-"},
                                                                {"--"}}) {
    Result<BrokerCommandLine> cl = Args(args);
    ASSERT_FALSE(cl.ok()) << args[0];
    EXPECT_EQ(cl.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(cl.status().message().find("usage: apogee-broker"), std::string::npos);
  }
  EXPECT_EQ(Args({"-x"}).status().message().rfind("unknown option '-x'\n", 0), 0u);
}

TEST(BrokerArgsTest, NamesrvOptionOverridesTheFile) {
  // Proves -n replaces the file's namesrvAddr, and a bad -n is an error.
  BrokerCommandLine cl;
  cl.namesrv_addr = "10.9.9.9:9876";
  Result<BrokerConfigLoad> load = LoadBrokerConfig(cl, kMasterA, kDefaults);
  ASSERT_TRUE(load.ok());
  EXPECT_EQ(load->config.namesrv_addrs, (std::vector<io::Address>{{"10.9.9.9", 9876}}));
  EXPECT_EQ(load->config.broker_name, "broker-a");

  Result<BrokerConfigLoad> without = LoadBrokerConfig(BrokerCommandLine{}, kMasterA, kDefaults);
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->config.namesrv_addrs.size(), 2u);

  cl.namesrv_addr = "nohost";
  EXPECT_FALSE(LoadBrokerConfig(cl, "", kDefaults).ok());
}

}  // namespace
}  // namespace apogee::broker
