// CONSUMER_SEND_MSG_BACK on a simulated store: the retry copy and its properties, explicit and
// backoff delay levels, the dead letter queue after the limit or on request, errors, and the
// whole chain through the schedule service from the first retry to the DLQ.

#include "core/broker/send_back.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/broker/schedule_service.h"
#include "core/protocol/codes.h"
#include "tests/store/message_store_test_util.h"
#include "tests/store/sim_store_rig.h"
#include "tests/store/store_backend.h"

namespace apogee::broker {
namespace {

using namespace std::chrono_literals;
using store::testing::Decoded;
using store::testing::DecodeServed;
using store::testing::Msg;
using store::testing::MustOpen;
using store::testing::SmallStoreConfig;

constexpr char kGroup[] = "G";

// The topics the handler asked for, with their queue counts and permissions.
struct TopicLog {
  std::vector<std::tuple<std::string, int32_t, int32_t>> calls;
  Status answer;
  EnsureTopicFn Fn() {
    return [this](const std::string& topic, int32_t queues, int32_t perm) {
      calls.emplace_back(topic, queues, perm);
      return answer;
    };
  }
};

// Puts the original message into T and returns its commit log offset.
int64_t PutOriginal(store::MessageStore& store, int32_t reconsume_times = 0) {
  Msg m;
  m.topic = "T";
  m.body = "payload";
  m.props = store::EncodeProperties(
      {{"UNIQ_KEY", "U1"}, {"TAGS", "TagA"}, {"KEYS", "k1 k2"}, {"WAIT", "false"}});
  store::MessageToStore v = m.view();
  v.flag = 7;
  v.born_timestamp_ms = 123456;
  v.reconsume_times = reconsume_times;
  store::PutResult r = store.Put(v);
  EXPECT_TRUE(r.ok()) << r.error;
  return r.physical_offset;
}

Decoded ReadAt(store::MessageStore& store, int64_t offset) {
  auto bytes = store.ReadRecordAt(offset);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  if (!bytes.ok()) return Decoded{};
  return DecodeServed(*bytes, offset);
}

std::string Prop(const Decoded& d, std::string_view key) {
  auto v = store::FindProperty(d.props, key);
  return v ? std::string(*v) : "<none>";
}

protocol::ConsumerSendMsgBackRequestHeader Header(int64_t offset, int32_t delay_level = 0) {
  protocol::ConsumerSendMsgBackRequestHeader h;
  h.offset = offset;
  h.group = kGroup;
  h.delay_level = delay_level;
  return h;
}

DelayLevels DefaultLevels() {
  return DelayLevels::Parse("1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h").value();
}

TEST(SendBackTest, FirstRetryGoesToTheScheduleTopicWithItsProperties) {
  // Proves a first send-back ensures %RETRY%G (1 queue, read+write) and stores a copy delayed at
  // level 3 bound for %RETRY%G queue 0, keeping body, flag, tags, keys, UNIQ_KEY and born time,
  // adding RETRY_TOPIC, ORIGIN_MESSAGE_ID, RECONSUME_TIME, MAX_RECONSUME_TIMES, with the record's
  // reconsume times 1 and WAIT removed.
  store::testing::RunOnSim([](io::Env& env) {
    auto store = MustOpen(env, SmallStoreConfig());
    ASSERT_NE(store, nullptr);
    DelayLevels levels = DefaultLevels();
    TopicLog topics;
    SendBackContext ctx{*store, levels, topics.Fn(), 16};
    int64_t offset = PutOriginal(*store);
    SendBackResult r = HandleSendBack(ctx, Header(offset));
    ASSERT_EQ(r.code, protocol::response::kSuccess) << r.remark;
    EXPECT_EQ(r.topic, "%RETRY%G");
    EXPECT_EQ(r.delay_level, 3);
    EXPECT_EQ(r.reconsume_times, 1);
    ASSERT_EQ(topics.calls.size(), 1u);
    EXPECT_EQ(topics.calls[0], std::make_tuple(std::string("%RETRY%G"), 1, 6));

    Decoded d = ReadAt(*store, r.put.physical_offset);
    ASSERT_TRUE(d.valid) << d.error;
    EXPECT_EQ(d.topic, "SCHEDULE_TOPIC_XXXX");
    EXPECT_EQ(d.queue_id, 2);
    EXPECT_EQ(d.body, "payload");
    EXPECT_EQ(Prop(d, "REAL_TOPIC"), "%RETRY%G");
    EXPECT_EQ(Prop(d, "REAL_QID"), "0");
    EXPECT_EQ(Prop(d, "DELAY"), "3");
    EXPECT_EQ(Prop(d, "RETRY_TOPIC"), "T");
    EXPECT_EQ(Prop(d, "ORIGIN_MESSAGE_ID"), "U1");
    EXPECT_EQ(Prop(d, "RECONSUME_TIME"), "1");
    EXPECT_EQ(Prop(d, "MAX_RECONSUME_TIMES"), "16");
    EXPECT_EQ(Prop(d, "UNIQ_KEY"), "U1");
    EXPECT_EQ(Prop(d, "TAGS"), "TagA");
    EXPECT_EQ(Prop(d, "KEYS"), "k1 k2");
    EXPECT_EQ(Prop(d, "WAIT"), "<none>");
    auto bytes = store->ReadRecordAt(r.put.physical_offset);
    ASSERT_TRUE(bytes.ok());
    store::DecodedRecord rec = store::DecodeRecord(*bytes, r.put.physical_offset, 2048, true);
    EXPECT_EQ(rec.view.flag, 7);
    EXPECT_EQ(rec.view.born_timestamp_ms, 123456);
    EXPECT_EQ(rec.view.reconsume_times, 1);
    EXPECT_TRUE(store->Shutdown().ok());
  });
}

TEST(SendBackTest, DelayLevelsBackOffAndExplicitOnesAreKept) {
  // Proves delayLevel 0 backs off as 3 + the original's reconsume times (clamped to the highest
  // level), a positive delayLevel is used as given, and an origin id in the header is kept.
  store::testing::RunOnSim([](io::Env& env) {
    auto store = MustOpen(env, SmallStoreConfig());
    ASSERT_NE(store, nullptr);
    DelayLevels levels = DefaultLevels();
    TopicLog topics;
    SendBackContext ctx{*store, levels, topics.Fn(), 16};
    for (int32_t times : {0, 1, 5, 14, 15}) {
      SendBackResult r = HandleSendBack(ctx, Header(PutOriginal(*store, times)));
      ASSERT_EQ(r.code, protocol::response::kSuccess) << r.remark;
      EXPECT_EQ(r.delay_level, std::min(3 + times, 18)) << times;
      EXPECT_EQ(r.reconsume_times, times + 1);
      EXPECT_EQ(ReadAt(*store, r.put.physical_offset).queue_id, r.delay_level - 1);
    }
    protocol::ConsumerSendMsgBackRequestHeader h = Header(PutOriginal(*store), 5);
    h.origin_msg_id = "ORIGIN-7";
    SendBackResult r = HandleSendBack(ctx, h);
    ASSERT_EQ(r.code, protocol::response::kSuccess) << r.remark;
    EXPECT_EQ(r.delay_level, 5);
    Decoded d = ReadAt(*store, r.put.physical_offset);
    EXPECT_EQ(Prop(d, "DELAY"), "5");
    EXPECT_EQ(Prop(d, "ORIGIN_MESSAGE_ID"), "ORIGIN-7");
    EXPECT_TRUE(store->Shutdown().ok());
  });
}

TEST(SendBackTest, DeadLetterAfterTheLimitOrOnRequest) {
  // Proves a message past maxReconsumeTimes (the header's when sent, else the broker's) or sent
  // back with delayLevel < 0 goes undelayed to %DLQ%G queue 0, which is ensured write-only.
  store::testing::RunOnSim([](io::Env& env) {
    auto store = MustOpen(env, SmallStoreConfig());
    ASSERT_NE(store, nullptr);
    DelayLevels levels = DefaultLevels();
    TopicLog topics;
    SendBackContext ctx{*store, levels, topics.Fn(), 16};

    SendBackResult r = HandleSendBack(ctx, Header(PutOriginal(*store, 16)));
    ASSERT_EQ(r.code, protocol::response::kSuccess) << r.remark;
    EXPECT_EQ(r.topic, "%DLQ%G");
    EXPECT_EQ(r.delay_level, 0);
    EXPECT_EQ(r.reconsume_times, 17);
    EXPECT_EQ(topics.calls.back(), std::make_tuple(std::string("%DLQ%G"), 1, 2));
    Decoded d = ReadAt(*store, r.put.physical_offset);
    EXPECT_EQ(d.topic, "%DLQ%G");
    EXPECT_EQ(d.queue_id, 0);
    EXPECT_EQ(Prop(d, "DELAY"), "<none>");
    EXPECT_EQ(Prop(d, "RETRY_TOPIC"), "T");
    EXPECT_EQ(store->MaxOffset("%DLQ%G", 0), 1);

    protocol::ConsumerSendMsgBackRequestHeader h = Header(PutOriginal(*store, 2));
    h.max_reconsume_times = 2;
    EXPECT_EQ(HandleSendBack(ctx, h).topic, "%DLQ%G");
    h.max_reconsume_times = 3;
    EXPECT_EQ(HandleSendBack(ctx, h).topic, "%RETRY%G");

    SendBackResult asked = HandleSendBack(ctx, Header(PutOriginal(*store), -1));
    ASSERT_EQ(asked.code, protocol::response::kSuccess) << asked.remark;
    EXPECT_EQ(asked.topic, "%DLQ%G");
    EXPECT_EQ(store->MaxOffset("%DLQ%G", 0), 3);
    EXPECT_TRUE(store->Shutdown().ok());
  });
}

TEST(SendBackTest, ErrorsAreSystemErrorsWithARemark) {
  // Proves an offset with no message, and a retry topic that cannot be ensured, answer
  // SYSTEM_ERROR with a remark and store nothing.
  store::testing::RunOnSim([](io::Env& env) {
    auto store = MustOpen(env, SmallStoreConfig());
    ASSERT_NE(store, nullptr);
    DelayLevels levels = DefaultLevels();
    TopicLog topics;
    SendBackContext ctx{*store, levels, topics.Fn(), 16};
    int64_t offset = PutOriginal(*store);
    for (int64_t bad : {offset + 1, int64_t{1} << 40}) {
      SendBackResult r = HandleSendBack(ctx, Header(bad));
      EXPECT_EQ(r.code, protocol::response::kSystemError);
      EXPECT_NE(r.remark.find(fmt::format("{}", bad)), std::string::npos) << r.remark;
    }
    topics.answer = Status(ErrorCode::kInternal, "no topics today");
    SendBackResult r = HandleSendBack(ctx, Header(offset));
    EXPECT_EQ(r.code, protocol::response::kSystemError);
    EXPECT_NE(r.remark.find("%RETRY%G"), std::string::npos) << r.remark;
    EXPECT_EQ(store->MaxOffset("SCHEDULE_TOPIC_XXXX", 2), -1) << "nothing was stored";
    EXPECT_TRUE(store->Shutdown().ok());
  });
}

TEST(SendBackTest, RetriesWithGrowingDelaysThenTheDeadLetterQueue) {
  // Proves the whole chain with the schedule service: each send-back of the latest retry copy
  // comes back in %RETRY%G after level 3, 4, ... 18 (never earlier), with reconsume times
  // 1..16 and the original topic remembered, and the 17th goes to %DLQ%G.
  store::testing::SimStoreRig rig(31);
  BrokerConfig config;
  config.store_root = "";
  config.store = SmallStoreConfig();
  config.store.segment_bytes = 64 * 1024;
  config.store.async_flush_interval = 500ms;
  config.store.cq_flush_interval = 1s;
  ScheduleOptions options;
  options.idle_poll = 1s;
  std::shared_ptr<store::MessageStore> store;
  std::shared_ptr<ScheduleService> service;
  TopicLog topics;
  int64_t offset = -1;
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    store = MustOpen(env, config.store);
    ASSERT_NE(store, nullptr);
    auto created = ScheduleService::Create(env, store, config, options);
    ASSERT_TRUE(created.ok());
    service = *created;
    service->Start();
    offset = PutOriginal(*store);
  }));
  for (int32_t round = 0; round < 16; round++) {
    SendBackResult r;
    ASSERT_TRUE(rig.RunInNode([&](io::Env&) {
      SendBackContext ctx{*store, service->levels(), topics.Fn(), config.max_reconsume_times};
      r = HandleSendBack(ctx, Header(offset));
    }));
    ASSERT_EQ(r.code, protocol::response::kSuccess) << r.remark;
    ASSERT_EQ(r.topic, "%RETRY%G") << "round " << round;
    EXPECT_EQ(r.delay_level, std::min(3 + round, 18));
    int64_t due_ms = DueTimeMillis(service->levels(), r.delay_level, r.put.store_timestamp_ms);
    // Wait for the copy in the retry topic.
    Instant limit = rig.world().Now() + std::chrono::hours(3);
    bool arrived = false;
    while (!arrived && rig.world().Now() < limit) {
      rig.RunFor(1s);
      ASSERT_TRUE(
          rig.RunInNode([&](io::Env&) { arrived = store->MaxOffset("%RETRY%G", 0) == round + 1; }));
    }
    ASSERT_TRUE(arrived) << "round " << round;
    ASSERT_TRUE(rig.RunInNode([&](io::Env&) {
      store::GetResult g = store->Get("%RETRY%G", 0, round, 1, 1u << 20);
      ASSERT_EQ(g.messages.size(), 1u);
      Decoded d = store::testing::DecodeMessage(g, 0);
      EXPECT_GE(d.store_timestamp_ms, due_ms) << "round " << round << " came back early";
      EXPECT_EQ(Prop(d, "RETRY_TOPIC"), "T");
      EXPECT_EQ(Prop(d, "ORIGIN_MESSAGE_ID"), "U1");
      EXPECT_EQ(Prop(d, "RECONSUME_TIME"), fmt::format("{}", round + 1));
      EXPECT_EQ(Prop(d, "REAL_TOPIC"), "<none>");
      EXPECT_EQ(d.body, "payload");
      offset = g.messages[0].physical_offset;
    }));
  }
  ASSERT_TRUE(rig.RunInNode([&](io::Env&) {
    SendBackContext ctx{*store, service->levels(), topics.Fn(), config.max_reconsume_times};
    SendBackResult r = HandleSendBack(ctx, Header(offset));
    ASSERT_EQ(r.code, protocol::response::kSuccess) << r.remark;
    EXPECT_EQ(r.topic, "%DLQ%G");
    EXPECT_EQ(r.reconsume_times, 17);
    EXPECT_EQ(store->MaxOffset("%DLQ%G", 0), 1);
    EXPECT_TRUE(service->Stop().ok());
    EXPECT_TRUE(store->Shutdown().ok());
  }));
}

}  // namespace
}  // namespace apogee::broker
