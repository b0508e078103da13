// The daemons as an operator meets them: configuration errors, -p, and a broker started before
// its nameserver.

#include <gtest/gtest.h>

#include <string>

#include "daemon_harness.h"

namespace apogee::integration {
namespace {

TEST(DaemonTest, BadConfigIsRefusedWithExitTwoAndAMessage) {
  // Proves both daemons refuse a bad value of a key they map with exit code 2 and a message
  // naming the line and the key, before serving anything.
  TempDir dir;
  WriteFile(dir.path() / "broker.conf", "brokerName=b\nlistenPort=notaport\n");
  Process broker("broker", dir.path(), {kBrokerBin, "-c", (dir.path() / "broker.conf").string()});
  EXPECT_EQ(broker.Wait(10s), 2);
  EXPECT_NE(broker.Stderr().find("line 2"), std::string::npos) << broker.Stderr();
  EXPECT_NE(broker.Stderr().find("listenPort"), std::string::npos) << broker.Stderr();

  WriteFile(dir.path() / "namesrv.conf", "listenPort=70000\n");
  Process namesrv("namesrv", dir.path(),
                  {kNamesrvBin, "-c", (dir.path() / "namesrv.conf").string()});
  EXPECT_EQ(namesrv.Wait(10s), 2);
  EXPECT_NE(namesrv.Stderr().find("listenPort"), std::string::npos) << namesrv.Stderr();

  Process missing("missing", dir.path(),
                  {kBrokerBin, "-c", (dir.path() / "no-such.conf").string()});
  EXPECT_EQ(missing.Wait(10s), 2);
  EXPECT_FALSE(missing.Stderr().empty());

  Process bad_option("bad-option", dir.path(), {kNamesrvBin, "--no-such-option"});
  EXPECT_EQ(bad_option.Wait(10s), 2);
  EXPECT_FALSE(bad_option.Stderr().empty());
}

TEST(DaemonTest, PrintConfigShowsTheEffectiveConfigAndExits) {
  // Proves -p prints the effective configuration (the file's values over the defaults) as
  // key=value lines and exits 0 without serving.
  TempDir dir;
  WriteFile(dir.path() / "broker.conf",
            "brokerName=printed-broker\nlistenPort=12345\nflushDiskType=SYNC_FLUSH\n");
  Process broker("broker", dir.path(),
                 {kBrokerBin, "-c", (dir.path() / "broker.conf").string(), "-p"});
  EXPECT_EQ(broker.Wait(10s), 0);
  std::string out = broker.Stdout();
  EXPECT_NE(out.find("brokerName=printed-broker\n"), std::string::npos) << out;
  EXPECT_NE(out.find("listenPort=12345\n"), std::string::npos) << out;
  EXPECT_NE(out.find("flushDiskType=SYNC_FLUSH\n"), std::string::npos) << out;
  EXPECT_NE(out.find("brokerClusterName=DefaultCluster\n"), std::string::npos) << out;

  WriteFile(dir.path() / "namesrv.conf", "listenPort=23456\n");
  Process namesrv("namesrv", dir.path(),
                  {kNamesrvBin, "-c", (dir.path() / "namesrv.conf").string(), "-p"});
  EXPECT_EQ(namesrv.Wait(10s), 0);
  EXPECT_NE(namesrv.Stdout().find("listenPort=23456\n"), std::string::npos) << namesrv.Stdout();
}

TEST(DaemonTest, BrokerRegistersOnceALateNameserverComesUp) {
  // Proves a broker whose nameserver is down still starts, and registers at its next period
  // once the nameserver is up. registerNameServerPeriod is clamped to 10..60 s, as in RocketMQ,
  // so this test takes about 10 s: the shortest period an operator can set.
  ClusterOptions options;
  options.broker_extra = "registerNameServerPeriod=10000\n";
  Cluster cluster(options);
  DumpLogsOnFailure dump(cluster);
  cluster.ReserveNamesrvPort();
  ASSERT_TRUE(cluster.StartBroker()) << "the broker must start without its nameserver";
  // Its first registration fails (nothing listens there yet); it keeps serving.
  EXPECT_TRUE(cluster.broker()->WaitForStderr("register with nameserver", 5s));
  ASSERT_TRUE(cluster.broker()->Running());
  ASSERT_TRUE(cluster.StartNamesrv(cluster.namesrv_port()));
  EXPECT_TRUE(WaitForRoute(cluster.dir(), cluster.namesrv_addr(), "TBW102", 15s))
      << "the broker did not register within its 10 s period";
  EXPECT_EQ(cluster.broker()->Terminate(), 0);
  EXPECT_EQ(cluster.namesrv()->Terminate(), 0);
}

}  // namespace
}  // namespace apogee::integration
