// Long polling end to end: a push consumer parked on empty queues gets a message sent later within
// milliseconds of the send (the broker wakes the held pull on arrival, long before its 15 s
// suspend); a pull that finds nothing is answered at its suspend timeout.

#include <gtest/gtest.h>

#include "core/client/pull_consumer.h"
#include "tests/cluster/cluster_fixture.h"

namespace apogee::cluster_test {
namespace {

class LongPollingTest : public ClusterTest {};

TEST_F(LongPollingTest, ArrivalWakesAParkedPull) {
  // Proves: messages sent at arbitrary moments into queues the consumer is long-polling (idle
  // for many suspend periods in between) are delivered less than 100 ms after the send
  // completed.
  sim::ClusterSpec spec;
  spec.producers = 0;
  Build(spec);
  Start();
  world().Start(AddConsumer("c-poll", ConsumerSpec{.group = "cg-poll"}));
  NodeId producer = AddProducer("p-poll");
  RunFor(5s);
  // Sends spread over several suspend periods, at odd offsets within them.
  const Duration gaps[] = {23700ms, 4100ms, 15001ms, 29999ms, 7777ms, 61s};
  std::vector<std::string> keys;
  for (size_t i = 0; i < std::size(gaps); ++i) {
    RunFor(gaps[i]);
    protocol::Message msg;
    msg.topic = cluster().spec().topic;
    keys.push_back(fmt::format("poll-{}", i));
    msg.SetKeys(keys.back());
    msg.body = {'p'};
    Send(producer, msg);
    ASSERT_TRUE(RunUntil([&] { return SendsDone(producer); }, 5s, 1ms));
    RunFor(1s);
  }
  for (const std::string& key : keys) {
    SCOPED_TRACE(key);
    const sim::SendOp* send = SendOf(key);
    ASSERT_EQ(send->outcome, sim::OpOutcome::kOk) << send->error;
    std::vector<const sim::Delivery*> got = DeliveriesOf("cg-poll", key);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_GE(got.front()->at, send->completed - 10ms);
    EXPECT_LT(got.front()->at - send->completed, 100ms)
        << "delivered " << Ms(got.front()->at - send->completed) << " ms after the send";
  }
}

TEST_F(LongPollingTest, PullWithNothingToFindReturnsAtItsSuspendTimeout) {
  // Proves: PullBlockIfNotFound on an empty queue is held by the broker and answered NO_NEW_MSG
  // at its suspend timeout (neither at once nor much later), for two different timeouts.
  sim::ClusterSpec spec;
  spec.producers = 0;
  Build(spec);
  Start();
  struct Outcome {
    Duration suspend{};
    Instant start{};
    Instant end{};
    Status status;
    client::PullStatus pull_status = client::PullStatus::kFound;
  };
  std::vector<Outcome> outcomes;
  const Duration suspends[] = {20s, 7s};
  for (Duration suspend : suspends) {
    NodeId id = AddClientNode(
        fmt::format("puller-{}", Ms(suspend)),
        [this, &outcomes, suspend](io::Env&, std::shared_ptr<client::ClientInstance> instance) {
          client::PullConsumerConfig pc;
          pc.group = fmt::format("cg-pull-{}", Ms(suspend));
          pc.broker_suspend_max = suspend;
          client::PullConsumer consumer(instance, pc);
          consumer.RegisterTopic(cluster().spec().topic);
          if (!consumer.Start().ok()) return;
          Result<std::vector<MessageQueue>> queues =
              consumer.FetchSubscribeMessageQueues(cluster().spec().topic);
          if (!queues.ok() || queues->empty()) return;
          Outcome o;
          o.suspend = suspend;
          o.start = world().Now();
          Result<client::PullResult> r = consumer.PullBlockIfNotFound(queues->front(), "*", 0, 32);
          o.end = world().Now();
          o.status = r.status();
          if (r.ok()) o.pull_status = r->status;
          outcomes.push_back(o);
          consumer.Shutdown();
        });
    world().Start(id);
  }
  RunFor(40s);
  ASSERT_EQ(outcomes.size(), 2u);
  for (const Outcome& o : outcomes) {
    SCOPED_TRACE(Ms(o.suspend));
    ASSERT_TRUE(o.status.ok()) << o.status.ToString();
    EXPECT_EQ(o.pull_status, client::PullStatus::kNoNewMsg);
    Duration held = o.end - o.start;
    EXPECT_GE(held, o.suspend) << "answered after " << Ms(held) << " ms";
    EXPECT_LE(held, o.suspend + 100ms) << "answered after " << Ms(held) << " ms";
  }
}

}  // namespace
}  // namespace apogee::cluster_test
