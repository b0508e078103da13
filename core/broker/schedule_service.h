#pragma once

// ScheduleService: delayed messages (RocketMQ's ScheduleMessageService).
//
// The send path hands every message to PrepareDelay(). A message whose DELAY property is a level
// above 0 (and that is not a prepared or rolled-back transaction message) is not stored in its
// topic but in SCHEDULE_TOPIC_XXXX, queue level - 1, with its destination saved in the REAL_TOPIC
// and REAL_QID properties and DELAY set to the level, clamped to the highest one.
//
// Due time. RocketMQ keeps the delivery time (store time + the level's delay) in the consume
// queue's tags code. Our store computes the tags code itself (from TAGS) and stamps the store
// time inside Put, so the caller cannot know it; instead a message's due time is computed when it
// is read back: its record's STORETIMESTAMP + the level's delay. Both are wall-clock times, as in
// RocketMQ, compared with Clock::WallNow().
//
// Delivery. One fiber per level reads its queue from the level's offset, in queue order. For the
// message at the head: while WallNow() is before its due time the fiber sleeps (at most
// due_check_max at a time, so a forward jump of the wall clock is noticed); then it puts a copy
// into REAL_TOPIC / REAL_QID (DELAY, REAL_TOPIC and REAL_QID removed, WAIT=false as RocketMQ
// sets) and only after that put returned OK advances the level's offset past it. A failed put
// (disk full, store busy, ...) is retried after put_retry from the same message; nothing behind it
// in that level moves meanwhile. Only a record that can never be delivered (no REAL_TOPIC, a bad
// REAL_QID, or a copy the store refuses as illegal) is skipped, with an error log and a count.
//
// Invariants:
//   - Never early: a copy is put only when WallNow() >= store time + delay of its level (so the
//     copy's own store timestamp is at least that, unless the wall clock jumps backwards between
//     the check and the stamp, within one Put), or when the service has held the message for
//     that delay on the monotonic clock (only sooner than the first after a backward jump or a
//     slow drift of the wall clock).
//   - In order within a level: a level's messages are put in their queue order.
//   - Every message of a level below offsets_[level] was put OK (or skipped as undeliverable).
//     The offset only moves back when the store says the queue ends before it (a store that
//     lost its unsynced tail), so that messages stored there later are not passed over.
//
// Durability: the offsets are written to <store_root>/config/delayOffset.json
// ({"offsetTable":{"1":12,...}}, RocketMQ's file and shape) every persist_interval when they
// changed, and by Stop() and Persist(). An offset is written only once the commit log is durable
// past every copy below it (CommitLog::flushed_offset()), so no persisted offset claims a copy a
// crash can take back, under ASYNC_FLUSH too; nothing here forces a flush or waits for one. The
// file is replaced atomically (temp file, sync, rename, sync of the directory). After a crash the
// service restarts from the last persisted offsets: messages delivered since are delivered again
// (at-least-once), none are lost, and none early (the due time is a function of the stored
// record).
//
// Shutdown order for a restart without repeats: Stop(), then MessageStore::Shutdown() (which
// makes every copy durable), then Persist() once more. Stop() alone persists what is durable by
// then; the rest is delivered again after the restart.
//
// Wall-clock jumps: due times are wall times, so a forward jump of the wall clock brings
// delivery forward by the jump (as in RocketMQ). A backward jump would postpone it by the jump;
// instead, as RocketMQ bounds such a wait to one delay, a message is also due once this service
// has held it for its level's delay on the monotonic clock (counted from when this incarnation
// first read it, which is never before the message was stored): so a backward jump postpones
// nothing beyond one delay, and never makes a message early in true time. "Never early" on the
// broker's own clock is measured against the stored timestamp + delay, unless the wall clock
// went back (or ran slow) meanwhile.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/base/time.h"
#include "core/broker/broker_config.h"
#include "core/broker/delay_levels.h"
#include "core/io/env.h"
#include "core/io/sync.h"
#include "core/io/wait_queue.h"
#include "core/store/message_store.h"

namespace apogee::broker {

inline constexpr char kDelayOffsetFile[] = "config/delayOffset.json";

// Decoded properties that can be edited and encoded again, keeping their order.
class PropertyList {
 public:
  explicit PropertyList(std::string_view encoded);
  std::optional<std::string_view> Get(std::string_view key) const;
  // Replaces the value of `key` in place, or appends it.
  void Set(std::string_view key, std::string value);
  void Remove(std::string_view key);
  std::string Encode() const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// What the send path stores instead of a delayed message. `properties` is owned here: keep this
// alive while the message that ApplyTo() pointed at it is in use.
struct DelayRewrite {
  int32_t level = 0;  // after clamping
  int32_t queue_id = 0;
  std::string properties;
  void ApplyTo(store::MessageToStore& message) const;
};

// nullopt when `message` is not to be delayed: no DELAY, DELAY not a positive integer (treated as
// 0, as protocol::Message::DelayLevel() does), or a prepared or rolled-back transaction message.
std::optional<DelayRewrite> PrepareDelay(const DelayLevels& levels,
                                         const store::MessageToStore& message);

// The due time (ms since the epoch) of a record stored in the schedule queue of `level`.
int64_t DueTimeMillis(const DelayLevels& levels, int32_t level, int64_t store_timestamp_ms);

struct ScheduleOptions {
  // An empty level is looked at again this often [DELAY_FOR_A_WHILE 100 ms].
  Duration idle_poll = std::chrono::milliseconds(100);
  // A level waiting for its head message re-reads the wall clock at least this often.
  Duration due_check_max = std::chrono::seconds(1);
  // After a failed put the same message is tried again this much later [DELAY_FOR_A_PERIOD].
  Duration put_retry = std::chrono::seconds(10);
  // Offsets are persisted this often when they changed; 0 takes the broker's
  // offset_flush_interval.
  Duration persist_interval = Duration::zero();
  // Most entries read from a level's queue at once.
  uint32_t batch_max = 32;
};

struct ScheduleStats {
  uint64_t delivered = 0;     // copies put OK
  uint64_t put_failures = 0;  // failed puts (each retried later)
  uint64_t skipped = 0;       // undeliverable records passed over
  uint64_t persists = 0;      // offset files written
  uint64_t persist_failures = 0;
};

class ScheduleService : public std::enable_shared_from_this<ScheduleService> {
 public:
  // Parses the delay levels, loads the persisted offsets (a missing file means every level starts
  // at 0; an unparsable one is logged and treated as missing: at-least-once). Does not start
  // anything. kInvalidArgument for bad messageDelayLevel text, disk errors as they come. May
  // yield.
  static Result<std::shared_ptr<ScheduleService>> Create(io::Env& env,
                                                         std::shared_ptr<store::MessageStore> store,
                                                         const BrokerConfig& config,
                                                         ScheduleOptions options = {});
  ~ScheduleService();
  ScheduleService(const ScheduleService&) = delete;
  ScheduleService& operator=(const ScheduleService&) = delete;

  // Spawns the level fibers and the persist fiber. REQUIRES: not started.
  void Start();
  // Stops the fibers and persists the offsets whose copies are durable. May yield.
  Status Stop();
  // Wakes the fiber of `level` (the send path may call it after storing a delayed message).
  void Notify(int32_t level);

  // See PrepareDelay().
  std::optional<DelayRewrite> Prepare(const store::MessageToStore& message) const {
    return PrepareDelay(levels_, message);
  }
  // Writes the offsets whose copies are durable, if they changed since the last write. Works
  // after MessageStore::Shutdown() too. May yield.
  Status Persist();

  const DelayLevels& levels() const { return levels_; }
  // The next queue offset of each level, 1-based level keys.
  const std::map<int32_t, int64_t>& offsets() const { return offsets_; }
  const ScheduleStats& stats() const { return stats_; }

 private:
  ScheduleService(io::Env& env, std::shared_ptr<store::MessageStore> store,
                  const BrokerConfig& config, DelayLevels levels, ScheduleOptions options);
  Status Load();
  void LevelLoop(int32_t level);
  // Delivers one record of `level`'s queue or reports why not; see the .cc.
  enum class Step : uint8_t { kDelivered, kSkipped, kNotDue, kPutFailed };
  Step DeliverOne(int32_t level, const store::RecordView& record, int64_t* due_ms,
                  int64_t* copy_end);
  // The level has dealt with everything below `next_offset`; the last copy ends at commit log
  // offset `copy_end` (0: no copy).
  void Advance(int32_t level, int64_t next_offset, int64_t copy_end);
  // The store says the level's queue continues at `offset` instead.
  void MoveTo(int32_t level, int64_t offset);
  // Delivers the first `count` messages of one read, in order; false when stopping.
  bool DeliverBatch(int32_t level, const store::GetResult& got, size_t count);
  void PersistLoop();
  // Sleeps for at most `d` or until Notify(level) or Stop(). False when stopping.
  bool Pause(int32_t level, Duration d);
  std::string OffsetPath() const;

  io::Env& env_;
  std::shared_ptr<store::MessageStore> store_;
  std::string store_root_;
  uint32_t message_bytes_max_;
  DelayLevels levels_;
  ScheduleOptions options_;
  std::map<int32_t, int64_t> offsets_;
  // Offsets reached but not yet claimable, in order: each with the end of its copy.
  struct Pending {
    int64_t next_offset = 0;
    int64_t copy_end = 0;
  };
  std::map<int32_t, std::deque<Pending>> pending_;
  std::map<int32_t, int64_t> durable_;    // offsets whose copies are all durable
  std::map<int32_t, int64_t> persisted_;  // what the file holds
  // Per level, queue offset -> when (monotonic) this incarnation first read the message: a
  // message is due at the latest one delay after that, whatever the wall clock says. Entries
  // below the level's offset are dropped as it advances.
  std::map<int32_t, std::map<int64_t, Instant>> first_read_;
  bool started_ = false;
  bool stopping_ = false;
  std::map<int32_t, std::unique_ptr<io::WaitQueue>> level_wake_;
  io::WaitQueue persist_wake_;
  io::Mutex persist_mu_;
  std::vector<io::FiberHandle> fibers_;
  ScheduleStats stats_;
};

}  // namespace apogee::broker
