// Cancellable pulls against a scripted broker on the simulator: a pull under a cancelled
// canceller fails at once without reaching the broker; a pull in flight runs on the caller's
// fiber alone and ends with kCancelled once cancelled; and a push consumer shut down while its
// long polls are out returns at once and delivers nothing that those polls bring back later.

#include <gtest/gtest.h>

#include "core/client/pull_api.h"
#include "core/client/push_consumer.h"
#include "tests/client/fake_cluster.h"

namespace apogee::client_test {
namespace {

using client::ClientConfig;
using client::ClientInstance;
using client::PullArgs;
using client::PullCanceller;
using client::PullResult;

std::shared_ptr<ClientInstance> Instance(io::Env& env) {
  ClientConfig config;
  config.namesrv_addrs = {"10.0.0.10:9876"};
  config.client_ip = "10.0.0.1";
  config.instance_name = "puller";
  return std::make_shared<ClientInstance>(env, config);
}

PullArgs LongPoll(const std::string& topic, int64_t offset) {
  PullArgs args;
  args.group = "G";
  args.mq = client::MessageQueue{topic, "broker-a", 0};
  args.subscription = *protocol::BuildSubscriptionData(topic, "*", 1);
  args.offset = offset;
  args.sys_flag = protocol::kPullFlagSuspend | protocol::kPullFlagSubscription;
  args.suspend = 20s;
  args.timeout = 30s;
  return args;
}

size_t LiveFibers(io::Env& env) {
  io::Runtime& rt = env.scheduler.runtime();
  return rt.LiveFibers(rt.CurrentGroup());
}

TEST(PullCancelTest, CancelledCancellerFailsAtOnceWithoutAsking) {
  // Proves: once cancelled, a pull returns kCancelled at once (no virtual time passes) and the
  // broker never sees it.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a"}, 1);
    auto instance = Instance(env);
    PullCanceller canceller;
    canceller.Cancel();
    const Instant before = env.clock.Now();
    Result<PullResult> r = client::PullCancellable(instance, LongPoll("T", 0), canceller);
    EXPECT_EQ(r.code(), ErrorCode::kCancelled);
    EXPECT_EQ(env.clock.Now(), before);
    EXPECT_EQ(c.broker("broker-a").pulls, 0u);
    EXPECT_EQ(canceller.in_flight(), 0u);
    instance->Shutdown();
  });
}

TEST(PullCancelTest, PullRunsOnTheCallersFiberAndEndsCancelled) {
  // Proves: a long poll in flight costs no fiber beyond its caller's, Cancel() turns its
  // answer into kCancelled even though the broker found a message, and the in-flight count
  // returns to zero.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a"}, 1);
    c.broker("broker-a").pull_hold = 5s;
    auto instance = Instance(env);
    PullCanceller canceller;
    // A first pull finds a message at once: the route is known and the connection (with its
    // reader and writer fibers) is up before the fibers are counted.
    c.broker("broker-a").Store("T", 0, "m0");
    Result<PullResult> first = client::PullCancellable(instance, LongPoll("T", 0), canceller);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    ASSERT_EQ(first->status, client::PullStatus::kFound);
    const size_t fibers_before = LiveFibers(env);
    std::optional<Result<PullResult>> got;
    io::FiberHandle puller = env.scheduler.Spawn(
        "puller", [&] { got = client::PullCancellable(instance, LongPoll("T", 1), canceller); });
    env.scheduler.Sleep(1s);
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(canceller.in_flight(), 1u);
    EXPECT_EQ(c.broker("broker-a").pulls, 2u);
    EXPECT_EQ(LiveFibers(env), fibers_before + 1);  // the puller alone
    c.broker("broker-a").Store("T", 0, "late");     // the held poll finds it at its end
    canceller.Cancel();
    ASSERT_EQ(puller.Join(env.scheduler.After(10s)), io::WakeReason::kNotified);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->code(), ErrorCode::kCancelled);
    EXPECT_EQ(canceller.in_flight(), 0u);
    EXPECT_EQ(LiveFibers(env), fibers_before);
    instance->Shutdown();
  });
}

TEST(PullCancelTest, UncancelledPullReturnsWhatTheBrokerFound) {
  // Proves: without a cancel the same long poll returns the message the broker found.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a"}, 1);
    c.broker("broker-a").pull_hold = 2s;
    auto instance = Instance(env);
    PullCanceller canceller;
    io::FiberHandle storer = env.scheduler.Spawn("storer", [&] {
      env.scheduler.Sleep(1s);
      c.broker("broker-a").Store("T", 0, "m0");
    });
    Result<PullResult> r = client::PullCancellable(instance, LongPoll("T", 0), canceller);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, client::PullStatus::kFound);
    ASSERT_EQ(r->messages.size(), 1u);
    EXPECT_EQ(r->next_begin_offset, 1);
    EXPECT_EQ(canceller.in_flight(), 0u);
    storer.Join();
    instance->Shutdown();
  });
}

TEST(PullCancelTest, ConsumerShutdownDoesNotWaitForItsLongPolls) {
  // Proves: Shutdown() returns while the consumer's long polls are still held at the broker,
  // and a message those polls bring back after the consumer is gone is not delivered.
  FakeCluster cluster;
  cluster.Run([](FakeCluster& c, io::Env& env) {
    c.AddTopic("T", {"broker-a"}, 2);
    c.broker("broker-a").pull_hold = 20s;
    size_t delivered = 0;
    // A producer keeps the instance, and so its connections, open after the consumer is gone.
    auto instance = Instance(env);
    ASSERT_TRUE(instance->RegisterProducer("P").ok());
    {
      client::PushConsumerConfig config;
      config.group = "G";
      config.consume_from_where = protocol::ConsumeFromWhere::kFirstOffset;
      client::PushConsumer consumer(instance, config);
      ASSERT_TRUE(consumer.Subscribe("T", "*").ok());
      consumer.RegisterListener(client::ConcurrentListener(
          [&](const std::vector<client::MessageExt>& msgs, client::ConsumeConcurrentlyContext&) {
            delivered += msgs.size();
            return client::ConsumeConcurrentlyStatus::kConsumeSuccess;
          }));
      ASSERT_TRUE(consumer.Start().ok());
      // Both queues' polls (and the retry topic's, which has no route) are out.
      for (int i = 0; i < 50 && c.broker("broker-a").pulls < 2; ++i) env.scheduler.Sleep(100ms);
      ASSERT_GE(c.broker("broker-a").pulls, 2u);
      const Instant before = env.clock.Now();
      consumer.Shutdown();
      EXPECT_LT(env.clock.Now() - before, 5s);
    }
    // The held polls find these at their end, after the consumer is destroyed.
    c.broker("broker-a").Store("T", 0, "late-0");
    c.broker("broker-a").Store("T", 1, "late-1");
    const size_t pulls = c.broker("broker-a").pulls;
    env.scheduler.Sleep(30s);
    EXPECT_EQ(delivered, 0u);
    EXPECT_EQ(c.broker("broker-a").pulls, pulls);  // the loops ended without pulling again
    instance->UnregisterProducer("P");
    instance->Shutdown();
  });
}

}  // namespace
}  // namespace apogee::client_test
