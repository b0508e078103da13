// PULL_MESSAGE through a real connection to a broker on the simulator: every status of
// rocketmq-protocol.md section 3, subscriptions and tag filters, the commit-offset flag, and long
// polling (woken by an arrival, by its timeout, by shutdown; filtered arrivals do not wake it).

#include <gtest/gtest.h>

#include "core/base/java_hash.h"
#include "core/store/message_record.h"
#include "tests/broker/broker_test_util.h"

namespace apogee::broker::testing {
namespace {

std::string Tags(const std::string& tags) { return store::EncodeProperties({{"TAGS", tags}}); }

void SendN(TestClient& c, const std::string& topic, int32_t queue, int n,
           const std::string& tags = "") {
  for (int i = 0; i < n; i++)
    c.SendOk(topic, queue, fmt::format("m{}", i), tags.empty() ? "" : Tags(tags));
}

TEST(BrokerPullTest, FoundReturnsTheRecordsAndTheNextOffset) {
  // Proves a pull at an offset below max answers SUCCESS with the stored records (decodable,
  // in queue order, at most maxMsgNums) and nextBeginOffset = offset + messages read.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    SendN(c, "T", 0, 5);
    auto h = TestClient::PullHeader("T", 0, 1);
    h.max_msg_nums = 3;
    RemotingCommand r = c.Pull(h);
    ASSERT_EQ(r.code, response::kSuccess) << r.remark.value_or("");
    auto answer = TestClient::PullAnswer(r);
    EXPECT_EQ(answer.next_begin_offset, 4);
    EXPECT_EQ(answer.min_offset, 0);
    EXPECT_EQ(answer.max_offset, 5);
    EXPECT_EQ(answer.suggest_which_broker_id, 0);
    auto messages = TestClient::Messages(r);
    ASSERT_EQ(messages.size(), 3u);
    for (int i = 0; i < 3; i++) {
      EXPECT_EQ(messages[i].queue_offset, i + 1);
      EXPECT_EQ(TestClient::BodyOf(messages[i]), fmt::format("m{}", i + 1));
    }
  });
}

TEST(BrokerPullTest, OffsetStatusesFollowTheProtocolTable) {
  // Proves: offset == max -> 19 with next = offset; offset > max -> 21 with next = max (the
  // queue's min is 0 here, so RocketMQ's rule gives min = 0); an empty or absent queue -> 19 at
  // offset 0 and 21 elsewhere, next 0.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 2);
    SendN(c, "T", 0, 3);
    RemotingCommand r = c.Pull(TestClient::PullHeader("T", 0, 3));
    EXPECT_EQ(r.code, response::kPullNotFound);
    EXPECT_EQ(TestClient::PullAnswer(r).next_begin_offset, 3);
    EXPECT_TRUE(r.body.empty());

    r = c.Pull(TestClient::PullHeader("T", 0, 10));
    EXPECT_EQ(r.code, response::kPullOffsetMoved);
    EXPECT_EQ(TestClient::PullAnswer(r).next_begin_offset, 0);  // min is 0: next = min
    EXPECT_EQ(TestClient::PullAnswer(r).max_offset, 3);

    // Queue 1 has never had a message.
    r = c.Pull(TestClient::PullHeader("T", 1, 0));
    EXPECT_EQ(r.code, response::kPullNotFound);
    EXPECT_EQ(TestClient::PullAnswer(r).next_begin_offset, 0);
    r = c.Pull(TestClient::PullHeader("T", 1, 7));
    EXPECT_EQ(r.code, response::kPullOffsetMoved);
    EXPECT_EQ(TestClient::PullAnswer(r).next_begin_offset, 0);
  });
}

TEST(BrokerPullTest, OffsetBelowTheMinimumMovesToTheMinimum) {
  // Proves that once retention deleted the oldest segments a pull below the queue's min offset
  // is 21 PULL_OFFSET_MOVED with next = min, and a pull past max is 21 with next = max.
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
    int64_t min = rig.broker().store().MinOffset("T", 0);
    ASSERT_GT(min, 0) << "retention deleted nothing";
    RemotingCommand r = c.Pull(TestClient::PullHeader("T", 0, 0));
    EXPECT_EQ(r.code, response::kPullOffsetMoved);
    EXPECT_EQ(TestClient::PullAnswer(r).next_begin_offset, min);
    r = c.Pull(TestClient::PullHeader("T", 0, 100));
    EXPECT_EQ(r.code, response::kPullOffsetMoved);
    EXPECT_EQ(TestClient::PullAnswer(r).next_begin_offset, 40);
    r = c.Pull(TestClient::PullHeader("T", 0, min));
    EXPECT_EQ(r.code, response::kSuccess);
  });
}

TEST(BrokerPullTest, TagFilterTakesMatchingMessagesAndAllFilteredIsRetryImmediately) {
  // Proves a "TagA || TagC" subscription gets only those tags (the store scans past the ones it
  // skips), and a queue holding none of them answers 20 PULL_RETRY_IMMEDIATELY with next past
  // what was scanned.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    SendN(c, "T", 0, 3, "TagB");
    auto h = TestClient::PullHeader("T", 0, 0, "TagA || TagC");
    RemotingCommand r = c.Pull(h);
    EXPECT_EQ(r.code, response::kPullRetryImmediately);
    EXPECT_EQ(TestClient::PullAnswer(r).next_begin_offset, 3);
    EXPECT_TRUE(r.body.empty());
    c.SendOk("T", 0, "a", Tags("TagA"));
    c.SendOk("T", 0, "b", Tags("TagB"));
    c.SendOk("T", 0, "c", Tags("TagC"));
    r = c.Pull(h);
    ASSERT_EQ(r.code, response::kSuccess);
    auto messages = TestClient::Messages(r);
    ASSERT_EQ(messages.size(), 2u);
    EXPECT_EQ(messages[0].Tags(), "TagA");
    EXPECT_EQ(messages[1].Tags(), "TagC");
    EXPECT_EQ(TestClient::PullAnswer(r).next_begin_offset, 6);
    // "*" takes everything.
    EXPECT_EQ(TestClient::Messages(c.Pull(TestClient::PullHeader("T", 0, 0))).size(), 6u);
  });
}

TEST(BrokerPullTest, SubscriptionFromHeartbeatIsRequiredWithoutTheSubscriptionFlag) {
  // Proves a pull without the SUBSCRIPTION flag is 24 before any heartbeat of the group, 24 for
  // a topic the group does not subscribe, 25 when the header's subVersion is newer than the
  // registered one, and served (filtered by the registered tags) otherwise.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    c.CreateTopicOk("Other", 1);
    c.SendOk("T", 0, "a", Tags("A"));
    c.SendOk("T", 0, "b", Tags("B"));
    auto h = TestClient::PullHeader("T", 0, 0);
    h.sys_flag = 0;
    h.subscription.reset();
    h.sub_version = 5;
    EXPECT_EQ(c.Pull(h).code, response::kSubscriptionNotExist);
    ASSERT_EQ(c.Heartbeat("client-1", "cg", {{"T", "B"}}, 5).code, response::kSuccess);
    RemotingCommand r = c.Pull(h);
    ASSERT_EQ(r.code, response::kSuccess) << r.remark.value_or("");
    auto messages = TestClient::Messages(r);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0].Tags(), "B");
    h.sub_version = 6;
    EXPECT_EQ(c.Pull(h).code, response::kSubscriptionNotLatest);
    auto other = TestClient::PullHeader("Other", 0, 0);
    other.sys_flag = 0;
    EXPECT_EQ(c.Pull(other).code, response::kSubscriptionNotExist);
  });
}

TEST(BrokerPullTest, BadSubscriptionsTopicsQueuesAndPermissionsAreRefused) {
  // Proves 23 for an unparsable expression, 17 for an unknown topic, SYSTEM_ERROR for a queue id
  // outside the read queues, 16 for a write-only topic, and SYSTEM_ERROR for a malformed header.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 2);
    c.CreateTopicOk("WO", 1, protocol::kPermWrite);
    EXPECT_EQ(c.Pull(TestClient::PullHeader("T", 0, 0, "||")).code,
              response::kSubscriptionParseFailed);
    EXPECT_EQ(c.Pull(TestClient::PullHeader("Missing", 0, 0)).code, response::kTopicNotExist);
    RemotingCommand r = c.Pull(TestClient::PullHeader("T", 2, 0));
    EXPECT_EQ(r.code, response::kSystemError);
    EXPECT_NE(r.remark.value_or("").find("queueId[2] is illegal"), std::string::npos);
    EXPECT_EQ(c.Pull(TestClient::PullHeader("T", -1, 0)).code, response::kSystemError);
    EXPECT_EQ(c.Pull(TestClient::PullHeader("WO", 0, 0)).code, response::kNoPermission);
    auto sql = TestClient::PullHeader("T", 0, 0, "a > 1");
    sql.expression_type = "SQL92";
    EXPECT_EQ(c.Pull(sql).code, response::kSystemError);
    EXPECT_EQ(c.Call(request::kPullMessage, {{"topic", "T"}}).code, response::kSystemError);
    EXPECT_EQ(c.Pull(TestClient::PullHeader("T", 0, 0)).code, response::kPullNotFound);
  });
}

TEST(BrokerPullTest, UnreadableBrokerRefusesPulls) {
  // Proves NO_PERMISSION when the broker's own permission lacks READ.
  BrokerConfig config = BrokerRig::DefaultConfig();
  config.broker_permission = protocol::kPermWrite;
  BrokerRig rig(config);
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    EXPECT_EQ(c.Pull(TestClient::PullHeader("T", 0, 0)).code, response::kNoPermission);
  });
}

TEST(BrokerPullTest, CommitOffsetFlagStoresTheGroupsOffset) {
  // Proves the COMMIT_OFFSET flag stores commitOffset as the group's offset for the queue, and
  // that without it nothing is stored.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    SendN(c, "T", 0, 4);
    auto h = TestClient::PullHeader("T", 0, 2);
    h.commit_offset = 2;
    c.Pull(h);
    EXPECT_FALSE(rig.broker().offsets().Query("cg", "T", 0).has_value());
    h.sys_flag |= protocol::kPullFlagCommitOffset;
    EXPECT_EQ(c.Pull(h).code, response::kSuccess);
    EXPECT_EQ(rig.broker().offsets().Query("cg", "T", 0), 2);
  });
}

TEST(BrokerPullTest, LongPollingWakesAtOnceWhenAMessageArrives) {
  // Proves a SUSPEND pull at max offset is parked (no answer) and answered with the message as
  // soon as a send stores it, long before its 15 s timeout.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    TestClient producer(env, rig.address());
    c.CreateTopicOk("T", 1);
    auto h = TestClient::PullHeader("T", 0, 0);
    h.sys_flag |= protocol::kPullFlagSuspend;
    h.suspend_timeout_millis = 15000;
    RemotingCommand answer;
    Instant answered{};
    io::FiberHandle puller = env.scheduler.Spawn("puller", [&] {
      answer = c.Pull(h);
      answered = env.clock.Now();
    });
    env.scheduler.Sleep(2s);
    EXPECT_FALSE(puller.done()) << "the pull was answered instead of parked";
    EXPECT_EQ(rig.broker().hold().parked(), 1u);
    Instant sent = env.clock.Now();
    producer.SendOk("T", 0, "wake");
    puller.Join();
    ASSERT_EQ(answer.code, response::kSuccess) << answer.remark.value_or("");
    EXPECT_LT(answered - sent, 100ms);
    auto messages = TestClient::Messages(answer);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(TestClient::BodyOf(messages[0]), "wake");
    EXPECT_EQ(rig.broker().hold().parked(), 0u);
    EXPECT_EQ(rig.broker().hold().released_by_notify(), 1u);
  });
}

TEST(BrokerPullTest, LongPollingTimesOutWithPullNotFound) {
  // Proves a parked pull with nothing arriving is answered 19 at its suspend timeout (not
  // before), and that a message its filter rejects does not wake it.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    TestClient producer(env, rig.address());
    c.CreateTopicOk("T", 1);
    auto h = TestClient::PullHeader("T", 0, 0, "Wanted");
    h.sys_flag |= protocol::kPullFlagSuspend;
    h.suspend_timeout_millis = 3000;
    RemotingCommand answer;
    Instant start = env.clock.Now();
    Instant answered{};
    io::FiberHandle puller = env.scheduler.Spawn("puller", [&] {
      answer = c.Pull(h);
      answered = env.clock.Now();
    });
    env.scheduler.Sleep(1s);
    producer.SendOk("T", 0, "unwanted", Tags("Other"));
    env.scheduler.Sleep(500ms);
    EXPECT_FALSE(puller.done()) << "a filtered-out message woke the pull";
    puller.Join();
    // The re-run finds one filtered message: all filtered is PULL_RETRY_IMMEDIATELY.
    EXPECT_EQ(answer.code, response::kPullRetryImmediately);
    EXPECT_GE(answered - start, 3s);
    EXPECT_LT(answered - start, 3500ms);
    EXPECT_EQ(rig.broker().hold().released_by_timeout(), 1u);

    // On an empty queue the timeout answers PULL_NOT_FOUND.
    auto empty = TestClient::PullHeader("T", 0, 1);
    empty.sys_flag |= protocol::kPullFlagSuspend;
    empty.suspend_timeout_millis = 2000;
    start = env.clock.Now();
    RemotingCommand r = c.Pull(empty);
    EXPECT_EQ(r.code, response::kPullNotFound);
    EXPECT_GE(env.clock.Now() - start, 2s);
  });
}

TEST(BrokerPullTest, ShutdownAnswersParkedPulls) {
  // Proves a clean shutdown answers a parked pull (19) instead of dropping it.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    auto h = TestClient::PullHeader("T", 0, 0);
    h.sys_flag |= protocol::kPullFlagSuspend;
    h.suspend_timeout_millis = 60000;
    RemotingCommand answer;
    io::FiberHandle puller = env.scheduler.Spawn("puller", [&] { answer = c.Pull(h, 120s); });
    env.scheduler.Sleep(1s);
    ASSERT_EQ(rig.broker().hold().parked(), 1u);
    Instant stop = env.clock.Now();
    rig.StopBroker(env);
    puller.Join();
    EXPECT_EQ(answer.code, response::kPullNotFound);
    EXPECT_LT(env.clock.Now() - stop, 10s);
  });
}

TEST(BrokerPullTest, ParkedPullsPerConnectionAreBounded) {
  // Proves pulls beyond the connection's request limit are not parked but answered SYSTEM_BUSY.
  BrokerConfig config = BrokerRig::DefaultConfig();
  config.connection_requests_max = 3;
  BrokerRig rig(config);
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    auto h = TestClient::PullHeader("T", 0, 0);
    h.sys_flag |= protocol::kPullFlagSuspend;
    h.suspend_timeout_millis = 5000;
    std::vector<io::FiberHandle> pullers;
    std::vector<int32_t> codes;
    for (int i = 0; i < 4; i++) {
      pullers.push_back(env.scheduler.Spawn("puller", [&] { codes.push_back(c.Pull(h).code); }));
      env.scheduler.Sleep(100ms);
    }
    EXPECT_EQ(rig.broker().hold().parked(), 3u);
    for (auto& p : pullers) p.Join();
    ASSERT_EQ(codes.size(), 4u);
    EXPECT_EQ(codes[0], response::kSystemBusy);
    EXPECT_EQ(std::count(codes.begin(), codes.end(), response::kPullNotFound), 3);
  });
}

TEST(BrokerPullTest, PeriodicCheckReleasesPullsWhoseQueueGrewUnnoticed) {
  // Proves the hold service's periodic check releases a parked pull whose queue grew without a
  // Notify (here a put straight into the store), within the check interval.
  BrokerConfig config = BrokerRig::DefaultConfig();
  config.long_polling_check = 1s;
  BrokerRig rig(config);
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    auto h = TestClient::PullHeader("T", 0, 0);
    h.sys_flag |= protocol::kPullFlagSuspend;
    h.suspend_timeout_millis = 30000;
    RemotingCommand answer;
    io::FiberHandle puller = env.scheduler.Spawn("puller", [&] { answer = c.Pull(h); });
    env.scheduler.Sleep(500ms);
    ASSERT_EQ(rig.broker().hold().parked(), 1u);
    store::MessageToStore m;
    m.topic = "T";
    std::string body = "direct";
    m.body = std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size());
    Instant put = env.clock.Now();
    ASSERT_TRUE(rig.broker().store().Put(m).ok());
    puller.Join();
    EXPECT_EQ(answer.code, response::kSuccess);
    EXPECT_LE(env.clock.Now() - put, 1100ms);
  });
}

TEST(BrokerPullTest, ParkedPullIsAnsweredByTheSubscriptionItCarried) {
  // Proves a parked pull keeps the subscription its header carried: a message of another tag
  // does not wake it, and the answer to the one it wants holds that message alone, in the
  // request's own header kind.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    TestClient producer(env, rig.address());
    c.CreateTopicOk("T", 1);
    auto h = TestClient::PullHeader("T", 0, 0, "Wanted || Also");
    h.sys_flag |= protocol::kPullFlagSuspend;
    h.suspend_timeout_millis = 15000;
    protocol::ExtFields f;
    h.Encode(f);
    RemotingCommand cmd = protocol::MakeRequest(request::kPullMessage, std::move(f));
    cmd.serialize_type = SerializeType::kRocketmq;
    RemotingCommand answer;
    io::FiberHandle puller =
        env.scheduler.Spawn("puller", [&] { answer = c.Call(std::move(cmd), 60s); });
    env.scheduler.Sleep(1s);
    producer.SendOk("T", 0, "unwanted", Tags("Other"));
    env.scheduler.Sleep(500ms);
    EXPECT_FALSE(puller.done()) << "a message of another tag woke the pull";
    EXPECT_EQ(rig.broker().hold().parked(), 1u);
    producer.SendOk("T", 0, "wanted", Tags("Also"));
    puller.Join();
    ASSERT_EQ(answer.code, response::kSuccess) << answer.remark.value_or("");
    EXPECT_EQ(answer.serialize_type, SerializeType::kRocketmq);
    auto messages = TestClient::Messages(answer);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(TestClient::BodyOf(messages[0]), "wanted");
    EXPECT_EQ(TestClient::PullAnswer(answer).next_begin_offset, 2);
    EXPECT_EQ(rig.broker().hold().released_by_notify(), 1u);
  });
}

TEST(BrokerPullTest, ParkedPullWithoutSubscriptionUsesTheGroupsLatest) {
  // Proves a parked pull that goes by the group's registered subscription (no SUBSCRIPTION
  // flag) looks it up again when it is answered: the group changed its tags while the pull was
  // parked, and the answer holds the message of the new tag.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    TestClient producer(env, rig.address());
    c.CreateTopicOk("T", 1);
    ASSERT_EQ(c.Heartbeat("c1", "cg", {{"T", "Old"}}, 1).code, response::kSuccess);
    auto h = TestClient::PullHeader("T", 0, 0);
    h.sys_flag = protocol::kPullFlagSuspend;  // no SUBSCRIPTION: the group's
    h.subscription.reset();
    h.sub_version = 1;
    h.suspend_timeout_millis = 3000;
    RemotingCommand answer;
    io::FiberHandle puller = env.scheduler.Spawn("puller", [&] { answer = c.Pull(h); });
    env.scheduler.Sleep(1s);
    EXPECT_EQ(rig.broker().hold().parked(), 1u);
    ASSERT_EQ(c.Heartbeat("c1", "cg", {{"T", "New"}}, 2).code, response::kSuccess);
    producer.SendOk("T", 0, "new", Tags("New"));  // the filter taken at parking rejects it
    puller.Join();
    ASSERT_EQ(answer.code, response::kSuccess) << answer.remark.value_or("");
    auto messages = TestClient::Messages(answer);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(TestClient::BodyOf(messages[0]), "new");
  });
}

}  // namespace
}  // namespace apogee::broker::testing
