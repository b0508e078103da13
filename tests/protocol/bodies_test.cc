// The JSON bodies: exact output, round trips, what real clients send, and what is refused.

#include "core/protocol/bodies.h"

#include <gtest/gtest.h>

#include <string>

namespace apogee::protocol {
namespace {

template <typename T>
T MustParse(std::string_view text) {
  Result<T> r = T::FromJson(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : T{};
}

template <typename T>
void ExpectRoundTrip(const T& value) {
  Result<T> back = T::FromJson(value.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString() << " in " << value.ToJson();
  EXPECT_EQ(*back, value) << value.ToJson();
}

template <typename T>
std::string ErrorOf(std::string_view text) {
  Result<T> r = T::FromJson(text);
  EXPECT_FALSE(r.ok()) << "accepted: " << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.code(), ErrorCode::kMalformed) << r.status().ToString();
  return r.status().message();
}

TEST(BodiesTest, TopicConfigHasRocketMqDefaultsAndExactJson) {
  // Proves a default TopicConfig is 16/16/rw/SINGLE_TAG and is written with the Java names.
  TopicConfig t;
  t.topic_name = "T";
  EXPECT_EQ(t.ToJson(), R"({"topicName":"T","readQueueNums":16,"writeQueueNums":16,"perm":6,)"
                        R"("topicFilterType":"SINGLE_TAG","topicSysFlag":0,"order":false})");
  ExpectRoundTrip(t);
  TopicConfig only_name = MustParse<TopicConfig>(R"({"topicName":"T"})");
  EXPECT_EQ(only_name, t);
}

TEST(BodiesTest, TopicConfigReadsNumbersAsStringsAndIgnoresUnknownMembers) {
  // Proves fastjson-style tolerance: "8" for an int, "true" for a bool, extra members, nulls.
  TopicConfig t = MustParse<TopicConfig>(
      R"({"topicName":"T","readQueueNums":"8","writeQueueNums":4,"perm":"2","order":"TRUE",)"
      R"("topicFilterType":null,"attributes":{"x":[1,2]},"topicSysFlag":" 1 "})");
  EXPECT_EQ(t.read_queue_nums, 8);
  EXPECT_EQ(t.write_queue_nums, 4);
  EXPECT_EQ(t.perm, 2);
  EXPECT_TRUE(t.order);
  EXPECT_EQ(t.topic_filter_type, "SINGLE_TAG");
  EXPECT_EQ(t.topic_sys_flag, 1);
}

TEST(BodiesTest, RegisterBrokerBodyAsTheJavaBrokerSendsIt) {
  // Proves the REGISTER_BROKER body parses, table keys fill missing names, and it round-trips.
  RegisterBrokerBody b = MustParse<RegisterBrokerBody>(
      R"({"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":)"
      R"({"counter":3,"timestamp":1700000000000},"topicConfigTable":{"TopicA":{"order":false,)"
      R"("perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicA",)"
      R"("topicSysFlag":0,"writeQueueNums":4},"TBW102":{"perm":7,"readQueueNums":8,)"
      R"("writeQueueNums":8}}}})");
  const TopicConfigSerializeWrapper& w = b.topic_config_serialize_wrapper;
  EXPECT_EQ(w.data_version.counter, 3);
  EXPECT_EQ(w.data_version.timestamp, 1700000000000);
  ASSERT_EQ(w.topic_config_table.size(), 2u);
  EXPECT_EQ(w.topic_config_table.at("TopicA").read_queue_nums, 4);
  EXPECT_EQ(w.topic_config_table.at("TBW102").topic_name, "TBW102");
  EXPECT_EQ(w.topic_config_table.at("TBW102").perm, 7);
  ExpectRoundTrip(b);
  b.filter_server_list = {"10.0.0.1:30000"};
  ExpectRoundTrip(b);
}

TopicRouteData SampleRoute() {
  TopicRouteData r;
  r.queue_datas.push_back({"broker-a", 4, 4, 6, 0});
  r.queue_datas.push_back({"broker-b", 8, 8, 4, 1});
  r.broker_datas.push_back({"DefaultCluster", "broker-a", {{0, "10.0.0.1:10911"}}});
  r.broker_datas.push_back(
      {"DefaultCluster", "broker-b", {{0, "10.0.0.2:10911"}, {1, "10.0.0.3:10911"}}});
  return r;
}

TEST(BodiesTest, TopicRouteDataWritesQuotedBrokerIdsAndTheFourXFlagName) {
  // Proves the exact route answer: quoted broker ids, "topicSynFlag" as 4.x names it, an empty
  // filterServerTable, no orderTopicConf when unset.
  TopicRouteData r;
  r.queue_datas.push_back({"broker-a", 4, 4, 6, 0});
  r.broker_datas.push_back({"c", "broker-a", {{0, "10.0.0.1:10911"}, {1, "10.0.0.2:10911"}}});
  EXPECT_EQ(
      r.ToJson(),
      R"({"queueDatas":[{"brokerName":"broker-a","readQueueNums":4,"writeQueueNums":4,)"
      R"("perm":6,"topicSynFlag":0}],"brokerDatas":[{"cluster":"c","brokerName":"broker-a",)"
      R"("brokerAddrs":{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"}}],"filterServerTable":{}})");
  ExpectRoundTrip(SampleRoute());
  TopicRouteData ordered = SampleRoute();
  ordered.order_topic_conf = "broker-a:4";
  ordered.filter_server_table["10.0.0.1:10911"] = {"10.0.0.1:30000"};
  ExpectRoundTrip(ordered);
}

TEST(BodiesTest, TopicRouteDataAcceptsBareNumericKeysAndEitherFlagName) {
  // Proves old fastjson output ({0:"addr"}) and the 5.x "topicSysFlag" name are read.
  TopicRouteData r = MustParse<TopicRouteData>(
      R"({"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"},)"
      R"("brokerName":"b","cluster":"c"}],"queueDatas":[{"brokerName":"b","perm":6,)"
      R"("readQueueNums":"4","topicSysFlag":2,"writeQueueNums":4}]})");
  ASSERT_EQ(r.broker_datas.size(), 1u);
  EXPECT_EQ(r.broker_datas[0].broker_addrs.at(0), "127.0.0.1:10911");
  EXPECT_EQ(r.broker_datas[0].broker_addrs.at(1), "127.0.0.1:10921");
  EXPECT_EQ(r.broker_datas[0].MasterAddr(), "127.0.0.1:10911");
  ASSERT_EQ(r.queue_datas.size(), 1u);
  EXPECT_EQ(r.queue_datas[0].read_queue_nums, 4);
  EXPECT_EQ(r.queue_datas[0].topic_sys_flag, 2);
  EXPECT_FALSE(r.order_topic_conf.has_value());
  EXPECT_TRUE(r.filter_server_table.empty());
}

TEST(BodiesTest, BrokerDataWithoutMasterHasNoMasterAddr) {
  // Proves MasterAddr looks for id 0 only.
  BrokerData b{"c", "b", {{1, "10.0.0.2:10911"}}};
  EXPECT_FALSE(b.MasterAddr().has_value());
}

TEST(BodiesTest, RouteErrorsNameTheMemberPath) {
  // Proves a bad member deep in a route is reported by its path.
  EXPECT_EQ(ErrorOf<TopicRouteData>(
                R"({"queueDatas":[{"brokerName":"a"},{"brokerName":"b","perm":"rw"}]})"),
            "TopicRouteData.queueDatas[1].perm: an int32 was expected, got string 'rw'");
  EXPECT_EQ(ErrorOf<TopicRouteData>(R"({"brokerDatas":[{"brokerName":"b","brokerAddrs":)"
                                    R"({"master":"10.0.0.1:10911"}}]})"),
            "TopicRouteData.brokerDatas[0].brokerAddrs.master: the key is not a broker id");
  EXPECT_EQ(ErrorOf<TopicRouteData>(R"({"queueDatas":[{"perm":6}]})"),
            "TopicRouteData.queueDatas[0].brokerName: the member is missing");
  EXPECT_EQ(ErrorOf<TopicRouteData>(R"({"queueDatas":{"brokerName":"b"}})"),
            "TopicRouteData.queueDatas: an array was expected, got an object");
  EXPECT_EQ(ErrorOf<TopicRouteData>(R"({"queueDatas":[{"brokerName":"b","perm":4294967296}]})"),
            "TopicRouteData.queueDatas[0].perm: 4294967296 is outside [-2147483648, 2147483647]");
  EXPECT_EQ(ErrorOf<TopicRouteData>(R"({"queueDatas":[{"brokerName":"b","perm":6.5}]})"),
            "TopicRouteData.queueDatas[0].perm: an int32 was expected, got number 6.5");
  EXPECT_EQ(ErrorOf<TopicRouteData>(R"({"filterServerTable":{"a":"b"}})"),
            "TopicRouteData.filterServerTable.a: an array was expected");
}

TEST(BodiesTest, NonObjectAndBadJsonAreRefused) {
  // Proves text that is not JSON, or JSON that is not an object, is kMalformed naming the body.
  EXPECT_NE(ErrorOf<TopicRouteData>("{").find("TopicRouteData: json:"), std::string::npos);
  EXPECT_EQ(ErrorOf<TopicRouteData>("[]"), "TopicRouteData: the body is not a JSON object");
  EXPECT_EQ(ErrorOf<HeartbeatData>(R"({"clientID":"c","producerDataSet":[7]})"),
            "HeartbeatData.producerDataSet[0]: an object was expected, got number 7");
  EXPECT_EQ(ErrorOf<ConsumerListBody>(R"({"consumerIdList":[["x"]]})"),
            "ConsumerListBody.consumerIdList[0]: a string was expected, got an array");
  EXPECT_EQ(ErrorOf<TopicConfig>(R"({"order":"yes"})"),
            "TopicConfig.order: a boolean was expected, got string 'yes'");
}

TEST(BodiesTest, ClusterInfoRoundTripsAndParses) {
  // Proves the GET_BROKER_CLUSTER_INFO body in both directions.
  ClusterInfo c;
  c.broker_addr_table["broker-a"] = {"DefaultCluster", "broker-a", {{0, "10.0.0.1:10911"}}};
  c.broker_addr_table["broker-b"] = {"DefaultCluster", "broker-b", {{0, "10.0.0.2:10911"}}};
  c.cluster_addr_table["DefaultCluster"] = {"broker-a", "broker-b"};
  ExpectRoundTrip(c);
  ClusterInfo parsed = MustParse<ClusterInfo>(
      R"({"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"10.0.0.1:10911"},)"
      R"("brokerName":"broker-a","cluster":"DefaultCluster"}},)"
      R"("clusterAddrTable":{"DefaultCluster":["broker-a"]}})");
  EXPECT_EQ(parsed.broker_addr_table.at("broker-a").broker_addrs.at(0), "10.0.0.1:10911");
  EXPECT_EQ(parsed.cluster_addr_table.at("DefaultCluster").count("broker-a"), 1u);
}

TEST(BodiesTest, HeartbeatFromTheJavaClient) {
  // Proves a Java client's heartbeat (enum names, tag sets, hash codes) parses and round-trips.
  HeartbeatData h = MustParse<HeartbeatData>(
      R"({"clientID":"10.0.0.9@12345","consumerDataSet":[{"consumeFromWhere":)"
      R"("CONSUME_FROM_FIRST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"cg",)"
      R"("messageModel":"BROADCASTING","subscriptionDataSet":[{"classFilterMode":false,)"
      R"("codeSet":[2598919,2598920],"expressionType":"TAG","subString":"TagA || TagB",)"
      R"("subVersion":1700000000123,"tagsSet":["TagA","TagB"],"topic":"T"}],)"
      R"("unitMode":false}],"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"},)"
      R"({"groupName":"pg"}]})");
  EXPECT_EQ(h.client_id, "10.0.0.9@12345");
  ASSERT_EQ(h.producer_data_set.size(), 2u);
  EXPECT_EQ(h.producer_data_set[1].group_name, "pg");
  ASSERT_EQ(h.consumer_data_set.size(), 1u);
  const ConsumerData& c = h.consumer_data_set[0];
  EXPECT_EQ(c.consume_from_where, ConsumeFromWhere::kFirstOffset);
  EXPECT_EQ(c.consume_type, ConsumeType::kConsumePassively);
  EXPECT_EQ(c.message_model, MessageModel::kBroadcasting);
  ASSERT_EQ(c.subscription_data_set.size(), 1u);
  const SubscriptionData& s = c.subscription_data_set[0];
  EXPECT_EQ(s.tags_set, (std::set<std::string>{"TagA", "TagB"}));
  EXPECT_EQ(s.code_set, (std::set<int32_t>{2598919, 2598920}));
  EXPECT_EQ(s.sub_version, 1700000000123);
  ExpectRoundTrip(h);
}

TEST(BodiesTest, HeartbeatFromTheCppClientUsesOrdinalsAndStringVersions) {
  // Proves rocketmq-client-cpp's form: enums as Java ordinals, subVersion as a string, no
  // expressionType or unitMode.
  HeartbeatData h = MustParse<HeartbeatData>(
      R"({"clientID":"c1","consumerDataSet":[{"groupName":"g","consumeFromWhere":5,)"
      R"("consumeType":0,"messageModel":1,"subscriptionDataSet":[{"topic":"T",)"
      R"("subString":"*","subVersion":"1700000000000"}]}],"producerDataSet":[]})");
  ASSERT_EQ(h.consumer_data_set.size(), 1u);
  const ConsumerData& c = h.consumer_data_set[0];
  EXPECT_EQ(c.consume_from_where, ConsumeFromWhere::kTimestamp);
  EXPECT_EQ(c.consume_type, ConsumeType::kConsumeActively);
  EXPECT_EQ(c.message_model, MessageModel::kClustering);
  EXPECT_FALSE(c.unit_mode);
  const SubscriptionData& s = c.subscription_data_set.at(0);
  EXPECT_EQ(s.sub_version, 1700000000000);
  EXPECT_EQ(s.expression_type, "TAG");
  EXPECT_TRUE(s.tags_set.empty());
}

TEST(BodiesTest, HeartbeatRefusesUnknownEnumsAndMissingIds) {
  // Proves an enum name or ordinal Java does not know, or a missing clientID, is refused.
  EXPECT_EQ(
      ErrorOf<HeartbeatData>(
          R"({"clientID":"c","consumerDataSet":[{"groupName":"g","messageModel":"FANOUT"}]})"),
      "HeartbeatData.consumerDataSet[0].messageModel: 'FANOUT' is not a MessageModel");
  EXPECT_EQ(ErrorOf<HeartbeatData>(
                R"({"clientID":"c","consumerDataSet":[{"groupName":"g","consumeFromWhere":6}]})"),
            "HeartbeatData.consumerDataSet[0].consumeFromWhere: 6 is outside [0, 5]");
  EXPECT_EQ(ErrorOf<HeartbeatData>(
                R"({"clientID":"c","consumerDataSet":[{"groupName":"g","consumeType":true}]})"),
            "HeartbeatData.consumerDataSet[0].consumeType: a ConsumeType name was expected");
  EXPECT_EQ(ErrorOf<HeartbeatData>(R"({"producerDataSet":[]})"),
            "HeartbeatData.clientID: the member is missing");
  EXPECT_EQ(ErrorOf<HeartbeatData>(R"({"clientID":null})"),
            "HeartbeatData.clientID: the member is missing");
}

TEST(BodiesTest, EnumNamesRoundTrip) {
  // Proves every enum value's name parses back to it, and unknown names are kMalformed.
  for (auto v : {ConsumeType::kConsumeActively, ConsumeType::kConsumePassively}) {
    EXPECT_EQ(ParseConsumeType(ToString(v)).value(), v);
  }
  for (auto v : {MessageModel::kBroadcasting, MessageModel::kClustering}) {
    EXPECT_EQ(ParseMessageModel(ToString(v)).value(), v);
  }
  for (int i = 0; i <= 5; ++i) {
    auto v = static_cast<ConsumeFromWhere>(i);
    EXPECT_EQ(ParseConsumeFromWhere(ToString(v)).value(), v);
  }
  EXPECT_EQ(ToString(ConsumeFromWhere::kLastOffset), "CONSUME_FROM_LAST_OFFSET");
  EXPECT_EQ(ToString(ConsumeType::kConsumePassively), "CONSUME_PASSIVELY");
  EXPECT_EQ(ParseConsumeType("consume_passively").code(), ErrorCode::kMalformed);
  EXPECT_EQ(ParseConsumeFromWhere("").code(), ErrorCode::kMalformed);
}

TEST(BodiesTest, SubscriptionDataIsBuiltAsTheJavaClientBuildsIt) {
  // Proves "*" and "" subscribe to all, tags are split on "||" and trimmed, codes are Java
  // hash codes, and separators alone are refused.
  SubscriptionData all = BuildSubscriptionData("T", "", 7).value();
  EXPECT_EQ(all.sub_string, "*");
  EXPECT_TRUE(all.tags_set.empty());
  EXPECT_EQ(all.sub_version, 7);
  EXPECT_EQ(BuildSubscriptionData("T", "*", 7).value(), all);

  SubscriptionData two = BuildSubscriptionData("T", " TagA ||TagB||  || TagA", 9).value();
  EXPECT_EQ(two.topic, "T");
  EXPECT_EQ(two.sub_string, " TagA ||TagB||  || TagA");
  EXPECT_EQ(two.tags_set, (std::set<std::string>{"TagA", "TagB"}));
  EXPECT_EQ(two.code_set, (std::set<int32_t>{2598919, 2598920}));
  EXPECT_EQ(two.expression_type, "TAG");

  SubscriptionData spaces = BuildSubscriptionData("T", "  ", 1).value();
  EXPECT_TRUE(spaces.tags_set.empty());
  SubscriptionData pipe = BuildSubscriptionData("T", "|||", 1).value();
  EXPECT_EQ(pipe.tags_set, (std::set<std::string>{"|"}));
  EXPECT_EQ(BuildSubscriptionData("T", "||", 1).code(), ErrorCode::kMalformed);
  EXPECT_EQ(BuildSubscriptionData("T", "||||", 1).code(), ErrorCode::kMalformed);
}

TEST(BodiesTest, MessageQueueOrdersAsJavaAndPrints) {
  // Proves queues order by topic, broker name, then queue id, and print like Java.
  MessageQueue a{"A", "b", 2};
  MessageQueue b{"A", "b", 10};
  MessageQueue c{"A", "c", 0};
  MessageQueue d{"B", "a", 0};
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);
  EXPECT_EQ(a.ToString(), "MessageQueue [topic=A, brokerName=b, queueId=2]");
  EXPECT_EQ(a.ToJson(), R"({"topic":"A","brokerName":"b","queueId":2})");
}

TEST(BodiesTest, LockBodiesRoundTripAndParse) {
  // Proves LOCK_BATCH_MQ / UNLOCK_BATCH_MQ bodies both ways, with duplicate queues merged.
  LockBatchRequestBody req;
  req.consumer_group = "g";
  req.client_id = "c1";
  req.mq_set = {{"T", "broker-a", 0}, {"T", "broker-a", 1}};
  ExpectRoundTrip(req);
  LockBatchRequestBody parsed = MustParse<LockBatchRequestBody>(
      R"({"clientId":"c1","consumerGroup":"g","mqSet":[{"brokerName":"broker-a","queueId":1,)"
      R"("topic":"T"},{"brokerName":"broker-a","queueId":"0","topic":"T"},)"
      R"({"brokerName":"broker-a","queueId":1,"topic":"T"}]})");
  EXPECT_EQ(parsed, req);

  LockBatchResponseBody resp;
  resp.lock_ok_mq_set = {{"T", "broker-a", 1}};
  EXPECT_EQ(resp.ToJson(),
            R"({"lockOKMQSet":[{"topic":"T","brokerName":"broker-a","queueId":1}]})");
  ExpectRoundTrip(resp);
  EXPECT_TRUE(MustParse<LockBatchResponseBody>("{}").lock_ok_mq_set.empty());

  UnlockBatchRequestBody unlock;
  unlock.consumer_group = "g";
  unlock.client_id = "c1";
  unlock.mq_set = req.mq_set;
  ExpectRoundTrip(unlock);
  EXPECT_EQ(ErrorOf<UnlockBatchRequestBody>(
                R"({"clientId":"c","consumerGroup":"g","mqSet":[{"topic":"T","queueId":0}]})"),
            "UnlockBatchRequestBody.mqSet[0].brokerName: the member is missing");
}

TEST(BodiesTest, ListsRoundTrip) {
  // Proves the consumer list and the name lists, with the optional broker address.
  ConsumerListBody c;
  c.consumer_id_list = {"10.0.0.1@1", "10.0.0.2@2"};
  EXPECT_EQ(c.ToJson(), R"({"consumerIdList":["10.0.0.1@1","10.0.0.2@2"]})");
  ExpectRoundTrip(c);
  GroupList g;
  g.group_list = {"a", "b"};
  EXPECT_EQ(g.ToJson(), R"({"groupList":["a","b"]})");
  ExpectRoundTrip(g);
  TopicList t;
  t.topic_list = {"T1", "T2"};
  ExpectRoundTrip(t);
  t.broker_addr = "10.0.0.1:10911";
  ExpectRoundTrip(t);
  EXPECT_EQ(MustParse<TopicList>(R"({"topicList":["x","x"]})").topic_list.size(), 1u);
}

}  // namespace
}  // namespace apogee::protocol
