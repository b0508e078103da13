// ScheduleService: delayed messages on one simulated broker machine with a MessageStore. The
// rewrite into SCHEDULE_TOPIC_XXXX, delivery no earlier than the level's delay and in order,
// persistence across crashes and clean restarts, wall-clock jumps, and failed puts.

#include "core/broker/schedule_service.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/protocol/codes.h"
#include "core/store/message_store.h"
#include "tests/store/message_store_test_util.h"
#include "tests/store/sim_store_rig.h"

namespace apogee::broker {
namespace {

using namespace std::chrono_literals;
using store::testing::Msg;
using store::testing::MustOpen;
using store::testing::Numbered;
using store::testing::SimStoreRig;

BrokerConfig TestConfig(std::string levels, store::FlushType flush = store::FlushType::kAsync) {
  BrokerConfig c;
  c.store_root = "";
  c.message_delay_level = std::move(levels);
  c.offset_flush_interval = 1s;
  c.store = store::testing::SmallStoreConfig(flush);
  c.store.segment_bytes = 64 * 1024;
  return c;
}

struct Sent {
  std::string key;
  int32_t level = 0;
  int32_t real_queue = 0;
  int64_t store_ms = 0;
};

// Sends message `i` for real queue `real_queue` with DELAY=delay through the rewrite.
Sent PutDelayed(store::MessageStore& store, const DelayLevels& levels, int i, int32_t delay,
                int32_t real_queue) {
  Msg m = Numbered(i, 20, real_queue, {{"DELAY", fmt::format("{}", delay)}, {"TAGS", "TagA"}});
  store::MessageToStore view = m.view();
  std::optional<DelayRewrite> rewrite = PrepareDelay(levels, view);
  EXPECT_TRUE(rewrite.has_value());
  if (!rewrite) return Sent{};
  rewrite->ApplyTo(view);
  EXPECT_EQ(view.topic, protocol::kScheduleTopic);
  store::PutResult r = store.Put(view);
  EXPECT_TRUE(r.ok()) << store::PutStatusName(r.status) << ": " << r.error;
  return Sent{fmt::format("u{}-{}", real_queue, i), rewrite->level, real_queue,
              r.store_timestamp_ms};
}

struct Copy {
  std::string key;
  int64_t store_ms = 0;
  std::string props;
};

// Every copy in queue `queue_id` of topic T, in queue order.
std::vector<Copy> Delivered(store::MessageStore& store, int32_t queue_id) {
  std::vector<Copy> out;
  store::GetResult g = store.Get("T", queue_id, 0, 10'000, 64u << 20);
  for (size_t i = 0; i < g.messages.size(); i++) {
    store::testing::Decoded d = store::testing::DecodeMessage(g, i);
    EXPECT_TRUE(d.valid) << d.error;
    auto key = store::FindProperty(d.props, "UNIQ_KEY");
    out.push_back(Copy{key ? std::string(*key) : "", d.store_timestamp_ms, d.props});
  }
  return out;
}

// Checks that every sent message was delivered at least once (exactly once when `exactly`),
// never before its due time, without DELAY or REAL_* properties, and that each real queue holds
// its first copies in the order they were sent.
void CheckDeliveries(store::MessageStore& store, const DelayLevels& levels,
                     const std::vector<Sent>& sent, bool exactly) {
  std::map<int32_t, std::vector<std::string>> sent_order;
  std::map<std::string, const Sent*> by_key;
  for (const Sent& s : sent) {
    sent_order[s.real_queue].push_back(s.key);
    by_key[s.key] = &s;
  }
  for (auto& [queue, keys] : sent_order) {
    std::vector<Copy> copies = Delivered(store, queue);
    std::map<std::string, int> seen;
    std::vector<std::string> first_order;
    for (const Copy& c : copies) {
      ASSERT_TRUE(by_key.count(c.key)) << "unknown message " << c.key;
      const Sent& s = *by_key[c.key];
      EXPECT_GE(c.store_ms, DueTimeMillis(levels, s.level, s.store_ms))
          << c.key << " delivered early: level " << s.level;
      EXPECT_FALSE(store::FindProperty(c.props, "DELAY").has_value()) << c.key;
      EXPECT_FALSE(store::FindProperty(c.props, "REAL_TOPIC").has_value()) << c.key;
      EXPECT_FALSE(store::FindProperty(c.props, "REAL_QID").has_value()) << c.key;
      EXPECT_EQ(store::FindProperty(c.props, "TAGS"), "TagA") << c.key;
      if (seen[c.key]++ == 0) first_order.push_back(c.key);
    }
    EXPECT_EQ(first_order, keys) << "queue " << queue << " lost or reordered messages";
    if (exactly) {
      for (auto& [key, n] : seen) EXPECT_EQ(n, 1) << key << " delivered " << n << " times";
    }
  }
}

TEST(PrepareDelayTest, RewritesIntoTheScheduleTopic) {
  // Proves a delayed message is pointed at SCHEDULE_TOPIC_XXXX queue level - 1 with REAL_TOPIC,
  // REAL_QID and the clamped DELAY, other properties kept; undelayed ones are left alone.
  auto levels = DelayLevels::Parse("1s 5s 10s");
  ASSERT_TRUE(levels.ok());
  Msg m = Numbered(1, 10, 3, {{"DELAY", "2"}, {"KEYS", "k1 k2"}});
  store::MessageToStore view = m.view();
  std::optional<DelayRewrite> rewrite = PrepareDelay(*levels, view);
  ASSERT_TRUE(rewrite.has_value());
  rewrite->ApplyTo(view);
  EXPECT_EQ(view.topic, "SCHEDULE_TOPIC_XXXX");
  EXPECT_EQ(view.queue_id, 1);
  EXPECT_EQ(store::FindProperty(view.properties, "REAL_TOPIC"), "T");
  EXPECT_EQ(store::FindProperty(view.properties, "REAL_QID"), "3");
  EXPECT_EQ(store::FindProperty(view.properties, "DELAY"), "2");
  EXPECT_EQ(store::FindProperty(view.properties, "KEYS"), "k1 k2");
  EXPECT_EQ(store::FindProperty(view.properties, "UNIQ_KEY"), "u3-1");

  Msg high = Numbered(2, 10, 0, {{"DELAY", "99"}});
  std::optional<DelayRewrite> clamped = PrepareDelay(*levels, high.view());
  ASSERT_TRUE(clamped.has_value());
  EXPECT_EQ(clamped->level, 3);
  EXPECT_EQ(clamped->queue_id, 2);
  EXPECT_EQ(store::FindProperty(clamped->properties, "DELAY"), "3");

  // Not delayed: DELAY 0, negative or not a number (as Message::DelayLevel reads it), no DELAY.
  for (const char* none : {"0", "-4", "x1", ""}) {
    EXPECT_FALSE(PrepareDelay(*levels, Numbered(3, 10, 0, {{"DELAY", none}}).view()).has_value())
        << none;
  }
  EXPECT_FALSE(PrepareDelay(*levels, Numbered(4).view()).has_value());
  Msg half = Numbered(5, 10, 0, {{"DELAY", "1"}});
  half.sys_flag = store::kSysFlagTransactionPrepared;
  EXPECT_FALSE(PrepareDelay(*levels, half.view()).has_value()) << "a half message is not delayed";
}

TEST(ScheduleServiceTest, DeliversEachLevelNoEarlierThanItsDelayAndInOrder) {
  // Proves every level delivers each message at or after store time + delay, in order, exactly
  // once without faults, into its real topic and queue; and that a level above the highest is
  // clamped to it.
  SimStoreRig rig;
  BrokerConfig config = TestConfig("1s 3s 7s 20s");
  std::shared_ptr<store::MessageStore> store;
  std::shared_ptr<ScheduleService> service;
  std::vector<Sent> sent;
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    store = MustOpen(env, config.store);
    ASSERT_NE(store, nullptr);
    auto created = ScheduleService::Create(env, store, config);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    service = *created;
    service->Start();
    for (int i = 0; i < 24; i++) {
      int32_t level = 1 + i % 4;
      sent.push_back(PutDelayed(*store, service->levels(), i, level, level - 1));
      env.scheduler.Sleep(300ms);
    }
    // Above the highest level: clamped to level 4 (20 s), delivered into queue 3 last.
    sent.push_back(PutDelayed(*store, service->levels(), 100, 40, 3));
    EXPECT_EQ(sent.back().level, 4);
  }));
  rig.RunFor(2s);
  ASSERT_TRUE(rig.RunInNode([&](io::Env&) {
    // Two seconds after the last put level 1 (1 s) is done and level 4 (20 s) has not begun.
    EXPECT_EQ(Delivered(*store, 0).size(), 6u);
    EXPECT_TRUE(Delivered(*store, 3).empty());
  }));
  rig.RunFor(40s);
  ASSERT_TRUE(rig.RunInNode([&](io::Env&) {
    CheckDeliveries(*store, service->levels(), sent, /*exactly=*/true);
    EXPECT_EQ(service->stats().delivered, sent.size());
    EXPECT_EQ(service->stats().skipped, 0u);
    EXPECT_EQ(service->offsets().at(4), 7);
    EXPECT_TRUE(service->Stop().ok());
    EXPECT_TRUE(store->Shutdown().ok());
  }));
}

TEST(ScheduleServiceTest, DefaultLevelsUpToTwoHours) {
  // Proves the 18 default levels (1 s .. 2 h) each deliver no earlier than their delay, and
  // that none of the long ones is delivered before its time even though the short ones are.
  SimStoreRig rig;
  BrokerConfig config = TestConfig("1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h");
  // Two hours of virtual time: the production intervals keep the number of wake-ups down.
  config.store.async_flush_interval = 500ms;
  config.store.cq_flush_interval = 1s;
  ScheduleOptions options;
  options.idle_poll = 1s;
  std::shared_ptr<store::MessageStore> store;
  std::shared_ptr<ScheduleService> service;
  std::vector<Sent> sent;
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    store = MustOpen(env, config.store);
    ASSERT_NE(store, nullptr);
    auto created = ScheduleService::Create(env, store, config, options);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    service = *created;
    service->Start();
    for (int32_t level = 1; level <= 18; level++) {
      sent.push_back(PutDelayed(*store, service->levels(), level, level, level - 1));
    }
  }));
  rig.RunFor(std::chrono::minutes(59));
  ASSERT_TRUE(rig.RunInNode([&](io::Env&) {
    EXPECT_EQ(service->stats().delivered, 16u) << "levels 1-16 (up to 30 m) only";
    EXPECT_TRUE(Delivered(*store, 16).empty());
    EXPECT_TRUE(Delivered(*store, 17).empty());
  }));
  rig.RunFor(std::chrono::minutes(62));
  ASSERT_TRUE(rig.RunInNode([&](io::Env&) {
    CheckDeliveries(*store, service->levels(), sent, /*exactly=*/true);
    EXPECT_EQ(service->stats().delivered, 18u);
    EXPECT_TRUE(service->Stop().ok());
    EXPECT_TRUE(store->Shutdown().ok());
  }));
}

TEST(ScheduleServiceTest, SurvivesCrashesAndCleanRestarts) {
  // Proves delayed messages are delivered after a crash of the node (stored ones survive, the
  // offsets resume from the persisted file: duplicates allowed, none lost, none early), and
  // that after a clean Stop a restart delivers nothing twice.
  SimStoreRig rig(23);
  BrokerConfig config = TestConfig("1s 5s 10s", store::FlushType::kSync);
  std::shared_ptr<store::MessageStore> store;
  std::shared_ptr<ScheduleService> service;
  std::vector<Sent> sent;
  auto open = [&](io::Env& env) {
    store = MustOpen(env, config.store);
    ASSERT_NE(store, nullptr);
    auto created = ScheduleService::Create(env, store, config);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    service = *created;
    service->Start();
  };
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    open(env);
    for (int i = 0; i < 30; i++) {
      int32_t level = 1 + i % 3;
      sent.push_back(PutDelayed(*store, service->levels(), i, level, level - 1));
      env.scheduler.Sleep(200ms);
    }
  }));
  rig.RunFor(2500ms);  // level 1 done, level 2 partly, level 3 not started; offsets persisted
  store.reset();
  service.reset();
  rig.Crash(sim::CrashMode::kTear);
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    open(env);
    EXPECT_GT(service->offsets().at(1), 0) << "level 1's progress was persisted";
    EXPECT_EQ(service->offsets().at(3), 0);
    // More delayed messages, then a crash before any of them is due.
    for (int i = 30; i < 36; i++) {
      sent.push_back(PutDelayed(*store, service->levels(), i, 3, 2));
    }
  }));
  rig.RunFor(3s);
  store.reset();
  service.reset();
  rig.Crash(sim::CrashMode::kDrop);
  ASSERT_TRUE(rig.Run([&](io::Env& env) { open(env); }));
  rig.RunFor(30s);
  int64_t copies_before_stop = 0;
  ASSERT_TRUE(rig.RunInNode([&](io::Env&) {
    CheckDeliveries(*store, service->levels(), sent, /*exactly=*/false);
    for (int32_t q = 0; q < 3; q++) copies_before_stop += store->MaxOffset("T", q);
    EXPECT_GE(copies_before_stop, static_cast<int64_t>(sent.size()));
    // The clean order: stop delivering, make the store durable, record the offsets.
    EXPECT_TRUE(service->Stop().ok());
    EXPECT_TRUE(store->Shutdown().ok());
    EXPECT_TRUE(service->Persist().ok());
  }));
  store.reset();
  service.reset();
  ASSERT_TRUE(rig.Run([&](io::Env& env) { open(env); }));
  rig.RunFor(20s);
  ASSERT_TRUE(rig.RunInNode([&](io::Env&) {
    int64_t copies = 0;
    for (int32_t q = 0; q < 3; q++) copies += store->MaxOffset("T", q);
    EXPECT_EQ(copies, copies_before_stop) << "a clean restart delivered again";
    EXPECT_EQ(service->stats().delivered, 0u);
    EXPECT_TRUE(service->Stop().ok());
    EXPECT_TRUE(store->Shutdown().ok());
  }));
}

TEST(ScheduleServiceTest, WallClockJumpBackwardsWaitsAtMostOneDelayAndNeverMakesEarly) {
  // Proves a backward jump of the wall clock postpones delivery by no more than the level's
  // delay counted from when the service first read the message (as RocketMQ bounds the wait),
  // and never delivers before that delay has passed in true time; a forward jump brings
  // delivery forward, still no earlier than store time + delay on the wall clock.
  SimStoreRig rig(5);
  BrokerConfig config = TestConfig("10s");
  std::shared_ptr<store::MessageStore> store;
  std::shared_ptr<ScheduleService> service;
  std::vector<Sent> forward;
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    store = MustOpen(env, config.store);
    ASSERT_NE(store, nullptr);
    auto created = ScheduleService::Create(env, store, config);
    ASSERT_TRUE(created.ok());
    service = *created;
    service->Start();
    PutDelayed(*store, service->levels(), 0, 1, 0);
  }));
  rig.RunFor(5s);
  rig.world().JumpClock(rig.node(), -30s);
  rig.RunFor(4800ms);  // 9.8 s after the put by the monotonic clock, -20.2 s by the wall clock
  ASSERT_TRUE(rig.RunInNode([&](io::Env&) { EXPECT_TRUE(Delivered(*store, 0).empty()); }));
  rig.RunFor(1200ms);  // 11 s after the put: held a whole delay
  ASSERT_TRUE(rig.RunInNode([&](io::Env&) {
    EXPECT_EQ(Delivered(*store, 0).size(), 1u);
    forward.push_back(PutDelayed(*store, service->levels(), 1, 1, 1));
  }));
  rig.RunFor(2s);
  rig.world().JumpClock(rig.node(), 5s);
  rig.RunFor(4s);  // 6 s by the monotonic clock, 11 s by the wall clock
  ASSERT_TRUE(rig.RunInNode([&](io::Env&) {
    CheckDeliveries(*store, service->levels(), forward, /*exactly=*/true);
    EXPECT_EQ(Delivered(*store, 0).size(), 1u);
    EXPECT_EQ(service->stats().delivered, 2u);
    EXPECT_TRUE(service->Stop().ok());
    EXPECT_TRUE(store->Shutdown().ok());
  }));
}

TEST(ScheduleServiceTest, AFailedPutIsRetriedNotSkipped) {
  // Proves a copy the store cannot take (the disk is full) is tried again later, the level
  // waits behind it, and everything is delivered in order once space returns.
  SimStoreRig rig(9);
  BrokerConfig config = TestConfig("1s");
  ScheduleOptions options;
  options.put_retry = 2s;
  std::shared_ptr<store::MessageStore> store;
  std::shared_ptr<ScheduleService> service;
  std::vector<Sent> sent;
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    store = MustOpen(env, config.store);
    ASSERT_NE(store, nullptr);
    auto created = ScheduleService::Create(env, store, config, options);
    ASSERT_TRUE(created.ok());
    service = *created;
    service->Start();
    for (int i = 0; i < 5; i++) sent.push_back(PutDelayed(*store, service->levels(), i, 1, 0));
    ASSERT_TRUE(store->Flush().ok());
  }));
  sim::DiskFaults full;
  full.capacity_bytes = rig.disk().used_bytes();
  rig.disk().set_faults(full);
  ASSERT_TRUE(rig.RunInNode([&](io::Env& env) {
    // The store learns the disk is full from a write that fails, and then refuses puts.
    Msg other = Numbered(99);
    other.topic = "Other";
    EXPECT_TRUE(store->Put(other.view()).ok());
    env.scheduler.Sleep(100ms);  // the flusher tries to write it
    EXPECT_TRUE(store->disk_full());
    EXPECT_EQ(service->stats().delivered, 0u) << "the test came too late";
  }));
  rig.RunFor(10s);
  ASSERT_TRUE(rig.RunInNode([&](io::Env&) {
    EXPECT_GT(service->stats().put_failures, 0u);
    EXPECT_EQ(service->stats().skipped, 0u);
    EXPECT_EQ(service->offsets().at(1), 0) << "the level moved past a message it did not put";
  }));
  rig.disk().set_faults(sim::DiskFaults{});
  rig.RunFor(15s);
  ASSERT_TRUE(rig.RunInNode([&](io::Env&) {
    CheckDeliveries(*store, service->levels(), sent, /*exactly=*/true);
    EXPECT_EQ(service->offsets().at(1), 5);
    EXPECT_TRUE(service->Stop().ok());
    EXPECT_TRUE(store->Shutdown().ok());
  }));
}

TEST(ScheduleServiceTest, OffsetFileRoundTripsAndAnUnreadableOneStartsOver) {
  // Proves Stop writes RocketMQ's delayOffset.json shape, Create reads it back (bare numeric keys
  // too), and an unparsable file starts every level at 0 instead of failing.
  SimStoreRig rig;
  BrokerConfig config = TestConfig("1s 2s");
  ASSERT_TRUE(rig.Run([&](io::Env& env) {
    auto store = MustOpen(env, config.store);
    ASSERT_NE(store, nullptr);
    auto created = ScheduleService::Create(env, store, config);
    ASSERT_TRUE(created.ok());
    std::shared_ptr<ScheduleService> service = *created;
    service->Start();
    PutDelayed(*store, service->levels(), 0, 2, 0);
    env.scheduler.Sleep(3s);
    EXPECT_TRUE(service->Stop().ok());
    auto text = env.disk.ReadAll("config/delayOffset.json");
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(std::string(text->begin(), text->end()), R"({"offsetTable":{"1":0,"2":1}})");

    std::string old_style = R"({"offsetTable":{1:4,2:7}})";
    ASSERT_TRUE(env.disk
                    .WriteAtomically("config/delayOffset.json",
                                     std::span(reinterpret_cast<const uint8_t*>(old_style.data()),
                                               old_style.size()))
                    .ok());
    auto reread = ScheduleService::Create(env, store, config);
    ASSERT_TRUE(reread.ok());
    EXPECT_EQ((*reread)->offsets(), (std::map<int32_t, int64_t>{{1, 4}, {2, 7}}));

    std::string garbage = "{\"offsetTa";
    ASSERT_TRUE(env.disk
                    .WriteAtomically(
                        "config/delayOffset.json",
                        std::span(reinterpret_cast<const uint8_t*>(garbage.data()), garbage.size()))
                    .ok());
    auto fresh = ScheduleService::Create(env, store, config);
    ASSERT_TRUE(fresh.ok());
    EXPECT_EQ((*fresh)->offsets(), (std::map<int32_t, int64_t>{{1, 0}, {2, 0}}));
    BrokerConfig bad = config;
    bad.message_delay_level = "1s 2x";
    EXPECT_EQ(ScheduleService::Create(env, store, bad).code(), ErrorCode::kInvalidArgument);
    EXPECT_TRUE(store->Shutdown().ok());
  }));
}

}  // namespace
}  // namespace apogee::broker
