// Transactional messages on a simulated broker, over the wire: a half message is invisible until
// committed; commit delivers it once to its real queue (transaction properties as RocketMQ leaves
// them), rollback never; END_TRANSACTION with bad offsets, a wrong group or a normal message is
// refused with a clear remark and changes nothing; an unknown outcome is resolved by
// CHECK_TRANSACTION_STATE; checks stop after transactionCheckMax; a broker crash between the
// half message and the outcome is resolved after the restart, from the store alone.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/broker/transaction_service.h"
#include "core/protocol/transaction_headers.h"
#include "core/store/message_record.h"
#include "tests/broker/broker_test_util.h"

namespace apogee::broker::testing {
namespace {

using protocol::TransactionOutcome;
constexpr char kTopic[] = "TxTopic";
constexpr char kGroup[] = "pg";

BrokerConfig TxConfig() {
  BrokerConfig c = BrokerRig::DefaultConfig();
  c.transaction_check_interval = 1s;
  c.transaction_timeout = 2s;
  c.transaction_check_max = 3;
  c.store.flush_type = store::FlushType::kSync;
  return c;
}

std::string HalfProps(const std::string& id, const std::string& group = kGroup) {
  return store::EncodeProperties(
      {{"TRAN_MSG", "true"}, {"PGROUP", group}, {"UNIQ_KEY", id}, {"TAGS", "tx"}});
}

struct Half {
  protocol::SendMessageResponseHeader answer;
  int64_t commit_log_offset = -1;
};

// Sends a half message born now (the check service measures its age from its born time).
Half SendHalf(TestClient& c, io::Env& env, const std::string& id, int32_t queue_id = 1) {
  protocol::SendMessageRequestHeader h = TestClient::SendHeader(kTopic, queue_id, HalfProps(id));
  h.sys_flag = store::kSysFlagTransactionPrepared;
  h.born_timestamp = ToMillis(env.clock.WallNow());
  RemotingCommand r = c.Send(h, "body-" + id);
  EXPECT_EQ(r.code, response::kSuccess) << r.remark.value_or("");
  Half half;
  auto a = protocol::SendMessageResponseHeader::Decode(r.ext_fields);
  EXPECT_TRUE(a.ok());
  if (!a.ok()) return half;
  half.answer = *a;
  auto offset = store::ParseOffsetMsgId(a->msg_id);
  EXPECT_TRUE(offset.ok());
  if (offset.ok()) half.commit_log_offset = offset->commit_log_offset;
  return half;
}

protocol::EndTransactionRequestHeader EndHeader(int64_t queue_offset, int64_t commit_log_offset,
                                                TransactionOutcome outcome,
                                                const std::string& group = kGroup) {
  protocol::EndTransactionRequestHeader h;
  h.producer_group = group;
  h.tran_state_table_offset = queue_offset;
  h.commit_log_offset = commit_log_offset;
  h.commit_or_rollback = static_cast<int32_t>(outcome);
  h.msg_id = "id";
  return h;
}

RemotingCommand End(TestClient& c, const protocol::EndTransactionRequestHeader& h) {
  protocol::ExtFields f;
  h.Encode(f);
  return c.Call(request::kEndTransaction, std::move(f));
}

RemotingCommand End(TestClient& c, const Half& half, TransactionOutcome outcome) {
  return End(c, EndHeader(half.answer.queue_offset, half.commit_log_offset, outcome));
}

// Every message in kTopic queue `queue_id` from offset 0.
std::vector<protocol::MessageExt> Delivered(TestClient& c, int32_t queue_id = 1) {
  RemotingCommand r = c.Pull(TestClient::PullHeader(kTopic, queue_id, 0));
  if (r.code != response::kSuccess) return {};
  return TestClient::Messages(r);
}

std::string Prop(const protocol::MessageExt& m, std::string_view key) {
  return m.HasProperty(key) ? m.Property(key) : "<none>";
}

// Registers `kGroup` as a producer on the client's connection.
void ProducerHeartbeat(TestClient& c) {
  protocol::HeartbeatData hb;
  hb.client_id = "producer-1";
  protocol::ProducerData p;
  p.group_name = kGroup;
  hb.producer_data_set.push_back(p);
  std::string json = hb.ToJson();
  RemotingCommand r =
      c.Call(request::kHeartBeat, {}, std::vector<uint8_t>(json.begin(), json.end()));
  EXPECT_EQ(r.code, response::kSuccess);
}

// The checks a producer connection received.
struct CheckLog {
  std::vector<protocol::CheckTransactionStateRequestHeader> headers;
  std::vector<protocol::MessageExt> messages;
  // What to answer (nullopt: nothing).
  std::optional<TransactionOutcome> answer;
  RequestHandler Handler() {
    return [this](const std::shared_ptr<RemotingConnection>& conn,
                  RemotingCommand req) -> std::optional<RemotingCommand> {
      EXPECT_EQ(req.code, request::kCheckTransactionState);
      auto h = protocol::CheckTransactionStateRequestHeader::Decode(req.ext_fields);
      EXPECT_TRUE(h.ok()) << h.status().ToString();
      auto m = protocol::DecodeMessages(req.body);
      EXPECT_TRUE(m.ok() && m->size() == 1);
      if (!h.ok() || !m.ok() || m->size() != 1) return std::nullopt;
      headers.push_back(*h);
      messages.push_back(m->front());
      if (answer.has_value()) {
        protocol::EndTransactionRequestHeader end =
            EndHeader(h->tran_state_table_offset, h->commit_log_offset, *answer,
                      m->front().Property("PGROUP"));
        end.from_transaction_check = true;
        end.msg_id = h->msg_id.value_or("");
        protocol::ExtFields f;
        end.Encode(f);
        EXPECT_TRUE(
            conn->InvokeOneway(protocol::MakeRequest(request::kEndTransaction, std::move(f))).ok());
      }
      return std::nullopt;
    };
  }
};

TEST(TxnBrokerTest, CommitDeliversOnceWithTheTransactionPropertiesAsRocketMqLeavesThem) {
  BrokerRig rig(TxConfig());
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk(kTopic, 4);
    Half half = SendHalf(c, env, "T1");
    EXPECT_EQ(half.answer.queue_id, 1);
    EXPECT_EQ(half.answer.queue_offset, 0);
    EXPECT_TRUE(Delivered(c).empty()) << "a half message is invisible";

    RemotingCommand r = End(c, half, TransactionOutcome::kCommit);
    EXPECT_EQ(r.code, response::kSuccess) << r.remark.value_or("");
    env.scheduler.Sleep(1s);
    std::vector<protocol::MessageExt> got = Delivered(c);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(TestClient::BodyOf(got[0]), "body-T1");
    EXPECT_EQ(got[0].topic, kTopic);
    EXPECT_EQ(got[0].queue_id, 1);
    EXPECT_EQ(Prop(got[0], "UNIQ_KEY"), "T1");
    EXPECT_EQ(Prop(got[0], "REAL_TOPIC"), "<none>");
    EXPECT_EQ(Prop(got[0], "REAL_QID"), "<none>");
    EXPECT_EQ(Prop(got[0], "PGROUP"), kGroup);
    EXPECT_EQ(got[0].sys_flag & store::kSysFlagTransactionMask, store::kSysFlagTransactionCommit);
    EXPECT_EQ(got[0].prepared_transaction_offset, half.commit_log_offset);

    // The op record names the half message's queue offset.
    store::GetResult ops = rig.broker().store().Get(protocol::kTransOpHalfTopic, 0, 0, 32, 1 << 20);
    ASSERT_EQ(ops.messages.size(), 1u);
    auto op = protocol::DecodeMessages(ops.records);
    ASSERT_TRUE(op.ok());
    EXPECT_EQ(TestClient::BodyOf(op->front()), "0");
    EXPECT_EQ(op->front().Tags(), "d");

    // Resolved: no check follows, nothing more is delivered.
    env.scheduler.Sleep(10s);
    EXPECT_EQ(rig.broker().context().transactions->stats().checks_no_producer, 0u);
    EXPECT_EQ(Delivered(c).size(), 1u);
    EXPECT_EQ(rig.broker().context().transactions->stats().commits, 1u);
  });
}

TEST(TxnBrokerTest, RollbackNeverDelivers) {
  BrokerRig rig(TxConfig());
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk(kTopic, 4);
    Half half = SendHalf(c, env, "R1");
    RemotingCommand r = End(c, half, TransactionOutcome::kRollback);
    EXPECT_EQ(r.code, response::kSuccess) << r.remark.value_or("");
    env.scheduler.Sleep(10s);
    EXPECT_TRUE(Delivered(c).empty());
    const TransactionStats& s = rig.broker().context().transactions->stats();
    EXPECT_EQ(s.rollbacks, 1u);
    EXPECT_EQ(s.checks_sent + s.checks_no_producer, 0u) << "a rolled-back message is not checked";
    EXPECT_GE(rig.broker().context().transactions->progress().half, 1);
  });
}

TEST(TxnBrokerTest, BadEndTransactionIsRefusedWithAClearRemarkAndChangesNothing) {
  BrokerRig rig(TxConfig());
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address());
    c.CreateTopicOk(kTopic, 4);
    Half half = SendHalf(c, env, "B1");
    protocol::SendMessageResponseHeader plain = c.SendOk(kTopic, 2, "plain");
    int64_t plain_offset = store::ParseOffsetMsgId(plain.msg_id)->commit_log_offset;

    auto expect_refused = [&](const protocol::EndTransactionRequestHeader& h,
                              std::string_view remark) {
      RemotingCommand r = End(c, h);
      EXPECT_EQ(r.code, response::kSystemError);
      EXPECT_NE(r.remark.value_or("").find(remark), std::string::npos) << r.remark.value_or("");
    };
    expect_refused(EndHeader(0, half.commit_log_offset + 12345, TransactionOutcome::kCommit),
                   "Find prepared transaction message failed");
    expect_refused(EndHeader(plain.queue_offset, plain_offset, TransactionOutcome::kCommit),
                   "not a half message");
    expect_refused(EndHeader(half.answer.queue_offset, half.commit_log_offset,
                             TransactionOutcome::kCommit, "other-group"),
                   "producer group wrong");
    expect_refused(EndHeader(half.answer.queue_offset + 1, half.commit_log_offset,
                             TransactionOutcome::kCommit),
                   "state table offset wrong");
    protocol::EndTransactionRequestHeader bad =
        EndHeader(half.answer.queue_offset, half.commit_log_offset, TransactionOutcome::kCommit);
    bad.commit_or_rollback = 5;
    expect_refused(bad, "not 0, 8 or 12");
    protocol::ExtFields missing;
    RemotingCommand r = c.Call(request::kEndTransaction, std::move(missing));
    EXPECT_EQ(r.code, response::kSystemError);
    EXPECT_NE(r.remark.value_or("").find("producerGroup"), std::string::npos);

    EXPECT_TRUE(Delivered(c).empty());
    EXPECT_EQ(rig.broker().context().transactions->stats().end_errors, 5u);
    // The half message is still there to commit.
    EXPECT_EQ(End(c, half, TransactionOutcome::kCommit).code, response::kSuccess);
    env.scheduler.Sleep(1s);
    EXPECT_EQ(Delivered(c).size(), 1u);
  });
}

TEST(TxnBrokerTest, UnknownOutcomeIsResolvedByACheck) {
  BrokerRig rig(TxConfig());
  CheckLog log;
  log.answer = TransactionOutcome::kCommit;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address(), log.Handler());
    c.CreateTopicOk(kTopic, 4);
    ProducerHeartbeat(c);
    Half half = SendHalf(c, env, "U1");
    EXPECT_EQ(End(c, half, TransactionOutcome::kUnknown).code, response::kSuccess);
    env.scheduler.Sleep(1s);
    EXPECT_TRUE(Delivered(c).empty());
    EXPECT_TRUE(log.headers.empty()) << "checked before the transaction timeout";
    env.scheduler.Sleep(10s);
    ASSERT_EQ(log.headers.size(), 1u);
    EXPECT_EQ(log.headers[0].msg_id.value_or(""), "U1");
    EXPECT_NE(log.headers[0].commit_log_offset, half.commit_log_offset)
        << "the check names the copy";
    EXPECT_EQ(log.messages[0].topic, kTopic);
    EXPECT_EQ(log.messages[0].queue_id, 1);
    EXPECT_EQ(Prop(log.messages[0], "TRANSACTION_CHECK_TIMES"), "1");
    std::vector<protocol::MessageExt> got = Delivered(c);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(TestClient::BodyOf(got[0]), "body-U1");
  });
}

TEST(TxnBrokerTest, ChecksStopAfterTheMaximumAndTheMessageIsNeverDelivered) {
  BrokerRig rig(TxConfig());
  CheckLog log;  // never answers
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    TestClient c(env, rig.address(), log.Handler());
    c.CreateTopicOk(kTopic, 4);
    ProducerHeartbeat(c);
    Half half = SendHalf(c, env, "M1");
    env.scheduler.Sleep(30s);
    ASSERT_EQ(log.headers.size(), 3u);
    for (size_t i = 0; i < log.messages.size(); i++) {
      EXPECT_EQ(Prop(log.messages[i], "TRANSACTION_CHECK_TIMES"), fmt::format("{}", i + 1));
    }
    EXPECT_EQ(rig.broker().context().transactions->stats().given_up, 1u);
    EXPECT_TRUE(Delivered(c).empty());
    // A late commit of the original half message still works (RocketMQ does not forbid it).
    EXPECT_EQ(half.answer.queue_offset, 0);
  });
}

TEST(TxnBrokerTest, BrokerCrashBetweenHalfAndOutcomeIsResolvedAfterRestart) {
  BrokerRig rig(TxConfig());
  CheckLog log;
  log.answer = TransactionOutcome::kCommit;
  rig.Run([&](io::Env& env) {
    ASSERT_TRUE(rig.WaitUntilUp(env));
    {
      TestClient c(env, rig.address());
      c.CreateTopicOk(kTopic, 4);
      Half committed = SendHalf(c, env, "C1");
      Half rolled_back = SendHalf(c, env, "R1");
      SendHalf(c, env, "P1");  // pending at the crash
      EXPECT_EQ(End(c, committed, TransactionOutcome::kCommit).code, response::kSuccess);
      EXPECT_EQ(End(c, rolled_back, TransactionOutcome::kRollback).code, response::kSuccess);
      env.scheduler.Sleep(1s);  // the commit and the op records become durable
      c.Close();
    }
    rig.CrashBroker(sim::CrashMode::kDrop);
    env.scheduler.Sleep(1s);
    ASSERT_TRUE(rig.RestartBroker(env));
    TestClient c(env, rig.address(), log.Handler());
    ProducerHeartbeat(c);
    env.scheduler.Sleep(15s);
    // Only the pending one is checked: the op queue said the others were resolved.
    ASSERT_EQ(log.headers.size(), 1u);
    EXPECT_EQ(log.headers[0].msg_id.value_or(""), "P1");
    std::vector<protocol::MessageExt> got = Delivered(c);
    std::vector<std::string> ids;
    for (const auto& m : got) ids.push_back(m.UniqKey());
    EXPECT_EQ(ids, (std::vector<std::string>{"C1", "P1"}));
  });
}

}  // namespace
}  // namespace apogee::broker::testing
