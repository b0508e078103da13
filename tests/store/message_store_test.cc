// The MessageStore facade on both backends (simulated disk and real files): put and get with
// RocketMQ's statuses, limits, batches, validation, the key index, offsetMsgId lookups, offsets
// by time, reopening, retention and the memory bound. Faults and crashes are in
// message_store_sim_test.cc.

#include "core/store/message_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/base/bytes.h"
#include "tests/store/message_store_test_util.h"
#include "tests/store/store_backend.h"

namespace apogee::store {
namespace {

using namespace std::chrono_literals;
using testing::DecodeMessage;
using testing::MustOpen;
using testing::MustPut;
using testing::Numbered;
using testing::ShutdownOnExit;
using testing::SmallStoreConfig;

class MessageStoreTest : public testing::StoreBackendTest {};

TEST_P(MessageStoreTest, PutThenGetServesEveryRecordIntact) {
  // Proves puts get dense queue offsets and increasing physical offsets, and Get serves them
  // back as records that decode (both CRCs checked) to exactly what was put, with the RocketMQ
  // header fields (next = offset + entries read, min, max) right.
  RunOnBackend([](io::Env& env) {
    ShutdownOnExit guard{MustOpen(env, SmallStoreConfig())};
    ASSERT_NE(guard.store, nullptr);
    MessageStore& store = *guard.store;
    std::vector<PutResult> puts;
    for (int i = 0; i < 20; i++) puts.push_back(MustPut(store, Numbered(i)));
    for (int i = 0; i < 20; i++) {
      EXPECT_EQ(puts[i].queue_offset, i);
      EXPECT_EQ(puts[i].message_count, 1u);
      if (i > 0) {
        EXPECT_GE(puts[i].physical_offset, puts[i - 1].physical_offset + puts[i - 1].size);
      }
    }
    EXPECT_EQ(store.MinOffset("T", 0), 0);
    EXPECT_EQ(store.MaxOffset("T", 0), 20);
    GetResult g = store.Get("T", 0, 0, 32, 1u << 20);
    ASSERT_EQ(g.status, GetStatus::kFound);
    EXPECT_EQ(g.next_begin_offset, 20);
    EXPECT_EQ(g.min_offset, 0);
    EXPECT_EQ(g.max_offset, 20);
    EXPECT_EQ(g.corrupt_skipped, 0u);
    ASSERT_EQ(g.messages.size(), 20u);
    size_t total = 0;
    for (int i = 0; i < 20; i++) {
      testing::Decoded d = DecodeMessage(g, i);
      ASSERT_TRUE(d.valid) << d.error;
      EXPECT_EQ(d.body, Numbered(i).body);
      EXPECT_EQ(d.props, Numbered(i).props);
      EXPECT_EQ(d.topic, "T");
      EXPECT_EQ(d.queue_offset, i);
      EXPECT_EQ(d.physical_offset, puts[i].physical_offset);
      EXPECT_EQ(g.messages[i].physical_offset, puts[i].physical_offset);
      EXPECT_EQ(g.messages[i].size, puts[i].size);
      EXPECT_EQ(d.store_timestamp_ms, puts[i].store_timestamp_ms);
      total += g.messages[i].size;
    }
    EXPECT_EQ(g.records.size(), total);
    EXPECT_EQ(store.Queues(), (std::vector<MessageStore::QueueId>{{"T", 0}}));
    EXPECT_TRUE(store.Shutdown().ok());
  });
}

TEST_P(MessageStoreTest, GetStatusesAtTheEdgesOfAQueue) {
  // Proves the statuses of DefaultMessageStore.getMessage for a missing queue, the offset at
  // max (OVERFLOW_ONE, next = offset) and past it (OVERFLOW_BADLY, next = min while min is 0),
  // and that a negative offset is OFFSET_TOO_SMALL with next = min.
  RunOnBackend([](io::Env& env) {
    ShutdownOnExit guard{MustOpen(env, SmallStoreConfig())};
    ASSERT_NE(guard.store, nullptr);
    MessageStore& store = *guard.store;
    EXPECT_EQ(store.Get("T", 0, 0, 32, 1u << 20).status, GetStatus::kNoMatchedLogicQueue);
    for (int i = 0; i < 5; i++) MustPut(store, Numbered(i));
    EXPECT_EQ(store.Get("T", 1, 0, 32, 1u << 20).status, GetStatus::kNoMatchedLogicQueue);
    EXPECT_EQ(store.Get("Other", 0, 0, 32, 1u << 20).status, GetStatus::kNoMatchedLogicQueue);
    EXPECT_EQ(store.MaxOffset("T", 1), -1);
    EXPECT_EQ(store.MinOffset("Other", 0), -1);

    GetResult one = store.Get("T", 0, 5, 32, 1u << 20);
    EXPECT_EQ(one.status, GetStatus::kOffsetOverflowOne);
    EXPECT_EQ(one.next_begin_offset, 5);
    EXPECT_EQ(one.max_offset, 5);
    EXPECT_TRUE(one.messages.empty());

    GetResult badly = store.Get("T", 0, 9, 32, 1u << 20);
    EXPECT_EQ(badly.status, GetStatus::kOffsetOverflowBadly);
    EXPECT_EQ(badly.next_begin_offset, 0);  // min is 0: RocketMQ corrects to min
    EXPECT_TRUE(badly.messages.empty());

    GetResult small = store.Get("T", 0, -3, 32, 1u << 20);
    EXPECT_EQ(small.status, GetStatus::kOffsetTooSmall);
    EXPECT_EQ(small.next_begin_offset, 0);

    GetResult last = store.Get("T", 0, 4, 32, 1u << 20);
    ASSERT_EQ(last.status, GetStatus::kFound);
    ASSERT_EQ(last.messages.size(), 1u);
    EXPECT_EQ(last.messages[0].queue_offset, 4);
    EXPECT_EQ(last.next_begin_offset, 5);
    EXPECT_TRUE(store.Shutdown().ok());
  });
}

TEST_P(MessageStoreTest, TagFilterSkipsAndNoMatchAdvancesNext) {
  // Proves a tag filter serves only matching records, moves next past the skipped entries, and
  // answers NO_MATCHED_MESSAGE (with next past everything scanned) when nothing matches.
  RunOnBackend([](io::Env& env) {
    ShutdownOnExit guard{MustOpen(env, SmallStoreConfig())};
    ASSERT_NE(guard.store, nullptr);
    MessageStore& store = *guard.store;
    for (int i = 0; i < 10; i++) {
      MustPut(store, Numbered(i, 50, 0, {{"TAGS", i % 2 == 0 ? "A" : "B"}}));
    }
    const int64_t code_a = TagsCode(EncodeProperties({{"TAGS", "A"}}));
    const int64_t code_c = TagsCode(EncodeProperties({{"TAGS", "C"}}));
    ASSERT_NE(code_a, code_c);
    GetResult a = store.Get("T", 0, 0, 2, 1u << 20, [&](int64_t c) { return c == code_a; });
    ASSERT_EQ(a.status, GetStatus::kFound);
    ASSERT_EQ(a.messages.size(), 2u);
    EXPECT_EQ(a.messages[0].queue_offset, 0);
    EXPECT_EQ(a.messages[1].queue_offset, 2);
    EXPECT_EQ(a.next_begin_offset, 3);
    EXPECT_EQ(DecodeMessage(a, 1).body, Numbered(2, 50).body);

    GetResult all_a = store.Get("T", 0, 1, 32, 1u << 20, [&](int64_t c) { return c == code_a; });
    ASSERT_EQ(all_a.status, GetStatus::kFound);
    EXPECT_EQ(all_a.messages.size(), 4u);  // 2, 4, 6, 8
    EXPECT_EQ(all_a.next_begin_offset, 10);

    GetResult none = store.Get("T", 0, 0, 32, 1u << 20, [&](int64_t c) { return c == code_c; });
    EXPECT_EQ(none.status, GetStatus::kNoMatchedMessage);
    EXPECT_TRUE(none.messages.empty());
    EXPECT_TRUE(none.records.empty());
    EXPECT_EQ(none.next_begin_offset, 10);
    EXPECT_EQ(none.max_offset, 10);
    EXPECT_TRUE(store.Shutdown().ok());
  });
}

TEST_P(MessageStoreTest, MaxCountAndMaxBytesLimitAnAnswer) {
  // Proves Get stops at max_count and at max_bytes, still serves one record when even the first
  // is larger than max_bytes, and next always names the first record not served.
  RunOnBackend([](io::Env& env) {
    ShutdownOnExit guard{MustOpen(env, SmallStoreConfig())};
    ASSERT_NE(guard.store, nullptr);
    MessageStore& store = *guard.store;
    uint32_t size = 0;
    for (int i = 0; i < 10; i++) size = MustPut(store, Numbered(i, 300)).size;
    GetResult three = store.Get("T", 0, 4, 3, 1u << 20);
    ASSERT_EQ(three.status, GetStatus::kFound);
    ASSERT_EQ(three.messages.size(), 3u);
    EXPECT_EQ(three.messages[0].queue_offset, 4);
    EXPECT_EQ(three.messages[2].queue_offset, 6);
    EXPECT_EQ(three.next_begin_offset, 7);

    GetResult bytes = store.Get("T", 0, 0, 32, size * 5 / 2);
    ASSERT_EQ(bytes.status, GetStatus::kFound);
    EXPECT_EQ(bytes.messages.size(), 2u);
    EXPECT_LE(bytes.records.size(), size * 5 / 2);
    EXPECT_EQ(bytes.next_begin_offset, 2);

    GetResult tiny = store.Get("T", 0, 9, 32, 1);
    ASSERT_EQ(tiny.status, GetStatus::kFound);
    ASSERT_EQ(tiny.messages.size(), 1u);
    EXPECT_EQ(DecodeMessage(tiny, 0).body, Numbered(9, 300).body);
    EXPECT_EQ(tiny.next_begin_offset, 10);
    EXPECT_TRUE(store.Shutdown().ok());
  });
}

TEST_P(MessageStoreTest, PutBatchIsConsecutiveAndAllOrNothing) {
  // Proves a batch takes consecutive queue offsets and adjacent records, and that one invalid
  // message (or a second queue, or no message) refuses the whole batch without a trace.
  RunOnBackend([](io::Env& env) {
    ShutdownOnExit guard{MustOpen(env, SmallStoreConfig())};
    ASSERT_NE(guard.store, nullptr);
    MessageStore& store = *guard.store;
    MustPut(store, Numbered(0));
    std::vector<testing::Msg> owned;
    for (int i = 1; i <= 5; i++) owned.push_back(Numbered(i, 100));
    std::vector<MessageToStore> batch;
    for (const auto& m : owned) batch.push_back(m.view());
    PutResult r = store.PutBatch(batch);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.queue_offset, 1);
    EXPECT_EQ(r.message_count, 5u);
    GetResult g = store.Get("T", 0, 1, 32, 1u << 20);
    ASSERT_EQ(g.messages.size(), 5u);
    uint32_t total = 0;
    for (int i = 0; i < 5; i++) {
      EXPECT_EQ(g.messages[i].queue_offset, 1 + i);
      EXPECT_EQ(DecodeMessage(g, i).body, owned[i].body);
      total += g.messages[i].size;
    }
    EXPECT_EQ(g.messages[0].physical_offset, r.physical_offset);
    EXPECT_EQ(r.size, total);

    const int64_t write_end = store.commit_log().write_offset();
    testing::Msg huge = Numbered(9, 4000);
    std::vector<MessageToStore> bad = batch;
    bad.insert(bad.begin() + 2, huge.view());
    EXPECT_EQ(store.PutBatch(bad).status, PutStatus::kMessageIllegal);
    testing::Msg other_queue = Numbered(9, 10, /*queue_id=*/3);
    std::vector<MessageToStore> mixed = batch;
    mixed.push_back(other_queue.view());
    EXPECT_EQ(store.PutBatch(mixed).status, PutStatus::kMessageIllegal);
    EXPECT_EQ(store.PutBatch({}).status, PutStatus::kMessageIllegal);
    EXPECT_EQ(store.MaxOffset("T", 0), 6);
    EXPECT_EQ(store.MaxOffset("T", 3), -1);
    EXPECT_EQ(store.commit_log().write_offset(), write_end);
    EXPECT_EQ(store.stats().puts_failed, 3u);
    EXPECT_EQ(MustPut(store, Numbered(6)).queue_offset, 6);
    EXPECT_TRUE(store.Shutdown().ok());
  });
}

TEST_P(MessageStoreTest, ValidationRefusesBadMessages) {
  // Proves the put checks: a record over message_bytes_max and an empty, over-long or IPv6
  // message are MESSAGE_ILLEGAL, over-long properties PROPERTIES_SIZE_EXCEEDED; a record of
  // exactly message_bytes_max is accepted; refused puts leave no queue and no bytes behind.
  RunOnBackend([](io::Env& env) {
    StoreConfig config = SmallStoreConfig();
    ShutdownOnExit guard{MustOpen(env, config)};
    ASSERT_NE(guard.store, nullptr);
    MessageStore& store = *guard.store;
    testing::Msg big = Numbered(0, 0);
    big.body.append(config.message_bytes_max - RecordSizeOf(big.view()) + 1, 'x');
    ASSERT_EQ(RecordSizeOf(big.view()), config.message_bytes_max + 1);
    EXPECT_EQ(store.Put(big.view()).status, PutStatus::kMessageIllegal);
    testing::Msg props = Numbered(1, 10);
    props.props = EncodeProperties({{"KEYS", std::string(kPropertiesBytesMax, 'k')}});
    EXPECT_EQ(store.Put(props.view()).status, PutStatus::kPropertiesSizeExceeded);
    testing::Msg empty_topic = Numbered(2, 10);
    empty_topic.topic = "";
    EXPECT_EQ(store.Put(empty_topic.view()).status, PutStatus::kMessageIllegal);
    testing::Msg long_topic = Numbered(3, 10);
    long_topic.topic = std::string(kTopicBytesMax + 1, 't');
    EXPECT_EQ(store.Put(long_topic.view()).status, PutStatus::kMessageIllegal);
    testing::Msg v6 = Numbered(4, 10);
    v6.sys_flag = kSysFlagBornHostV6;
    EXPECT_EQ(store.Put(v6.view()).status, PutStatus::kMessageIllegal);
    EXPECT_EQ(store.stats().puts_failed, 5u);
    EXPECT_EQ(store.stats().puts_ok, 0u);
    EXPECT_TRUE(store.Queues().empty());
    EXPECT_EQ(store.commit_log().write_offset(), 0);

    big.body.pop_back();
    PutResult exact = store.Put(big.view());
    EXPECT_EQ(exact.status, PutStatus::kOk) << exact.error;
    EXPECT_EQ(exact.size, config.message_bytes_max);
    GetResult g = store.Get("T", 0, 0, 1, 1u << 20);
    ASSERT_EQ(g.status, GetStatus::kFound);
    EXPECT_EQ(DecodeMessage(g, 0).body, big.body);
    EXPECT_TRUE(store.Shutdown().ok());
  });
}

TEST_P(MessageStoreTest, QueryByKeyFindsUniqKeyAndEveryKeysWord) {
  // Proves the index finds a record by UNIQ_KEY and by each space-separated word of KEYS, only
  // within its topic, newest first, at most max_count, and only inside the time window.
  RunOnBackend([](io::Env& env) {
    ShutdownOnExit guard{MustOpen(env, SmallStoreConfig())};
    ASSERT_NE(guard.store, nullptr);
    MessageStore& store = *guard.store;
    testing::Msg t = Numbered(1, 20, 0, {{"KEYS", "order-7 customer-3"}});
    testing::Msg u = Numbered(2, 20, 0, {{"KEYS", "order-7"}});
    u.topic = "U";
    PutResult put_t = MustPut(store, t);
    MustPut(store, u);
    for (int i = 0; i < 3; i++) MustPut(store, Numbered(10 + i, 20, 1, {{"KEYS", "dup"}}));

    auto body_of = [](const std::vector<uint8_t>& rec) {
      return testing::DecodeServed(rec, static_cast<int64_t>(GetU64(&rec[kOffPhysicalOffset])))
          .body;
    };
    for (std::string key : {"u0-1", "order-7", "customer-3"}) {
      auto hits = store.QueryByKey("T", key, 8, 0, INT64_MAX);
      ASSERT_TRUE(hits.ok()) << key << ": " << hits.status().ToString();
      ASSERT_EQ(hits->size(), 1u) << key;
      EXPECT_EQ(body_of((*hits)[0]), t.body) << key;
    }
    auto in_u = store.QueryByKey("U", "order-7", 8, 0, INT64_MAX);
    ASSERT_TRUE(in_u.ok());
    ASSERT_EQ(in_u->size(), 1u);
    EXPECT_EQ(body_of((*in_u)[0]), u.body);
    auto none = store.QueryByKey("T", "order-", 8, 0, INT64_MAX);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
    EXPECT_TRUE(store.QueryByKey("V", "order-7", 8, 0, INT64_MAX)->empty());

    auto dups = store.QueryByKey("T", "dup", 2, 0, INT64_MAX);
    ASSERT_TRUE(dups.ok());
    ASSERT_EQ(dups->size(), 2u);
    EXPECT_EQ(body_of((*dups)[0]), Numbered(12, 20, 1).body);
    EXPECT_EQ(body_of((*dups)[1]), Numbered(11, 20, 1).body);
    auto later =
        store.QueryByKey("T", "order-7", 8, put_t.store_timestamp_ms + 3'600'000, INT64_MAX);
    ASSERT_TRUE(later.ok());
    EXPECT_TRUE(later->empty());
    EXPECT_TRUE(store.Shutdown().ok());
  });
}

TEST_P(MessageStoreTest, ReadByOffsetMsgIdReturnsTheRecordAndRejectsBadIds) {
  // Proves a put's offsetMsgId reads back its record (the same bytes ReadRecordAt gives), and
  // that a malformed id, an offset past the log and an offset inside a record fail cleanly.
  RunOnBackend([](io::Env& env) {
    StoreConfig config = SmallStoreConfig();
    ShutdownOnExit guard{MustOpen(env, config)};
    ASSERT_NE(guard.store, nullptr);
    MessageStore& store = *guard.store;
    std::vector<PutResult> puts;
    for (int i = 0; i < 15; i++) puts.push_back(MustPut(store, Numbered(i)));
    ASSERT_TRUE(store.Flush().ok());  // read some back from the files too
    puts.push_back(MustPut(store, Numbered(15)));
    for (int i : {0, 7, 15}) {
      std::string id = store.OffsetMsgIdOf(puts[i].physical_offset);
      ASSERT_EQ(id.size(), 32u);
      EXPECT_EQ(id, MakeOffsetMsgId(config.store_ipv4, config.store_port, puts[i].physical_offset));
      auto by_id = store.ReadRecordByOffsetMsgId(id);
      ASSERT_TRUE(by_id.ok()) << by_id.status().ToString();
      EXPECT_EQ(testing::DecodeServed(*by_id, puts[i].physical_offset).body, Numbered(i).body);
      auto at = store.ReadRecordAt(puts[i].physical_offset);
      ASSERT_TRUE(at.ok());
      EXPECT_EQ(*at, *by_id);
    }
    EXPECT_EQ(store.ReadRecordByOffsetMsgId("not an id").status().code(),
              ErrorCode::kInvalidArgument);
    EXPECT_FALSE(
        store.ReadRecordByOffsetMsgId(store.OffsetMsgIdOf(puts[0].physical_offset).substr(1)).ok());
    int64_t past = store.commit_log().write_offset() + 1000;
    EXPECT_FALSE(
        store.ReadRecordByOffsetMsgId(MakeOffsetMsgId(config.store_ipv4, config.store_port, past))
            .ok());
    EXPECT_EQ(store.ReadRecordAt(puts[3].physical_offset + 1).status().code(),
              ErrorCode::kCorruption);
    EXPECT_FALSE(store.ReadRecordAt(-1).ok());
    EXPECT_TRUE(store.Shutdown().ok());
  });
}

TEST_P(MessageStoreTest, OffsetByTimeFindsTheFirstRecordAtOrAfter) {
  // Proves SEARCH_OFFSET_BY_TIMESTAMP: the first offset stored at or after the time, min for a
  // time before everything, max for a time after everything, kNotFound for a missing queue.
  RunOnBackend([](io::Env& env) {
    ShutdownOnExit guard{MustOpen(env, SmallStoreConfig())};
    ASSERT_NE(guard.store, nullptr);
    MessageStore& store = *guard.store;
    std::vector<int64_t> times;
    for (int i = 0; i < 12; i++) {
      times.push_back(MustPut(store, Numbered(i)).store_timestamp_ms);
      env.scheduler.Sleep(10ms);
    }
    for (int i = 1; i < 12; i++) ASSERT_GT(times[i], times[i - 1]);
    ASSERT_TRUE(store.Flush().ok());  // search over the files as well as the buffer
    for (int i = 0; i < 12; i++) {
      auto exact = store.OffsetByTime("T", 0, times[i]);
      ASSERT_TRUE(exact.ok()) << exact.status().ToString();
      EXPECT_EQ(*exact, i);
      if (i > 0) {
        EXPECT_EQ(*store.OffsetByTime("T", 0, times[i] - 1), i);
      }
    }
    EXPECT_EQ(*store.OffsetByTime("T", 0, times[0] - 60'000), 0);
    EXPECT_EQ(*store.OffsetByTime("T", 0, times[11] + 60'000), 12);
    EXPECT_EQ(store.OffsetByTime("T", 5, times[0]).status().code(), ErrorCode::kNotFound);
    EXPECT_TRUE(store.Shutdown().ok());
  });
}

TEST_P(MessageStoreTest, ReopenAfterShutdownIsCleanAndContinues) {
  // Proves a clean shutdown is recognised on reopen, every queue, record and key is there, and
  // queue offsets continue where they stopped; puts after Shutdown are SERVICE_NOT_AVAILABLE.
  RunOnBackend([](io::Env& env) {
    StoreConfig config = SmallStoreConfig();
    int64_t write_end = 0;
    {
      ShutdownOnExit guard{MustOpen(env, config)};
      ASSERT_NE(guard.store, nullptr);
      for (int i = 0; i < 30; i++) MustPut(*guard.store, Numbered(i, 200, i % 2));
      write_end = guard.store->commit_log().write_offset();
      ASSERT_TRUE(guard.store->Shutdown().ok());
      EXPECT_EQ(guard.store->Put(Numbered(99).view()).status, PutStatus::kServiceNotAvailable);
      EXPECT_EQ(guard.store->Shutdown().code(), ErrorCode::kClosed);
    }
    ShutdownOnExit guard{MustOpen(env, config)};
    ASSERT_NE(guard.store, nullptr);
    MessageStore& store = *guard.store;
    EXPECT_TRUE(store.recovery().clean_shutdown) << store.recovery().Describe();
    EXPECT_TRUE(store.recovery().checkpoint_found);
    EXPECT_EQ(store.recovery().log.bytes_cut, 0u);
    EXPECT_EQ(store.recovery().queues, 2u);
    EXPECT_EQ(store.commit_log().write_offset(), write_end);
    for (int q = 0; q < 2; q++) {
      EXPECT_EQ(store.MaxOffset("T", q), 15);
      GetResult g = store.Get("T", q, 0, 32, 1u << 20);
      ASSERT_EQ(g.messages.size(), 15u);
      for (int k = 0; k < 15; k++) EXPECT_EQ(DecodeMessage(g, k).body, Numbered(2 * k + q).body);
    }
    auto hit = store.QueryByKey("T", "u1-29", 4, 0, INT64_MAX);
    ASSERT_TRUE(hit.ok());
    EXPECT_EQ(hit->size(), 1u);
    PutResult next = MustPut(store, Numbered(30, 200, 1));
    EXPECT_EQ(next.queue_offset, 15);
    EXPECT_EQ(next.physical_offset, write_end);
    EXPECT_TRUE(store.Shutdown().ok());
  });
}

TEST_P(MessageStoreTest, RetentionDeletesExpiredSealedSegmentsButNeverTheActiveOne) {
  // Proves RunRetention removes every expired sealed segment and never the active one, moves
  // MinOffset to the first record left (also after a reopen), and that Get below it answers
  // OFFSET_TOO_SMALL with next = min and past max OVERFLOW_BADLY with next = max.
  RunOnBackend([](io::Env& env) {
    StoreConfig config = SmallStoreConfig();
    config.file_reserved_time = 0ms;  // every sealed segment has expired
    ShutdownOnExit guard{MustOpen(env, config)};
    ASSERT_NE(guard.store, nullptr);
    MessageStore& store = *guard.store;
    std::vector<PutResult> puts;
    for (int i = 0; i < 40; i++) puts.push_back(MustPut(store, Numbered(i, 300)));
    ASSERT_TRUE(store.Flush().ok());
    const int64_t active = store.commit_log().write_offset() / 4096 * 4096;
    ASSERT_GE(active, 3 * 4096);
    ASSERT_TRUE(store.RunRetention().ok());
    EXPECT_EQ(store.commit_log().min_offset(), active);
    EXPECT_EQ(store.stats().segments_deleted, static_cast<uint64_t>(active / 4096));
    int64_t first_kept = 0;
    while (puts[first_kept].physical_offset < active) first_kept++;
    EXPECT_EQ(store.MinOffset("T", 0), first_kept);
    GetResult low = store.Get("T", 0, first_kept - 1, 32, 1u << 20);
    EXPECT_EQ(low.status, GetStatus::kOffsetTooSmall);
    EXPECT_EQ(low.next_begin_offset, first_kept);
    EXPECT_EQ(low.min_offset, first_kept);
    GetResult at_min = store.Get("T", 0, first_kept, 32, 1u << 20);
    ASSERT_EQ(at_min.status, GetStatus::kFound);
    EXPECT_EQ(at_min.messages.size(), static_cast<size_t>(40 - first_kept));
    EXPECT_EQ(DecodeMessage(at_min, 0).body, Numbered(static_cast<int>(first_kept), 300).body);
    GetResult badly = store.Get("T", 0, 100, 32, 1u << 20);
    EXPECT_EQ(badly.status, GetStatus::kOffsetOverflowBadly);
    EXPECT_EQ(badly.next_begin_offset, 40);
    EXPECT_FALSE(store.ReadRecordAt(puts[0].physical_offset).ok());
    // A second pass finds only the active segment and deletes nothing.
    ASSERT_TRUE(store.RunRetention().ok());
    EXPECT_EQ(store.commit_log().min_offset(), active);
    EXPECT_EQ(MustPut(store, Numbered(40, 300)).queue_offset, 40);
    ASSERT_TRUE(store.Shutdown().ok());

    ShutdownOnExit again{MustOpen(env, config)};
    ASSERT_NE(again.store, nullptr);
    EXPECT_EQ(again.store->MinOffset("T", 0), first_kept);
    EXPECT_EQ(again.store->MaxOffset("T", 0), 41);
    EXPECT_EQ(again.store->Get("T", 0, 0, 32, 1u << 20).status, GetStatus::kOffsetTooSmall);
    EXPECT_TRUE(again.store->Shutdown().ok());
  });
}

INSTANTIATE_STORE_BACKENDS(MessageStoreTest);

}  // namespace
}  // namespace apogee::store
