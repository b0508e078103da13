// The MessageStore's memory statement on both backends: memory_bytes() stays bounded by the
// write buffer limit however much goes through.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "core/store/message_store.h"
#include "core/store/write_buffer.h"
#include "tests/store/message_store_test_util.h"
#include "tests/store/store_backend.h"

namespace apogee::store {
namespace {

using testing::MustOpen;
using testing::Numbered;
using testing::ShutdownOnExit;
using testing::SmallStoreConfig;

class MessageStoreMemoryTest : public testing::StoreBackendTest {};

// How long a put may wait for room in the full write buffer. These tests are about memory, not
// time: on the posix backend the flusher's real fsyncs (a thousand 4 KiB segments) can keep the
// buffer full far longer than the small config's 200 ms on a loaded machine, and a put that
// gives up (OS_PAGE_CACHE_BUSY) failed the test once under load.
constexpr Duration kPatientWait = std::chrono::seconds(60);

// Puts 6000 messages of about 600 bytes (about 55 times the write buffer) over four queues and
// returns the peak of memory_bytes().
uint64_t PeakMemoryOfManyPuts(MessageStore& store) {
  uint64_t peak = 0;
  for (int i = 0; i < 6000; i++) {
    PutResult r = store.Put(Numbered(i, 500, i % 4).view());
    EXPECT_TRUE(r.ok()) << i << ": " << r.error;
    if (!r.ok()) break;
    peak = std::max(peak, store.memory_bytes());
  }
  return peak;
}

TEST_P(MessageStoreMemoryTest, MemoryStaysBoundedUnderManyPuts) {
  // Proves resident memory stays bounded while far more than the write buffer goes through:
  // below write_buffer_bytes_max plus two buffer chunks (the one being filled and, at a segment
  // roll-over, the previous segment's until it is flushed) plus queue and index buffers.
  RunOnBackend([](io::Env& env) {
    StoreConfig config = SmallStoreConfig();
    config.segment_bytes = 256u << 10;
    config.cq_entries_per_file = 1024;
    config.sync_flush_timeout = kPatientWait;
    ShutdownOnExit guard{MustOpen(env, config)};
    ASSERT_NE(guard.store, nullptr);
    MessageStore& store = *guard.store;
    uint64_t peak = PeakMemoryOfManyPuts(store);
    const uint64_t bound =
        config.write_buffer_bytes_max + 2 * WriteBuffer::kChunkBytes + (512u << 10);
    EXPECT_LE(peak, bound);
    EXPECT_GT(peak, 0u);
    ASSERT_TRUE(store.Flush().ok());
    EXPECT_LE(store.memory_bytes(), bound);
    EXPECT_EQ(store.MaxOffset("T", 3), 1500);
    EXPECT_TRUE(store.Shutdown().ok());
  });
}

// Every segment used to start a 1 MiB chunk: with 4 KiB segments memory_bytes() peaked near
// 18 MiB. Chunks are now capped at what is left of their segment.
TEST_P(MessageStoreMemoryTest, MemoryBoundHoldsWithSmallSegments) {
  // Proves the documented bound (write buffer plus one chunk, plus queue and index buffers)
  // holds whatever the segment size.
  RunOnBackend([](io::Env& env) {
    StoreConfig config = SmallStoreConfig();  // 4 KiB segments
    config.cq_entries_per_file = 1024;
    config.sync_flush_timeout = kPatientWait;
    ShutdownOnExit guard{MustOpen(env, config)};
    ASSERT_NE(guard.store, nullptr);
    uint64_t peak = PeakMemoryOfManyPuts(*guard.store);
    EXPECT_LE(peak, config.write_buffer_bytes_max + WriteBuffer::kChunkBytes + (512u << 10));
    EXPECT_TRUE(guard.store->Shutdown().ok());
  });
}

INSTANTIATE_STORE_BACKENDS(MessageStoreMemoryTest);

}  // namespace
}  // namespace apogee::store
