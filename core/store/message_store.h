#pragma once

// MessageStore: the broker's storage engine (RocketMQ's DefaultMessageStore). One commit log
// holds every message; a consume queue per topic and queue id indexes it by queue offset; an
// index finds messages by key; a checkpoint and an abort marker make recovery short and say
// whether the last stop was clean.
//
// Put modes and what an OK answer promises (see docs/storage-format.md):
//   - FlushType::kSync, message without WAIT=false: the record is durable (a sync that covers
//     it returned OK). On timeout the answer is kFlushDiskTimeout and the record may or may not
//     survive a crash.
//   - FlushType::kSync with WAIT=false, and every put under FlushType::kAsync: the record is in
//     the store's memory and will be written and synced by the flusher; a crash before that
//     loses it.
// Visibility: under kSync a record reaches its consume queue (and so consumers) only once it
// is durable, so a consumer never reads, and commits an offset past, a message that a crash
// can take back. Under kAsync it is visible at once.
//
// Recovery (Open): reads the checkpoint, loads consume queues and index, scans the commit log
// from the checkpoint (validating magic, size, offsets and CRC, cutting at the first invalid
// record), re-dispatches what the queues and index lack and truncates what they hold beyond
// the log. RecoveryReport says what was found and cut.
//
// Every call that may yield says so. One fiber scheduler; no locks needed beyond the queue
// creation mutex, because nothing between offset assignment and append yields.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/io/env.h"
#include "core/io/sync.h"
#include "core/store/checkpoint.h"
#include "core/store/commit_log.h"
#include "core/store/consume_queue.h"
#include "core/store/index_service.h"
#include "core/store/message_record.h"
#include "core/store/store_config.h"

namespace apogee::store {

// RocketMQ's PutMessageStatus, as far as a single store can produce it.
enum class PutStatus : uint8_t {
  kOk = 0,
  kFlushDiskTimeout = 1,  // the sync did not complete in sync_flush_timeout
  kMessageIllegal = 2,    // bad topic, too large, IPv6 flags
  kPropertiesSizeExceeded = 3,
  kServiceNotAvailable = 4,  // the store is shutting down (a waiting sync put that gets it
                             // after its append may still survive, as with a timeout)
  kDiskFull = 5,             // a write hit ENOSPC or disk use passed disk_full_ratio
  kOsPageCacheBusy = 6,      // the write buffer stayed full for sync_flush_timeout
};
const char* PutStatusName(PutStatus status);

struct PutResult {
  PutStatus status = PutStatus::kOk;
  std::string error;             // why, when not kOk
  int64_t physical_offset = -1;  // of the first record
  int64_t queue_offset = -1;     // of the first record
  uint32_t size = 0;             // bytes of all records
  uint32_t message_count = 0;
  int64_t store_timestamp_ms = 0;
  bool ok() const { return status == PutStatus::kOk; }
};

// RocketMQ's GetMessageStatus.
enum class GetStatus : uint8_t {
  kFound = 0,
  kNoMatchedMessage = 1,    // entries were read but the filter took none
  kMessageWasRemoving = 2,  // the entries point into deleted segments
  kOffsetFoundNull = 3,     // entries were read but no record could be
  kOffsetOverflowBadly = 4,
  kOffsetOverflowOne = 5,
  kOffsetTooSmall = 6,
  kNoMatchedLogicQueue = 7,
  kNoMessageInQueue = 8,
};
const char* GetStatusName(GetStatus status);

struct GetResult {
  GetStatus status = GetStatus::kNoMatchedLogicQueue;
  int64_t next_begin_offset = 0;
  int64_t min_offset = 0;
  int64_t max_offset = 0;
  std::vector<uint8_t> records;  // the stored records back to back: a pull answer's body
  struct Message {
    int64_t queue_offset = 0;
    int64_t physical_offset = 0;
    uint32_t size = 0;
    size_t at = 0;  // where it starts in `records`
  };
  std::vector<Message> messages;
  uint32_t corrupt_skipped = 0;  // records that failed validation and were not served
  // A record could not be read (an I/O error): the answer ends before it and
  // next_begin_offset names it, so the next Get tries it again. Never skipped.
  bool read_failed = false;
};

// Tag filter on the consume queue's tags code; an empty function takes every message.
using TagFilter = std::function<bool(int64_t tags_code)>;

struct RecoveryReport {
  bool clean_shutdown = false;  // no abort marker was found
  bool checkpoint_found = false;
  Checkpoint checkpoint;
  LogRecoveryReport log;
  uint64_t queue_entries_redispatched = 0;
  uint64_t queue_gaps = 0;  // records that found a hole in their queue (reported, skipped)
  uint32_t queues = 0;
  std::string Describe() const;
};

struct StoreStats {
  uint64_t puts_ok = 0;
  uint64_t puts_failed = 0;
  uint64_t corrupt_records_skipped = 0;
  uint64_t segments_deleted = 0;
  uint64_t checkpoints = 0;
};

class MessageStore : public std::enable_shared_from_this<MessageStore> {
 public:
  // Opens (and recovers) the store under `root` on env.disk. Starts the flusher, the queue
  // flusher and retention fibers; they keep the store alive until Shutdown() or the node dies.
  // May yield.
  static Result<std::shared_ptr<MessageStore>> Open(io::Env& env, const StoreConfig& config,
                                                    std::string root = "");
  ~MessageStore();
  MessageStore(const MessageStore&) = delete;
  MessageStore& operator=(const MessageStore&) = delete;

  // Stores one message. May yield.
  PutResult Put(const MessageToStore& message);
  // The offsetMsgId of the record at `physical_offset` (the answer's msgId).
  std::string OffsetMsgIdOf(int64_t physical_offset) const {
    return MakeOffsetMsgId(config_.store_ipv4, config_.store_port, physical_offset);
  }
  // Stores messages of one topic and queue as consecutive records with consecutive queue
  // offsets, all or none (SEND_BATCH_MESSAGE). May yield.
  PutResult PutBatch(std::span<const MessageToStore> messages);

  // Up to max_count records from a queue starting at `queue_offset`, at most max_bytes of them
  // (always at least one when any matches), with RocketMQ's statuses. May yield.
  GetResult Get(std::string_view topic, int32_t queue_id, int64_t queue_offset, uint32_t max_count,
                uint32_t max_bytes, const TagFilter& filter = {});

  // The validated record at a commit log offset (VIEW_MESSAGE_BY_ID by offsetMsgId). May yield.
  Result<std::vector<uint8_t>> ReadRecordAt(int64_t physical_offset);
  Result<std::vector<uint8_t>> ReadRecordByOffsetMsgId(std::string_view offset_msg_id);
  // Records of `topic` whose KEYS holds `key` or whose UNIQ_KEY is `key`, newest first, stored
  // within [begin_ms, end_ms]. May yield.
  Result<std::vector<std::vector<uint8_t>>> QueryByKey(std::string_view topic, std::string_view key,
                                                       size_t max_count, int64_t begin_ms,
                                                       int64_t end_ms);

  // Told of each consumable record as it becomes visible to readers (dispatched into its consume
  // queue): within its Put under ASYNC_FLUSH, once the flusher made it durable under
  // SYNC_FLUSH (so also later than a Put with WAIT=false returned); never during recovery.
  // The broker wakes its long-polling pulls here (RocketMQ's MessageArrivingListener), so a
  // record that became visible after its put returned wakes them too. Must not yield.
  using ArrivalListener = std::function<void(std::string_view topic, int32_t queue_id,
                                             int64_t queue_offset, int64_t tags_code)>;
  void SetArrivalListener(ArrivalListener listener) { arrival_ = std::move(listener); }

  // Queue offsets: -1 for a queue that does not exist.
  int64_t MinOffset(std::string_view topic, int32_t queue_id) const;
  // The next offset to be consumed from: what is visible (dispatched).
  int64_t MaxOffset(std::string_view topic, int32_t queue_id) const;
  // SEARCH_OFFSET_BY_TIMESTAMP. May yield.
  Result<int64_t> OffsetByTime(std::string_view topic, int32_t queue_id, int64_t timestamp_ms);
  struct QueueId {
    std::string topic;
    int32_t queue_id = 0;
    bool operator==(const QueueId&) const = default;
  };
  std::vector<QueueId> Queues() const;

  // Makes everything put so far durable, with its queues, index and a checkpoint. May yield.
  Status Flush();
  // One retention pass (it also runs every clean_interval). May yield.
  Status RunRetention();
  // Flushes everything, writes the checkpoint, removes the abort marker and stops the fibers.
  // Puts afterwards fail with kServiceNotAvailable. May yield.
  Status Shutdown();

  const RecoveryReport& recovery() const { return recovery_; }
  const StoreStats& stats() const { return stats_; }
  const CommitLog& commit_log() const { return *log_; }
  int64_t dispatched_offset() const { return dispatched_; }
  bool disk_full() const { return log_->disk_full() || disk_full_by_space_; }
  // Resident bytes the store holds: write buffer, unflushed queue entries, index slot table.
  uint64_t memory_bytes() const;

 private:
  struct QueueState {
    std::unique_ptr<ConsumeQueue> cq;
    int64_t next_offset = 0;  // the queue offset the next put gets
  };
  using TopicQueues = std::map<int32_t, QueueState>;

  MessageStore(io::Env& env, const StoreConfig& config, std::string root);
  Status Recover();
  Status LoadQueues(int64_t commit_log_min);
  Result<QueueState*> EnsureQueue(std::string_view topic, int32_t queue_id);
  QueueState* FindQueue(std::string_view topic, int32_t queue_id);
  const QueueState* FindQueue(std::string_view topic, int32_t queue_id) const;
  PutResult Refuse(PutStatus status, std::string error);
  PutResult Append(std::span<const MessageToStore> messages, bool wait);
  void Dispatch(const RecordView& record, bool recovering);
  void DispatchTo(QueueState* queue, const RecordView& record, bool recovering);
  void DispatchUpTo(int64_t end);
  Status FlushQueuesAndCheckpoint();
  void QueueFlushLoop();
  void CleanLoop();
  Status CheckSpace(double* used_ratio);
  std::string Path(std::string_view name) const;

  io::Env& env_;
  StoreConfig config_;
  std::string root_;
  std::shared_ptr<CommitLog> log_;
  std::unique_ptr<IndexService> index_;
  ArrivalListener arrival_;
  std::map<std::string, TopicQueues, std::less<>> queues_;
  io::Mutex queue_create_mu_;
  io::Mutex flush_mu_;      // one FlushQueuesAndCheckpoint at a time
  int64_t dispatched_ = 0;  // records below it are in their queues and the index
  bool disk_full_by_space_ = false;
  bool shutting_down_ = false;
  io::WaitQueue background_wake_;
  io::WaitQueue queue_flush_wake_;
  uint64_t dispatched_since_flush_ = 0;  // records dispatched since the queue flusher started
  std::vector<io::FiberHandle> background_;
  RecoveryReport recovery_;
  StoreStats stats_;
};

}  // namespace apogee::store
