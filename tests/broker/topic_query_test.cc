// Topics (UPDATE_AND_CREATE_TOPIC, GET_ALL_TOPIC_CONFIG, system topics, persistence) and the
// message queries (QUERY_MESSAGE by key, VIEW_MESSAGE_BY_ID by commit log offset).

#include <gtest/gtest.h>

#include "core/store/message_record.h"
#include "tests/broker/broker_test_util.h"

namespace apogee::broker::testing {
namespace {

TEST(BrokerTopicTest, SystemTopicsExistAtStart) {
  // Proves the broker starts with TBW102 (inheritable), SCHEDULE_TOPIC_XXXX (18 queues), and the
  // cluster and broker-name topics, and GET_ALL_TOPIC_CONFIG lists them with a data version.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TopicManager& t = rig.broker().topics();
    ASSERT_TRUE(t.Find("TBW102").has_value());
    EXPECT_EQ(t.Find("TBW102")->perm, 7);
    EXPECT_EQ(t.Find("TBW102")->write_queue_nums, 8);
    ASSERT_TRUE(t.Find("SCHEDULE_TOPIC_XXXX").has_value());
    EXPECT_EQ(t.Find("SCHEDULE_TOPIC_XXXX")->read_queue_nums, 18);
    ASSERT_TRUE(t.Find("DefaultCluster").has_value());
    ASSERT_TRUE(t.Find("broker-a").has_value());
    EXPECT_EQ(t.Find("broker-a")->write_queue_nums, 1);
    TestClient c(env, rig.address());
    RemotingCommand r = c.Call(request::kGetAllTopicConfig, {});
    ASSERT_EQ(r.code, response::kSuccess);
    auto all = protocol::TopicConfigSerializeWrapper::FromJson(
        std::string_view(reinterpret_cast<const char*>(r.body.data()), r.body.size()));
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    EXPECT_EQ(all->topic_config_table.size(), 4u);
    EXPECT_GT(all->data_version.counter, 0);
  });
}

TEST(BrokerTopicTest, CreatedTopicsArePersistedAndUpdated) {
  // Proves UPDATE_AND_CREATE_TOPIC creates a topic, a second call updates it (bumping the data
  // version), invalid names and queue counts are refused, and the table survives a crash.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    {
      TestClient c(env, rig.address());
      c.CreateTopicOk("Orders", 4);
      int64_t version = rig.broker().topics().data_version().counter;
      c.CreateTopicOk("Orders", 8, protocol::kPermRead);
      EXPECT_GT(rig.broker().topics().data_version().counter, version);
      EXPECT_EQ(c.CreateTopic("bad name", 4).code, response::kSystemError);
      EXPECT_EQ(c.CreateTopic("DefaultCluster", 4).code, response::kSystemError);
      EXPECT_EQ(c.CreateTopic("TBW102", 4).code, response::kSystemError);
      EXPECT_EQ(c.CreateTopic("Many", 5000).code, response::kSystemError);
      EXPECT_EQ(c.Call(request::kUpdateAndCreateTopic, {{"topic", "X"}}).code,
                response::kSystemError);
      rig.CrashBroker(sim::CrashMode::kDrop);
    }
    ASSERT_TRUE(rig.RestartBroker(env)) << rig.start_status().ToString();
    auto orders = rig.broker().topics().Find("Orders");
    ASSERT_TRUE(orders.has_value());
    EXPECT_EQ(orders->write_queue_nums, 8);
    EXPECT_EQ(orders->perm, protocol::kPermRead);
    EXPECT_FALSE(rig.broker().topics().Find("Many").has_value());
  });
}

TEST(BrokerTopicTest, AutoCreatedTopicsAreDurable) {
  // Proves a topic auto-created by a send is in topics.json after a crash.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    {
      TestClient c(env, rig.address());
      c.SendOk("Auto", 0, "x");
      rig.CrashBroker(sim::CrashMode::kDrop);
    }
    ASSERT_TRUE(rig.RestartBroker(env)) << rig.start_status().ToString();
    EXPECT_TRUE(rig.broker().topics().Find("Auto").has_value());
  });
}

TEST(BrokerQueryTest, QueryMessageFindsByKeyAndUniqKey) {
  // Proves QUERY_MESSAGE returns the records whose KEYS or UNIQ_KEY match, newest first, and
  // QUERY_NOT_FOUND when none does.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    c.SendOk("T", 0, "one", store::EncodeProperties({{"KEYS", "order-1 shared"}}));
    c.SendOk("T", 0, "two", store::EncodeProperties({{"KEYS", "shared"}, {"UNIQ_KEY", "U2"}}));
    c.SendOk("T", 0, "three");
    auto query = [&](const std::string& key) {
      protocol::QueryMessageRequestHeader h;
      h.topic = "T";
      h.key = key;
      h.max_num = 32;
      h.begin_timestamp = 0;
      h.end_timestamp = INT64_MAX;
      protocol::ExtFields f;
      h.Encode(f);
      return c.Call(request::kQueryMessage, f);
    };
    RemotingCommand r = query("shared");
    ASSERT_EQ(r.code, response::kSuccess) << r.remark.value_or("");
    auto found = TestClient::Messages(r);
    ASSERT_EQ(found.size(), 2u);
    std::set<std::string> bodies;
    for (const auto& m : found) bodies.insert(TestClient::BodyOf(m));
    EXPECT_EQ(bodies, (std::set<std::string>{"one", "two"}));
    r = query("U2");
    ASSERT_EQ(r.code, response::kSuccess);
    ASSERT_EQ(TestClient::Messages(r).size(), 1u);
    EXPECT_EQ(TestClient::BodyOf(TestClient::Messages(r)[0]), "two");
    EXPECT_EQ(query("absent").code, response::kQueryNotFound);
  });
}

TEST(BrokerQueryTest, ViewMessageByIdReadsTheRecordAtAnOffset) {
  // Proves VIEW_MESSAGE_BY_ID with the commit log offset of an offsetMsgId answers that record,
  // and an offset where no record starts is SYSTEM_ERROR.
  BrokerRig rig;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk("T", 1);
    c.SendOk("T", 0, "first");
    auto sent = c.SendOk("T", 0, "second");
    auto id = store::ParseOffsetMsgId(sent.msg_id);
    ASSERT_TRUE(id.ok());
    protocol::ViewMessageRequestHeader h{id->commit_log_offset};
    protocol::ExtFields f;
    h.Encode(f);
    RemotingCommand r = c.Call(request::kViewMessageById, f);
    ASSERT_EQ(r.code, response::kSuccess) << r.remark.value_or("");
    auto m = TestClient::Messages(r);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(TestClient::BodyOf(m[0]), "second");
    EXPECT_EQ(m[0].offset_msg_id, sent.msg_id);
    h.offset = id->commit_log_offset + 3;
    f.clear();
    h.Encode(f);
    EXPECT_EQ(c.Call(request::kViewMessageById, f).code, response::kSystemError);
    EXPECT_EQ(c.Call(request::kViewMessageById, {}).code, response::kSystemError);
  });
}

}  // namespace
}  // namespace apogee::broker::testing
