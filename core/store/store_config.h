#pragma once

// StoreConfig: every knob of the message store, with RocketMQ 4.x's defaults (the name of the
// matching broker.conf key in brackets). Tests shrink the sizes; nothing else changes.

#include <cstdint>
#include <string>

#include "core/base/time.h"

namespace apogee::store {

enum class FlushType : uint8_t {
  // A put is answered once its bytes are written to the store's buffer; a flusher writes and
  // syncs them every async_flush_interval. A crash may lose the last interval of puts.
  kAsync = 0,
  // A put that asks to wait is answered once a sync that covers its bytes returned OK (group
  // commit), or with kFlushDiskTimeout after sync_flush_timeout.
  kSync = 1,
};

struct StoreConfig {
  // Commit log segment size [mapedFileSizeCommitLog]: 1 GiB.
  uint64_t segment_bytes = uint64_t{1} << 30;
  // Largest stored record [maxMessageSize]: 4 MiB.
  uint32_t message_bytes_max = 4u << 20;
  // Entries per consume-queue file [mapedFileSizeConsumeQueue / 20]: 300,000.
  uint32_t cq_entries_per_file = 300'000;
  // Index file shape [maxHashSlotNum, maxIndexNum].
  uint32_t index_slots = 5'000'000;
  uint32_t index_entries_max = 20'000'000;

  FlushType flush_type = FlushType::kAsync;  // [flushDiskType]
  // SYNC_FLUSH: how long a put waits for its sync [syncFlushTimeout]: 5 s.
  Duration sync_flush_timeout = std::chrono::seconds(5);
  // ASYNC_FLUSH: the flusher's period [flushIntervalCommitLog]: 500 ms.
  Duration async_flush_interval = std::chrono::milliseconds(500);
  // Consume queues and index are written and synced this often [flushIntervalConsumeQueue],
  // or as soon as this many records were dispatched since the last time: while flushes succeed
  // it bounds the memory their unflushed entries take (about 44 bytes a record). A failing disk
  // keeps them buffered (to be rewritten), growing with the puts that disk still accepts.
  Duration cq_flush_interval = std::chrono::seconds(1);
  uint32_t cq_flush_records_max = 200'000;
  // Bytes the store may hold that are not yet durable. A put that would pass it waits for the
  // flusher (up to sync_flush_timeout, then kOsPageCacheBusy). It bounds resident memory.
  uint64_t write_buffer_bytes_max = 64u << 20;
  // After a failed sync the flusher rewrites the lost bytes and retries after this pause.
  Duration flush_retry_backoff = std::chrono::milliseconds(10);

  // Retention [fileReservedTime]: sealed segments older than this are deleted.
  Duration file_reserved_time = std::chrono::hours(72);
  // Hour of day (UTC, 0..23) when expired segments are deleted [deleteWhen "04"]; -1: any hour.
  int delete_when_hour = 4;
  // How often retention runs [cleanResourceInterval]: 10 s.
  Duration clean_interval = std::chrono::seconds(10);
  // Disk use above which the oldest segments are deleted whether expired or not
  // [diskMaxUsedSpaceRatio 75, diskSpaceCleanForciblyRatio 0.85]: the store deletes down to it.
  double disk_clean_ratio = 0.75;
  // Disk use above which puts are refused with kDiskFull [diskSpaceWarningLevelRatio 0.90].
  double disk_full_ratio = 0.90;

  // The host recorded in every record's STOREHOST field and in offsetMsgIds (IPv4, port).
  uint32_t store_ipv4 = 0x7F000001;  // 127.0.0.1
  int32_t store_port = 10911;
};

}  // namespace apogee::store
