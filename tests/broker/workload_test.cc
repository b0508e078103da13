// A small workload under several seeds: producers send to two queues at random moments while a
// long-polling consumer per queue pulls and commits. Every acknowledged message must be pulled
// once, in queue order, whatever order the seed gives the fibers.

#include <gtest/gtest.h>

#include "tests/broker/broker_test_util.h"

namespace apogee::broker::testing {
namespace {

TEST(BrokerWorkloadTest, LongPollingConsumersReceiveEverySentMessageInOrder) {
  // Proves, for seeds 1..6, that each queue's consumer receives exactly the acknowledged
  // messages of its queue in send order, and that its committed offset ends at the queue's end.
  for (uint64_t seed = 1; seed <= 6; seed++) {
    BrokerRig rig(BrokerRig::DefaultConfig(), seed);
    rig.Run([&](io::Env& env) {
      ASSERT_TRUE(rig.WaitUntilUp(env));
      TestClient admin(env, rig.address());
      admin.CreateTopicOk("W", 2);
      constexpr int kPerQueue = 60;
      std::vector<std::vector<std::string>> sent(2), received(2);
      bool producing = true;
      io::FiberHandle producer = env.scheduler.Spawn("producer", [&] {
        TestClient p(env, rig.address());
        for (int i = 0; i < 2 * kPerQueue; i++) {
          env.scheduler.Sleep(std::chrono::milliseconds(env.random.Uniform(200)));
          int32_t queue = i % 2;
          std::string body = fmt::format("q{}-{}", queue, i / 2);
          RemotingCommand r = p.Send(TestClient::SendHeader("W", queue), body);
          ASSERT_EQ(r.code, response::kSuccess);
          sent[queue].push_back(body);
        }
        producing = false;
      });
      std::vector<io::FiberHandle> consumers;
      for (int32_t queue = 0; queue < 2; queue++) {
        consumers.push_back(env.scheduler.Spawn("consumer", [&, queue] {
          TestClient c(env, rig.address());
          int64_t offset = 0;
          while (producing || static_cast<int64_t>(received[queue].size()) < kPerQueue) {
            auto h = TestClient::PullHeader("W", queue, offset);
            h.sys_flag |= protocol::kPullFlagSuspend | protocol::kPullFlagCommitOffset;
            h.commit_offset = offset;
            h.suspend_timeout_millis = 1000;
            h.max_msg_nums = 1 + static_cast<int32_t>(env.random.Uniform(8));
            RemotingCommand r = c.Pull(h);
            ASSERT_TRUE(r.code == response::kSuccess || r.code == response::kPullNotFound)
                << r.code << " " << r.remark.value_or("");
            if (r.code == response::kSuccess) {
              for (const auto& m : TestClient::Messages(r)) {
                EXPECT_EQ(m.queue_offset, offset + 0) << "a gap or a repeat";
                received[queue].push_back(TestClient::BodyOf(m));
                offset = m.queue_offset + 1;
              }
            }
            offset = TestClient::PullAnswer(r).next_begin_offset;
          }
          // Commit the end (the flag stores the offset a pull reports).
          auto h = TestClient::PullHeader("W", queue, offset);
          h.sys_flag |= protocol::kPullFlagCommitOffset;
          h.commit_offset = offset;
          c.Pull(h);
        }));
      }
      producer.Join();
      for (auto& c : consumers) c.Join();
      for (int32_t queue = 0; queue < 2; queue++) {
        EXPECT_EQ(received[queue], sent[queue]) << "seed " << seed << " queue " << queue;
        EXPECT_EQ(rig.broker().offsets().Query("cg", "W", queue), kPerQueue) << "seed " << seed;
      }
    });
  }
}

}  // namespace
}  // namespace apogee::broker::testing
