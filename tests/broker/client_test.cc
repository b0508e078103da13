// HEART_BEAT, UNREGISTER_CLIENT, GET_CONSUMER_LIST_BY_GROUP and NOTIFY_CONSUMER_IDS_CHANGED:
// the group registry and its notifications when membership changes.

#include <gtest/gtest.h>

#include "tests/broker/broker_test_util.h"

namespace apogee::broker::testing {
namespace {

// A consumer client that records the NOTIFY_CONSUMER_IDS_CHANGED requests it receives.
struct Consumer {
  Consumer(io::Env& env, const io::Address& broker, std::string id_in)
      : id(std::move(id_in)),
        client(env, broker,
               [this](const std::shared_ptr<RemotingConnection>&,
                      RemotingCommand request) -> std::optional<RemotingCommand> {
                 if (request.code == request::kNotifyConsumerIdsChanged) {
                   notified.push_back(request.ext_fields["consumerGroup"]);
                   oneway = request.is_oneway();
                 }
                 return std::nullopt;
               }) {}
  RemotingCommand Beat(const std::string& group, const std::string& topic = "T") {
    return client.Heartbeat(id, group, {{topic, "*"}});
  }
  std::string id;
  std::vector<std::string> notified;
  bool oneway = false;
  TestClient client;
};

std::vector<std::string> ConsumerList(TestClient& c, const std::string& group, int32_t* code) {
  protocol::ConsumerGroupHeader h{group};
  protocol::ExtFields f;
  h.Encode(f);
  RemotingCommand r = c.Call(request::kGetConsumerListByGroup, f);
  *code = r.code;
  if (r.code != response::kSuccess) return {};
  auto body = protocol::ConsumerListBody::FromJson(
      std::string_view(reinterpret_cast<const char*>(r.body.data()), r.body.size()));
  EXPECT_TRUE(body.ok()) << body.status().ToString();
  return body.ok() ? body->consumer_id_list : std::vector<std::string>{};
}

RemotingCommand Unregister(TestClient& c, const std::string& id, const std::string& group) {
  protocol::UnregisterClientRequestHeader h;
  h.client_id = id;
  h.consumer_group = group;
  protocol::ExtFields f;
  h.Encode(f);
  return c.Call(request::kUnregisterClient, f);
}

TEST(BrokerClientTest, HeartbeatRegistersTheGroupAndItsRetryTopic) {
  // Proves a heartbeat registers its client in the group (listed by GET_CONSUMER_LIST_BY_GROUP)
  // with its subscriptions and model, and creates %RETRY%group with one read-write queue; an
  // unknown group's list is SYSTEM_ERROR.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    Consumer a(env, rig.address(), "10.0.0.1@a");
    ASSERT_EQ(a.Beat("cg").code, response::kSuccess);
    int32_t code = 0;
    EXPECT_EQ(ConsumerList(a.client, "cg", &code), std::vector<std::string>{"10.0.0.1@a"});
    EXPECT_EQ(code, response::kSuccess);
    ConsumerList(a.client, "nobody", &code);
    EXPECT_EQ(code, response::kSystemError);
    auto retry = rig.broker().topics().Find("%RETRY%cg");
    ASSERT_TRUE(retry.has_value());
    EXPECT_EQ(retry->read_queue_nums, 1);
    EXPECT_EQ(retry->perm, 6);
    const ConsumerGroupInfo* info = rig.broker().consumers().FindConsumerGroup("cg");
    ASSERT_NE(info, nullptr);
    EXPECT_NE(info->FindSubscription("T"), nullptr);
    EXPECT_EQ(info->message_model, protocol::MessageModel::kClustering);
  });
}

TEST(BrokerClientTest, MembershipChangesNotifyTheMembers) {
  // Proves NOTIFY_CONSUMER_IDS_CHANGED (oneway, with the group) reaches the members when a client
  // joins, unregisters, and when a member's connection closes; a repeated heartbeat of the same
  // client is no change.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    Consumer a(env, rig.address(), "a");
    Consumer b(env, rig.address(), "b");
    Consumer c(env, rig.address(), "c");
    ASSERT_EQ(a.Beat("cg").code, response::kSuccess);
    env.scheduler.Sleep(100ms);
    size_t a_seen = a.notified.size();
    ASSERT_EQ(b.Beat("cg").code, response::kSuccess);
    env.scheduler.Sleep(100ms);
    EXPECT_EQ(a.notified.size(), a_seen + 1);
    EXPECT_EQ(a.notified.back(), "cg");
    EXPECT_TRUE(a.oneway);
    EXPECT_GE(b.notified.size(), 1u);

    // The same client again: nothing changes, nobody is told.
    a_seen = a.notified.size();
    ASSERT_EQ(b.Beat("cg").code, response::kSuccess);
    env.scheduler.Sleep(100ms);
    EXPECT_EQ(a.notified.size(), a_seen);

    ASSERT_EQ(c.Beat("cg").code, response::kSuccess);
    env.scheduler.Sleep(100ms);
    a_seen = a.notified.size();
    EXPECT_EQ(Unregister(c.client, "c", "cg").code, response::kSuccess);
    env.scheduler.Sleep(100ms);
    EXPECT_EQ(a.notified.size(), a_seen + 1);
    int32_t code = 0;
    EXPECT_EQ(ConsumerList(a.client, "cg", &code), (std::vector<std::string>{"a", "b"}));

    a_seen = a.notified.size();
    b.client.Close();
    env.scheduler.Sleep(1s);
    EXPECT_EQ(a.notified.size(), a_seen + 1);
    EXPECT_EQ(ConsumerList(a.client, "cg", &code), std::vector<std::string>{"a"});
  });
}

TEST(BrokerClientTest, SilentClientsExpire) {
  // Proves a consumer silent for client_expiry is dropped by the scan (the remaining member is
  // told), while one that keeps sending heartbeats stays.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    Consumer a(env, rig.address(), "a");
    Consumer b(env, rig.address(), "b");
    ASSERT_EQ(a.Beat("cg").code, response::kSuccess);
    ASSERT_EQ(b.Beat("cg").code, response::kSuccess);
    env.scheduler.Sleep(100ms);
    size_t a_seen = a.notified.size();
    for (int i = 0; i < 5; i++) {
      env.scheduler.Sleep(30s);
      ASSERT_EQ(a.Beat("cg").code, response::kSuccess);
    }
    int32_t code = 0;
    EXPECT_EQ(ConsumerList(a.client, "cg", &code), std::vector<std::string>{"a"});
    EXPECT_GT(a.notified.size(), a_seen);
  });
}

TEST(BrokerClientTest, ProducersAreRegisteredAndUnregistered) {
  // Proves producer groups of a heartbeat are registered on the connection and removed by
  // UNREGISTER_CLIENT, and that a malformed heartbeat body is SYSTEM_ERROR.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    protocol::HeartbeatData hb;
    hb.client_id = "p1";
    hb.producer_data_set.push_back(protocol::ProducerData{"pg"});
    std::string json = hb.ToJson();
    ASSERT_EQ(c.Call(request::kHeartBeat, {}, std::vector<uint8_t>(json.begin(), json.end())).code,
              response::kSuccess);
    EXPECT_EQ(rig.broker().consumers().ProducerConnections("pg").size(), 1u);
    protocol::UnregisterClientRequestHeader h;
    h.client_id = "p1";
    h.producer_group = "pg";
    protocol::ExtFields f;
    h.Encode(f);
    EXPECT_EQ(c.Call(request::kUnregisterClient, f).code, response::kSuccess);
    EXPECT_EQ(rig.broker().consumers().ProducerConnections("pg").size(), 0u);
    EXPECT_EQ(c.Call(request::kHeartBeat, {}, {'{', 'x'}).code, response::kSystemError);
    EXPECT_EQ(c.Call(request::kUnregisterClient, {}).code, response::kSystemError);
  });
}

}  // namespace
}  // namespace apogee::broker::testing
