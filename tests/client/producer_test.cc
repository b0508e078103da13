// The producer against scripted brokers on the simulator: results, retries on another broker,
// the send timeout over all attempts, async and oneway sends, batches, ordered sends and
// latency-based broker avoidance.

#include "core/client/producer.h"

#include <gtest/gtest.h>

#include <set>

#include "core/client/unique_id.h"
#include "core/protocol/message.h"
#include "tests/client/fake_cluster.h"

namespace apogee::client_test {
namespace {

using client::ClientConfig;
using client::ClientInstance;
using client::Producer;
using client::ProducerConfig;
using client::SendResult;
using client::SendStatus;
using protocol::Message;
namespace rsp = protocol::response;

Message Msg(const std::string& topic, const std::string& body = "hello") {
  Message m;
  m.topic = topic;
  m.body.assign(body.begin(), body.end());
  m.SetTags("TagA");
  return m;
}

std::shared_ptr<ClientInstance> Instance(io::Env& env) {
  ClientConfig config;
  config.namesrv_addrs = {"10.0.0.10:9876"};
  config.client_ip = "10.0.0.1";
  return std::make_shared<ClientInstance>(env, config);
}

std::string Header(const RemotingCommand& c, const std::string& key) {
  auto it = c.ext_fields.find(key);
  return it == c.ext_fields.end() ? "" : it->second;
}

size_t TotalSends(FakeCluster& c) {
  return c.broker("broker-a").sends.size() + c.broker("broker-b").sends.size();
}

TEST(ProducerTest, SendReturnsTheBrokersAnswerAndSetsTheUniqueKey) {
  // Proves: SEND_MESSAGE_V2 with short keys, UNIQ_KEY set by the client and returned as msgId.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a"}, 4);
    Producer p(Instance(env), ProducerConfig{.group = "PG"});
    ASSERT_TRUE(p.Start().ok());
    Result<SendResult> r = p.Send(Msg("T"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, SendStatus::kSendOk);
    EXPECT_TRUE(client::IsUniqueId(r->msg_id)) << r->msg_id;
    EXPECT_EQ(client::UniqueIdIp(r->msg_id), "10.0.0.1");
    EXPECT_EQ(r->offset_msg_id, "0A00000200002A9F0000000000000000");
    EXPECT_EQ(r->message_queue.broker_name, "broker-a");
    ASSERT_EQ(c.broker("broker-a").sends.size(), 1u);
    const RemotingCommand& sent = c.broker("broker-a").sends[0];
    EXPECT_EQ(sent.code, protocol::request::kSendMessageV2);
    EXPECT_EQ(Header(sent, "a"), "PG");
    EXPECT_EQ(Header(sent, "b"), "T");
    EXPECT_EQ(Header(sent, "e"), std::to_string(r->message_queue.queue_id));
    auto props = protocol::DecodeMessageProperties(Header(sent, "i"));
    EXPECT_EQ(props["UNIQ_KEY"], r->msg_id);
    EXPECT_EQ(props["TAGS"], "TagA");
    p.Shutdown();
  });
}

TEST(ProducerTest, FlushTimeoutsAreResultsNotErrors) {
  // Proves: codes 10, 12 and 11 map to the three non-OK send statuses.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a"}, 1);
    c.broker("broker-a").script = {rsp::kFlushDiskTimeout, rsp::kFlushSlaveTimeout,
                                   rsp::kSlaveNotAvailable};
    Producer p(Instance(env), ProducerConfig{.group = "PG"});
    ASSERT_TRUE(p.Start().ok());
    for (SendStatus want : {SendStatus::kFlushDiskTimeout, SendStatus::kFlushSlaveTimeout,
                            SendStatus::kSlaveNotAvailable}) {
      Result<SendResult> r = p.Send(Msg("T"));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->status, want);
    }
    EXPECT_EQ(c.broker("broker-a").sends.size(), 3u);
  });
}

TEST(ProducerTest, RetryableAnswerMovesToTheOtherBroker) {
  // Proves: each of 17, 14, 1, 16, 2 is retried, and the retry goes to the other broker.
  for (int32_t code : {rsp::kTopicNotExist, rsp::kServiceNotAvailable, rsp::kSystemError,
                       rsp::kNoPermission, rsp::kSystemBusy}) {
    FakeCluster cluster;
    cluster.Run([code](FakeCluster& c, io::Env& env) {
      c.AddTopic("T", {"broker-a", "broker-b"}, 4);
      c.broker("broker-a").script = {code};
      c.broker("broker-b").script = {code};
      Producer p(Instance(env), ProducerConfig{.group = "PG"});
      ASSERT_TRUE(p.Start().ok());
      Result<SendResult> r = p.Send(Msg("T"));
      ASSERT_TRUE(r.ok()) << code << ": " << r.status().ToString();
      // Both brokers fail once: the attempts alternate a, b, a or b, a, b.
      EXPECT_EQ(TotalSends(c), 3u) << code;
      EXPECT_GE(c.broker("broker-a").sends.size(), 1u) << code;
      EXPECT_GE(c.broker("broker-b").sends.size(), 1u) << code;
    });
  }
}

TEST(ProducerTest, NonRetryableAnswerFailsAtOnce) {
  // Proves: MESSAGE_ILLEGAL (13) is not retried and comes back as an error.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a", "broker-b"}, 4);
    c.broker("broker-a").script = {rsp::kMessageIllegal};
    c.broker("broker-b").script = {rsp::kMessageIllegal};
    Producer p(Instance(env), ProducerConfig{.group = "PG"});
    ASSERT_TRUE(p.Start().ok());
    Result<SendResult> r = p.Send(Msg("T"));
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(TotalSends(c), 1u);
  });
}

TEST(ProducerTest, GivesUpAfterTheConfiguredRetries) {
  // Proves: 1 + retry_times_when_send_failed attempts, then the last error.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a", "broker-b"}, 2);
    c.broker("broker-a").script = {2, 2, 2, 2};
    c.broker("broker-b").script = {2, 2, 2, 2};
    Producer p(Instance(env), ProducerConfig{.group = "PG", .retry_times_when_send_failed = 2});
    ASSERT_TRUE(p.Start().ok());
    Result<SendResult> r = p.Send(Msg("T"));
    EXPECT_EQ(r.code(), ErrorCode::kBusy);
    EXPECT_EQ(TotalSends(c), 3u);
  });
}

TEST(ProducerTest, TimeoutCoversEveryAttempt) {
  // Proves: a broker that never answers uses the whole timeout; no attempt starts after it.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a", "broker-b"}, 2);
    c.broker("broker-a").script = {kSilent, kSilent, kSilent};
    c.broker("broker-b").script = {kSilent, kSilent, kSilent};
    Producer p(Instance(env), ProducerConfig{.group = "PG"});
    ASSERT_TRUE(p.Start().ok());
    Instant begin = env.clock.Now();
    Result<SendResult> r = p.Send(Msg("T"), 2s);
    Duration took = env.clock.Now() - begin;
    EXPECT_EQ(r.code(), ErrorCode::kTimeout);
    EXPECT_LE(took, 2s + 100ms);
    EXPECT_GE(took, 2s);
    EXPECT_EQ(TotalSends(c), 1u);
  });
}

TEST(ProducerTest, UnreachableBrokerIsRetriedElsewhere) {
  // Proves: a refused connection counts as a transport error and moves to another broker.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-b", "broker-c"}, 1);
    Producer p(Instance(env), ProducerConfig{.group = "PG"});
    ASSERT_TRUE(p.Start().ok());
    for (int i = 0; i < 4; ++i) {
      Result<SendResult> r = p.Send(Msg("T"));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->message_queue.broker_name, "broker-b");
    }
    EXPECT_EQ(c.broker("broker-b").sends.size(), 4u);
  });
}

TEST(ProducerTest, AsyncRetriesTransportErrorsButNotBrokerAnswers) {
  // Proves: the async path retries a refused broker elsewhere but reports a broker's 14 as is.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a", "broker-c"}, 1);
    c.AddTopic("U", {"broker-b"}, 1);
    c.broker("broker-b").script = {rsp::kServiceNotAvailable};
    Producer p(Instance(env), ProducerConfig{.group = "PG"});
    ASSERT_TRUE(p.Start().ok());
    std::vector<Result<SendResult>> results;
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(p.SendAsync(Msg("T"), [&](Result<SendResult> r) { results.push_back(r); }).ok());
    }
    ASSERT_TRUE(p.SendAsync(Msg("U"), [&](Result<SendResult> r) { results.push_back(r); }).ok());
    while (results.size() < 4) env.scheduler.Sleep(10ms);
    size_t ok = 0;
    size_t busy = 0;
    for (const auto& r : results) {
      ok += r.ok() ? 1 : 0;
      busy += r.code() == ErrorCode::kBusy ? 1 : 0;
    }
    EXPECT_EQ(ok, 3u);
    EXPECT_EQ(busy, 1u);
    EXPECT_EQ(c.broker("broker-a").sends.size(), 3u);
    EXPECT_EQ(c.broker("broker-b").sends.size(), 1u);
    EXPECT_EQ(p.async_in_flight(), 0u);
  });
}

TEST(ProducerTest, OnewayWritesWithoutWaiting) {
  // Proves: a oneway send reaches the broker with the oneway flag.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a"}, 1);
    Producer p(Instance(env), ProducerConfig{.group = "PG"});
    ASSERT_TRUE(p.Start().ok());
    ASSERT_TRUE(p.SendOneway(Msg("T")).ok());
    env.scheduler.Sleep(1s);
    ASSERT_EQ(c.broker("broker-a").sends.size(), 1u);
    EXPECT_TRUE(c.broker("broker-a").sends[0].is_oneway());
  });
}

TEST(ProducerTest, BatchCarriesEveryMessageWithItsOwnId) {
  // Proves: SEND_BATCH_MESSAGE with the batch flag, a body that decodes to the messages, and a
  // msgId that joins their UNIQ_KEYs.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a"}, 1);
    Producer p(Instance(env), ProducerConfig{.group = "PG"});
    ASSERT_TRUE(p.Start().ok());
    std::vector<Message> batch = {Msg("T", "1"), Msg("T", "2"), Msg("T", "3")};
    Result<SendResult> r = p.Send(batch);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(c.broker("broker-a").sends.size(), 1u);
    const RemotingCommand& sent = c.broker("broker-a").sends[0];
    EXPECT_EQ(sent.code, protocol::request::kSendBatchMessage);
    EXPECT_EQ(Header(sent, "m"), "true");
    auto decoded = protocol::DecodeBatch(sent.body);
    ASSERT_TRUE(decoded.ok());
    ASSERT_EQ(decoded->size(), 3u);
    std::string joined;
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ((*decoded)[i].body, batch[i].body);
      joined += (i ? "," : "") + (*decoded)[i].UniqKey();
    }
    EXPECT_EQ(r->msg_id, joined);
    Message other = Msg("U");
    EXPECT_EQ(p.Send(std::vector<Message>{Msg("T"), other}).code(), ErrorCode::kInvalidArgument);
  });
}

TEST(ProducerTest, SelectorPicksTheQueueAndFailuresAreNotRetried) {
  // Proves: the selector's queue is used as is, and an ordered send does not move on failure.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a", "broker-b"}, 4);
    Producer p(Instance(env), ProducerConfig{.group = "PG"});
    ASSERT_TRUE(p.Start().ok());
    client::MessageQueueSelector by_key = [](const std::vector<client::MessageQueue>& qs,
                                             const Message&, const std::any& arg) {
      return qs[static_cast<size_t>(std::any_cast<int>(arg)) % qs.size()];
    };
    for (int key = 0; key < 8; ++key) {
      Result<SendResult> r = p.Send(Msg("T"), by_key, key);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->message_queue.broker_name, key % 8 < 4 ? "broker-a" : "broker-b");
      EXPECT_EQ(r->message_queue.queue_id, key % 4);
    }
    c.broker("broker-a").script = {rsp::kServiceNotAvailable};
    EXPECT_FALSE(p.Send(Msg("T"), by_key, 1).ok());
    EXPECT_EQ(TotalSends(c), 9u);
  });
}

TEST(ProducerTest, LatencyFaultToleranceAvoidsAFailedBroker) {
  // Proves: with send_latency_fault_enable, a broker that failed is skipped while isolated;
  // without it, round robin keeps visiting it.
  for (bool enabled : {true, false}) {
    FakeCluster cluster;
    cluster.Run([enabled](FakeCluster& c, io::Env& env) {
      c.AddTopic("T", {"broker-a", "broker-b"}, 2);
      c.broker("broker-a").script = {rsp::kSystemBusy};
      c.broker("broker-b").script = {rsp::kSystemBusy};
      Producer p(Instance(env),
                 ProducerConfig{.group = "PG", .send_latency_fault_enable = enabled});
      ASSERT_TRUE(p.Start().ok());
      ASSERT_TRUE(p.Send(Msg("T")).ok());
      // Exactly one broker failed once; which one depends on the random start.
      std::string failed = c.broker("broker-a").sends.size() == 1 ? "broker-a" : "broker-b";
      size_t before = c.broker(failed).sends.size();
      for (int i = 0; i < 8; ++i) ASSERT_TRUE(p.Send(Msg("T")).ok());
      size_t visits = c.broker(failed).sends.size() - before;
      if (enabled) {
        EXPECT_EQ(visits, 0u);
        EXPECT_FALSE(p.fault_tolerance().IsAvailable(failed, env.clock.Now()));
      } else {
        EXPECT_GT(visits, 0u);
      }
    });
  }
}

TEST(ProducerTest, ShutdownUnregistersFromTheBrokers) {
  // Proves: heartbeats name the producer group, and Shutdown sends UNREGISTER_CLIENT.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a"}, 1);
    auto instance = Instance(env);
    Producer p(instance, ProducerConfig{.group = "PG"});
    ASSERT_TRUE(p.Start().ok());
    ASSERT_TRUE(p.Send(Msg("T")).ok());
    env.scheduler.Sleep(31s);
    EXPECT_GE(c.broker("broker-a").Count(protocol::request::kHeartBeat), 1u);
    p.Shutdown();
    EXPECT_EQ(c.broker("broker-a").Count(protocol::request::kUnregisterClient), 1u);
    EXPECT_FALSE(instance->running());
    EXPECT_EQ(p.Send(Msg("T")).code(), ErrorCode::kClosed);
  });
}

TEST(ProducerTest, UnknownTopicFailsWithNotFound) {
  // Proves: a topic the nameserver does not know fails without reaching any broker.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    Producer p(Instance(env), ProducerConfig{.group = "PG"});
    ASSERT_TRUE(p.Start().ok());
    EXPECT_EQ(p.Send(Msg("Nope")).code(), ErrorCode::kNotFound);
    EXPECT_EQ(TotalSends(c), 0u);
    EXPECT_EQ(p.Send(Msg("")).code(), ErrorCode::kInvalidArgument);
  });
}

}  // namespace
}  // namespace apogee::client_test
