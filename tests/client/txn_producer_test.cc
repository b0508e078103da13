// TransactionProducer against a scripted broker on the simulator: the half send's wire form
// (TRAN_MSG, PGROUP, sysFlag 0x4, DELAY dropped), the local executor's outcome carried by a
// oneway END_TRANSACTION that names the half message by offsets, a failed half send that runs
// nothing, and the broker's CHECK_TRANSACTION_STATE answered through the check listener with
// fromTransactionCheck=true.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/client/transaction_producer.h"
#include "core/protocol/bodies.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"
#include "core/protocol/transaction_headers.h"
#include "core/remoting/remoting_server.h"
#include "core/store/message_record.h"
#include "sim/world.h"

namespace apogee::client_test {
namespace {

using namespace std::chrono_literals;
using client::LocalTransactionState;
using client::TransactionProducer;
using protocol::TransactionOutcome;
namespace req = protocol::request;

constexpr char kTopic[] = "T";
constexpr char kGroup[] = "TXG";
constexpr char kBrokerHost[] = "10.0.0.2";
// The offsetMsgId the scripted broker answers: store 10.0.0.2:10911, commit log offset 0x1234.
constexpr char kOffsetMsgId[] = "0A00000200002A9F0000000000001234";

// A nameserver and one broker that answers sends, records everything else, and keeps the
// client's connection so it can send it checks.
struct Fake {
  int32_t send_code = 0;
  std::vector<RemotingCommand> sends;
  std::vector<RemotingCommand> ends;
  std::shared_ptr<RemotingConnection> client;
  std::unique_ptr<RemotingServer> ns_server;
  std::unique_ptr<RemotingServer> broker_server;

  void Start(io::Env& ns_env, io::Env& broker_env) {
    auto nd = std::make_shared<RequestDispatcher>();
    nd->Register(req::kGetRouteInfoByTopic,
                 [](const std::shared_ptr<RemotingConnection>&, RemotingCommand) {
                   protocol::TopicRouteData route;
                   route.queue_datas.push_back({"broker-a", 4, 4, 6, 0});
                   protocol::BrokerData bd;
                   bd.cluster = "DefaultCluster";
                   bd.broker_name = "broker-a";
                   bd.broker_addrs[0] = std::string(kBrokerHost) + ":10911";
                   route.broker_datas.push_back(bd);
                   RemotingCommand r = protocol::MakeResponseCommand(0);
                   std::string body = route.ToJson();
                   r.body.assign(body.begin(), body.end());
                   return std::optional(r);
                 });
    ns_server = std::make_unique<RemotingServer>(ns_env, nd);
    EXPECT_TRUE(ns_server->Start(io::Address{"", 9876}).ok());

    auto bd = std::make_shared<RequestDispatcher>();
    bd->Register(req::kSendMessageV2,
                 [this](const std::shared_ptr<RemotingConnection>& from, RemotingCommand request) {
                   client = from;
                   sends.push_back(request);
                   RemotingCommand r = protocol::MakeResponseCommand(send_code, "scripted");
                   if (send_code == 0) {
                     protocol::SendMessageResponseHeader h;
                     h.msg_id = kOffsetMsgId;
                     h.queue_id = 2;
                     h.queue_offset = 77;
                     h.Encode(r.ext_fields);
                   }
                   return std::optional(r);
                 });
    auto ok = [](const std::shared_ptr<RemotingConnection>&, RemotingCommand) {
      return std::optional(protocol::MakeResponseCommand(0));
    };
    bd->Register(req::kHeartBeat, ok);
    bd->Register(req::kUnregisterClient, ok);
    bd->Register(req::kEndTransaction,
                 [this](const std::shared_ptr<RemotingConnection>&, RemotingCommand request) {
                   ends.push_back(request);
                   return std::optional(protocol::MakeResponseCommand(0));
                 });
    broker_server = std::make_unique<RemotingServer>(broker_env, bd);
    EXPECT_TRUE(broker_server->Start(io::Address{"", 10911}).ok());
  }
  void Stop() {
    ns_server->Stop();
    broker_server->Stop();
  }
};

// Runs `body` on a client node next to the fake nameserver and broker.
void RunWithFake(const std::function<void(Fake&, io::Env&)>& body) {
  sim::World world(11);
  Fake fake;
  sim::NodeId ns = world.AddNode(sim::NodeSpec{"namesrv", "10.0.0.10", [](io::Env&) {}});
  sim::NodeId broker = world.AddNode(sim::NodeSpec{"broker", kBrokerHost, [](io::Env&) {}});
  bool done = false;
  sim::NodeId client = world.AddNode(sim::NodeSpec{"client", "10.0.0.1", [&](io::Env& env) {
                                                     fake.Start(world.env(ns), world.env(broker));
                                                     body(fake, env);
                                                     fake.Stop();
                                                     done = true;
                                                   }});
  world.Start(ns);
  world.Start(broker);
  world.Start(client);
  Instant limit = world.Now() + 300s;
  while (!done && world.Now() < limit) world.RunFor(100ms);
  ASSERT_TRUE(done) << "the test body did not finish";
}

std::shared_ptr<client::ClientInstance> Instance(io::Env& env) {
  client::ClientConfig config;
  config.namesrv_addrs = {"10.0.0.10:9876"};
  config.client_ip = "10.0.0.1";
  return std::make_shared<client::ClientInstance>(env, config);
}

protocol::Message Msg(const std::string& body) {
  protocol::Message m;
  m.topic = kTopic;
  m.body.assign(body.begin(), body.end());
  m.SetTags("TagA");
  return m;
}

std::string Field(const RemotingCommand& c, const std::string& key) {
  auto it = c.ext_fields.find(key);
  return it == c.ext_fields.end() ? "<none>" : it->second;
}

client::TransactionCheckListener NoChecks() {
  return [](const protocol::MessageExt&) {
    ADD_FAILURE() << "unexpected check";
    return LocalTransactionState::kUnknown;
  };
}

TEST(TxnProducerTest, HalfSendThenLocalOutcomeThenEndTransactionNamingTheHalfMessage) {
  // Proves: the half message's wire form and that each local outcome reaches the broker as
  // END_TRANSACTION with the half message's queue and commit log offsets.
  RunWithFake([](Fake& fake, io::Env& env) {
    TransactionProducer p(Instance(env), client::ProducerConfig{.group = kGroup}, NoChecks());
    ASSERT_TRUE(p.Start().ok());
    const LocalTransactionState states[] = {LocalTransactionState::kCommit,
                                            LocalTransactionState::kRollback,
                                            LocalTransactionState::kUnknown};
    const char* expected[] = {"8", "12", "0"};
    for (int i = 0; i < 3; i++) {
      protocol::Message m = Msg("b");
      m.SetDelayLevel(3);
      std::string seen_id;
      auto r =
          p.SendMessageInTransaction(m, [&](const protocol::Message& half, const std::string& id) {
            EXPECT_EQ(half.Property("TRAN_MSG"), "true");
            seen_id = id;
            return states[i];
          });
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->local_state, states[i]);
      EXPECT_TRUE(r->end_status.ok()) << r->end_status.ToString();
      EXPECT_EQ(seen_id, r->send.msg_id);
      EXPECT_FALSE(seen_id.empty());
      env.scheduler.Sleep(100ms);  // the oneway END arrives
      ASSERT_EQ(fake.ends.size(), static_cast<size_t>(i + 1));
      const RemotingCommand& end = fake.ends.back();
      EXPECT_TRUE(end.is_oneway());
      EXPECT_EQ(Field(end, "commitOrRollback"), expected[i]);
      EXPECT_EQ(Field(end, "producerGroup"), kGroup);
      EXPECT_EQ(Field(end, "tranStateTableOffset"), "77");
      EXPECT_EQ(Field(end, "commitLogOffset"), "4660");  // 0x1234
      EXPECT_EQ(Field(end, "fromTransactionCheck"), "false");
      EXPECT_EQ(Field(end, "msgId"), seen_id);
    }
    ASSERT_EQ(fake.sends.size(), 3u);
    auto h = protocol::SendMessageRequestHeader::Decode(fake.sends[0]);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->sys_flag & 0x4, 0x4);
    auto props = protocol::DecodeMessageProperties(h->properties);
    EXPECT_EQ(props["TRAN_MSG"], "true");
    EXPECT_EQ(props["PGROUP"], kGroup);
    EXPECT_EQ(props.count("DELAY"), 0u) << "a transactional message is never delayed";
    p.Shutdown();
  });
}

TEST(TxnProducerTest, AFailedHalfSendRunsNoLocalTransactionAndSendsNoEnd) {
  // Proves: an error answer to the half send is the call's error; the executor never runs.
  RunWithFake([](Fake& fake, io::Env& env) {
    fake.send_code = protocol::response::kMessageIllegal;
    TransactionProducer p(Instance(env), client::ProducerConfig{.group = kGroup}, NoChecks());
    ASSERT_TRUE(p.Start().ok());
    bool ran = false;
    auto r =
        p.SendMessageInTransaction(Msg("b"), [&](const protocol::Message&, const std::string&) {
          ran = true;
          return LocalTransactionState::kCommit;
        });
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(ran);
    env.scheduler.Sleep(1s);
    EXPECT_TRUE(fake.ends.empty());
    p.Shutdown();
  });
}

TEST(TxnProducerTest, ABrokerCheckIsAnsweredThroughTheListener) {
  // Proves: CHECK_TRANSACTION_STATE reaches the listener with the half message, and its answer
  // goes back as END_TRANSACTION (fromTransactionCheck=true) with the check's offsets and ids.
  RunWithFake([](Fake& fake, io::Env& env) {
    std::vector<std::string> asked;
    TransactionProducer p(Instance(env), client::ProducerConfig{.group = kGroup},
                          [&](const protocol::MessageExt& m) {
                            asked.push_back(m.UniqKey());
                            return LocalTransactionState::kRollback;
                          });
    ASSERT_TRUE(p.Start().ok());
    auto r = p.SendMessageInTransaction(Msg("b"), [](const protocol::Message&, const std::string&) {
      return LocalTransactionState::kUnknown;
    });
    ASSERT_TRUE(r.ok());
    ASSERT_NE(fake.client, nullptr);

    // The broker's check: the half message as a stored record under its real topic.
    std::string props = store::EncodeProperties({{"TRAN_MSG", "true"},
                                                 {"PGROUP", kGroup},
                                                 {"UNIQ_KEY", r->send.msg_id},
                                                 {"TRANSACTION_CHECK_TIMES", "1"}});
    std::vector<uint8_t> body{'b'};
    store::MessageToStore m;
    m.topic = kTopic;
    m.queue_id = 2;
    m.body = body;
    m.properties = props;
    store::RecordPlacement at;
    at.queue_offset = 90;
    at.physical_offset = 5000;
    std::vector<uint8_t> record(store::RecordSizeOf(m));
    store::EncodeRecord(m, at, record);
    protocol::CheckTransactionStateRequestHeader h;
    h.tran_state_table_offset = 90;
    h.commit_log_offset = 5000;
    h.msg_id = r->send.msg_id;
    h.transaction_id = r->send.msg_id;
    protocol::ExtFields f;
    h.Encode(f);
    ASSERT_TRUE(fake.client
                    ->InvokeOneway(protocol::MakeRequest(req::kCheckTransactionState, std::move(f),
                                                         std::move(record)))
                    .ok());
    env.scheduler.Sleep(1s);
    EXPECT_EQ(asked, std::vector<std::string>{r->send.msg_id});
    // The server handles each request on a fiber of its own: find the check's answer.
    ASSERT_EQ(fake.ends.size(), 2u);
    size_t from_check = Field(fake.ends[0], "fromTransactionCheck") == "true" ? 0 : 1;
    const RemotingCommand& end = fake.ends[from_check];
    EXPECT_EQ(Field(fake.ends[1 - from_check], "fromTransactionCheck"), "false");
    EXPECT_EQ(Field(end, "commitOrRollback"), "12");
    EXPECT_EQ(Field(end, "fromTransactionCheck"), "true");
    EXPECT_EQ(Field(end, "tranStateTableOffset"), "90");
    EXPECT_EQ(Field(end, "commitLogOffset"), "5000");
    EXPECT_EQ(Field(end, "msgId"), r->send.msg_id);
    EXPECT_EQ(p.stats().checks, 1u);
    p.Shutdown();
  });
}

}  // namespace
}  // namespace apogee::client_test
