// Consumer offsets (QUERY/UPDATE_CONSUMER_OFFSET) and queue offsets (GET_MAX/MIN_OFFSET,
// SEARCH_OFFSET_BY_TIMESTAMP), and the offset store's durability across a clean restart and a
// crash.

#include <gtest/gtest.h>

#include "core/broker/consumer_offset_manager.h"
#include "tests/broker/broker_test_util.h"

namespace apogee::broker::testing {
namespace {

RemotingCommand QueryOffset(TestClient& c, const std::string& group, const std::string& topic,
                            int32_t queue) {
  protocol::QueryConsumerOffsetRequestHeader h{group, topic, queue};
  protocol::ExtFields f;
  h.Encode(f);
  return c.Call(request::kQueryConsumerOffset, std::move(f));
}

int64_t OffsetOf(const RemotingCommand& r) {
  auto h = protocol::OffsetResponseHeader::Decode(r.ext_fields);
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return h.ok() ? h->offset : -100;
}

void UpdateOffset(TestClient& c, const std::string& group, const std::string& topic, int32_t queue,
                  int64_t offset, bool oneway = false) {
  protocol::UpdateConsumerOffsetRequestHeader h{group, topic, queue, offset};
  protocol::ExtFields f;
  h.Encode(f);
  RemotingCommand cmd = protocol::MakeRequest(request::kUpdateConsumerOffset, std::move(f));
  if (oneway) {
    EXPECT_TRUE(c.Connection()->InvokeOneway(std::move(cmd)).ok());
    return;
  }
  EXPECT_EQ(c.Call(std::move(cmd)).code, response::kSuccess);
}

RemotingCommand QueueOffset(TestClient& c, int32_t code, const std::string& topic, int32_t queue) {
  protocol::QueueRequestHeader h{topic, queue};
  protocol::ExtFields f;
  h.Encode(f);
  return c.Call(code, std::move(f));
}

TEST(BrokerOffsetTest, QueryAnswersStoredOffsetsAndRocketMqsDefaults) {
  // Proves QUERY_CONSUMER_OFFSET answers a committed offset; without one it answers 0 while the
  // queue still starts at 0 (or does not exist), as ConsumerManageProcessor does; updates
  // (oneway or not) replace the offset.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 2);
    c.SendOk("T", 0, "x");
    RemotingCommand r = QueryOffset(c, "g", "T", 0);
    ASSERT_EQ(r.code, response::kSuccess);
    EXPECT_EQ(OffsetOf(r), 0);
    EXPECT_EQ(OffsetOf(QueryOffset(c, "g", "T", 1)), 0);
    UpdateOffset(c, "g", "T", 0, 1);
    EXPECT_EQ(OffsetOf(QueryOffset(c, "g", "T", 0)), 1);
    UpdateOffset(c, "g", "T", 0, 3, /*oneway=*/true);
    env.scheduler.Sleep(100ms);
    EXPECT_EQ(OffsetOf(QueryOffset(c, "g", "T", 0)), 3);
    EXPECT_EQ(c.Call(request::kQueryConsumerOffset, {{"topic", "T"}}).code, response::kSystemError);
  });
}

TEST(BrokerOffsetTest, QueryWithoutOffsetOnATrimmedQueueIsQueryNotFound) {
  // Proves QUERY_NOT_FOUND (22) for a group without an offset on a queue whose min offset moved
  // past 0 (the client then applies its consumeFromWhere).
  BrokerConfig config = BrokerRig::DefaultConfig();
  config.store.segment_bytes = 4096;
  config.store.message_bytes_max = 2048;
  config.store.file_reserved_time = 1s;
  config.store.delete_when_hour = -1;
  BrokerRig rig(config);
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    for (int i = 0; i < 40; i++) c.SendOk("T", 0, std::string(500, 'x'));
    env.scheduler.Sleep(5s);
    ASSERT_TRUE(rig.broker().store().Flush().ok());
    ASSERT_TRUE(rig.broker().store().RunRetention().ok());
    ASSERT_GT(rig.broker().store().MinOffset("T", 0), 0);
    EXPECT_EQ(QueryOffset(c, "g", "T", 0).code, response::kQueryNotFound);
    EXPECT_GT(OffsetOf(QueueOffset(c, request::kGetMinOffset, "T", 0)), 0);
  });
}

TEST(BrokerOffsetTest, QueueOffsetsAndSearchByTimestamp) {
  // Proves GET_MAX_OFFSET / GET_MIN_OFFSET answer the queue's bounds (0 for an unknown queue) and
  // SEARCH_OFFSET_BY_TIMESTAMP finds the first message stored at or after the time.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    for (int i = 0; i < 3; i++) c.SendOk("T", 0, "early");
    env.scheduler.Sleep(10s);
    int64_t middle = ToMillis(rig.world().clock(rig.broker_node()).WallNow());
    env.scheduler.Sleep(10s);
    for (int i = 0; i < 2; i++) c.SendOk("T", 0, "late");
    EXPECT_EQ(OffsetOf(QueueOffset(c, request::kGetMaxOffset, "T", 0)), 5);
    EXPECT_EQ(OffsetOf(QueueOffset(c, request::kGetMinOffset, "T", 0)), 0);
    EXPECT_EQ(OffsetOf(QueueOffset(c, request::kGetMaxOffset, "Nope", 0)), 0);
    protocol::SearchOffsetRequestHeader s{"T", 0, middle};
    protocol::ExtFields f;
    s.Encode(f);
    RemotingCommand r = c.Call(request::kSearchOffsetByTimestamp, f);
    ASSERT_EQ(r.code, response::kSuccess);
    EXPECT_EQ(OffsetOf(r), 3);
    s.topic = "Nope";
    f.clear();
    s.Encode(f);
    EXPECT_EQ(OffsetOf(c.Call(request::kSearchOffsetByTimestamp, f)), 0);
  });
}

TEST(BrokerOffsetTest, OffsetsSurviveACleanRestart) {
  // Proves offsets committed before a clean shutdown are all there after a restart.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    {
      TestClient c(env, rig.address());
      c.CreateTopicOk("T", 2);
      for (int i = 0; i < 5; i++) c.SendOk("T", i % 2, "x");
      UpdateOffset(c, "g1", "T", 0, 2);
      UpdateOffset(c, "g1", "T", 1, 1);
      UpdateOffset(c, "g2", "T", 0, 3);
      c.Close();
    }
    rig.StopBroker(env);
    ASSERT_TRUE(rig.RestartBroker(env)) << rig.start_status().ToString();
    TestClient c(env, rig.address());
    EXPECT_EQ(OffsetOf(QueryOffset(c, "g1", "T", 0)), 2);
    EXPECT_EQ(OffsetOf(QueryOffset(c, "g1", "T", 1)), 1);
    EXPECT_EQ(OffsetOf(QueryOffset(c, "g2", "T", 0)), 3);
    EXPECT_EQ(rig.broker().offsets().size(), 3u);
  });
}

TEST(BrokerOffsetTest, AfterACrashOffsetsAreTheLastPersistedNeverNewer) {
  // Proves that after a crash the recovered offset is the one persisted at the last flush
  // (older than the last commit: at-least-once), never one that was not committed.
  for (sim::CrashMode mode :
       {sim::CrashMode::kDrop, sim::CrashMode::kTear, sim::CrashMode::kKeep}) {
    BrokerRig rig;
    rig.Run([&](io::Env& env) {
      ASSERT_TRUE(rig.WaitUntilUp(env));
      {
        TestClient c(env, rig.address());
        c.CreateTopicOk("T", 1);
        for (int i = 0; i < 10; i++) c.SendOk("T", 0, "x");
        UpdateOffset(c, "g", "T", 0, 4);
        env.scheduler.Sleep(rig.config().offset_flush_interval + 1s);  // persisted
        UpdateOffset(c, "g", "T", 0, 7);                               // not yet
        rig.CrashBroker(mode);
      }
      ASSERT_TRUE(rig.RestartBroker(env)) << rig.start_status().ToString();
      TestClient c(env, rig.address());
      RemotingCommand r = QueryOffset(c, "g", "T", 0);
      ASSERT_EQ(r.code, response::kSuccess);
      int64_t recovered = OffsetOf(r);
      EXPECT_EQ(recovered, 4) << "crash mode " << sim::CrashModeName(mode);
    });
  }
}

TEST(BrokerOffsetTest, RecoveredOffsetsAreClampedToTheQueuesMaxOffset) {
  // Proves an offset past its queue's max offset (here committed past it by a client) is lowered
  // to the max when the broker starts.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    {
      TestClient c(env, rig.address());
      c.CreateTopicOk("T", 1);
      for (int i = 0; i < 3; i++) c.SendOk("T", 0, "x");
      UpdateOffset(c, "g", "T", 0, 50);
      UpdateOffset(c, "g", "Gone", 0, 9);
      env.scheduler.Sleep(rig.config().offset_flush_interval + 1s);
      rig.CrashBroker(sim::CrashMode::kDrop);
    }
    ASSERT_TRUE(rig.RestartBroker(env)) << rig.start_status().ToString();
    TestClient c(env, rig.address());
    EXPECT_EQ(OffsetOf(QueryOffset(c, "g", "T", 0)), 3);
    EXPECT_EQ(OffsetOf(QueryOffset(c, "g", "Gone", 0)), 0);
  });
}

TEST(ConsumerOffsetManagerTest, JsonRoundTripAndRocketMqsBareKeys) {
  // Proves the table's JSON reads back equal, that RocketMQ's own file form (bare numeric queue
  // keys) is read, and that a damaged file is kCorruption.
  sim::World world(3);
  bool done = false;
  world.AddNode(sim::NodeSpec{"n", "10.0.0.9", [&](io::Env& env) {
                                ConsumerOffsetManager m(env, "offsets.json");
                                m.Commit("g", "T", 0, 5);
                                m.Commit("g", "T", 3, 9);
                                m.Commit("%RETRY%g", "%RETRY%g", 0, 1);
                                m.Commit("g", "T", 1, -1);  // ignored
                                ConsumerOffsetManager back(env, "offsets.json");
                                ASSERT_TRUE(back.FromJson(m.ToJson()).ok());
                                EXPECT_EQ(back.ToJson(), m.ToJson());
                                EXPECT_EQ(back.size(), 3u);
                                EXPECT_EQ(back.Query("g", "T", 3), 9);
                                EXPECT_FALSE(back.Query("g", "T", 1).has_value());

                                ConsumerOffsetManager rocket(env, "x");
                                ASSERT_TRUE(rocket
                                                .FromJson(R"({"offsetTable":{"TopicTest@grp":)"
                                                          R"({0:250,1:251}}})")
                                                .ok());
                                EXPECT_EQ(rocket.Query("grp", "TopicTest", 1), 251);

                                for (std::string_view bad :
                                     {"{", R"({"offsetTable":{"nogroup":{"0":1}}})",
                                      R"({"offsetTable":{"T@g":{"0":-4}}})",
                                      R"({"offsetTable":{"T@g":{"x":1}}})"}) {
                                  Status s = rocket.FromJson(bad);
                                  EXPECT_EQ(s.code(), ErrorCode::kCorruption) << bad;
                                }
                                ASSERT_TRUE(m.Persist().ok());
                                ConsumerOffsetManager loaded(env, "offsets.json");
                                ASSERT_TRUE(loaded.Load().ok());
                                EXPECT_EQ(loaded.ToJson(), m.ToJson());
                                done = true;
                              }});
  world.Start(0);
  world.RunFor(60s);
  EXPECT_TRUE(done);
}

TEST(BrokerOffsetTest, ACorruptOffsetFileStopsTheStart) {
  // Proves a consumerOffset.json that does not parse makes Start fail with kCorruption instead
  // of silently rewinding every group.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    // Damage the file on the broker's disk (the running broker has nothing dirty to write).
    std::string junk = "{not json";
    ASSERT_TRUE(
        rig.world()
            .env(rig.broker_node())
            .disk
            .WriteAtomically("store/config/consumerOffset.json",
                             std::span(reinterpret_cast<const uint8_t*>(junk.data()), junk.size()))
            .ok());
    rig.CrashBroker(sim::CrashMode::kKeep);
    EXPECT_FALSE(rig.RestartBroker(env));
    EXPECT_EQ(rig.start_status().code(), ErrorCode::kCorruption);
  });
}

}  // namespace
}  // namespace apogee::broker::testing
