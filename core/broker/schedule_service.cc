#include "core/broker/schedule_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/protocol/codes.h"
#include "core/protocol/message.h"
#include "core/remoting/json.h"

namespace apogee::broker {
namespace {

constexpr std::string_view kPropertyDelay = protocol::property::kDelay;
constexpr std::string_view kPropertyRealTopic = protocol::property::kRealTopic;
constexpr std::string_view kPropertyRealQueueId = protocol::property::kRealQueueId;

// Bytes read from a level's queue at once, beyond the first record (always served).
constexpr uint32_t kReadBytesMax = 1u << 20;
// Reads that found records the store could not serve (skipped as invalid) are retried this many
// times before the level moves past them: a transient read error must not lose a message.
constexpr int kSkippedRetriesMax = 3;

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

}  // namespace

// --- PropertyList ---

PropertyList::PropertyList(std::string_view encoded) {
  for (auto [k, v] : store::ParseProperties(encoded)) items_.emplace_back(k, v);
}

std::optional<std::string_view> PropertyList::Get(std::string_view key) const {
  // Later duplicates win, as in FindProperty.
  for (auto it = items_.rbegin(); it != items_.rend(); ++it) {
    if (it->first == key) return std::string_view(it->second);
  }
  return std::nullopt;
}

void PropertyList::Set(std::string_view key, std::string value) {
  Remove(key);
  items_.emplace_back(std::string(key), std::move(value));
}

void PropertyList::Remove(std::string_view key) {
  std::erase_if(items_, [&](const auto& item) { return item.first == key; });
}

std::string PropertyList::Encode() const { return store::EncodeProperties(items_); }

// --- The send path's rewrite ---

void DelayRewrite::ApplyTo(store::MessageToStore& message) const {
  APOGEE_ASSERT(level >= 1);
  APOGEE_ASSERT(queue_id == level - 1);
  message.topic = protocol::kScheduleTopic;
  message.queue_id = queue_id;
  message.properties = properties;
}

std::optional<DelayRewrite> PrepareDelay(const DelayLevels& levels,
                                         const store::MessageToStore& message) {
  // Half and rolled-back transaction messages are never delayed: the commit delays the real one.
  if (!store::IsConsumable(message.sys_flag)) return std::nullopt;
  std::optional<std::string_view> delay = store::FindProperty(message.properties, kPropertyDelay);
  if (!delay) return std::nullopt;
  std::optional<int64_t> level = ParseInt(*delay);
  if (!level || *level <= 0) return std::nullopt;
  DelayRewrite rewrite;
  rewrite.level = levels.Clamp(static_cast<int32_t>(std::min<int64_t>(*level, kDelayLevelsMax)));
  rewrite.queue_id = rewrite.level - 1;
  PropertyList props(message.properties);
  props.Set(kPropertyDelay, fmt::format("{}", rewrite.level));
  props.Set(kPropertyRealTopic, std::string(message.topic));
  props.Set(kPropertyRealQueueId, fmt::format("{}", message.queue_id));
  rewrite.properties = props.Encode();
  return rewrite;
}

int64_t DueTimeMillis(const DelayLevels& levels, int32_t level, int64_t store_timestamp_ms) {
  return store_timestamp_ms + levels.DelayMillisOf(level);
}

// --- ScheduleService ---

ScheduleService::ScheduleService(io::Env& env, std::shared_ptr<store::MessageStore> store,
                                 const BrokerConfig& config, DelayLevels levels,
                                 ScheduleOptions options)
    : env_(env),
      store_(std::move(store)),
      store_root_(config.store_root),
      message_bytes_max_(config.store.message_bytes_max),
      levels_(std::move(levels)),
      options_(options),
      persist_wake_(env.scheduler.runtime()),
      persist_mu_(env.scheduler.runtime()) {
  if (options_.persist_interval <= Duration::zero()) {
    options_.persist_interval = config.offset_flush_interval;
  }
  APOGEE_ASSERT(options_.batch_max > 0);
  APOGEE_ASSERT(options_.idle_poll > Duration::zero());
  for (int32_t level = 1; level <= levels_.max_level(); level++) {
    offsets_[level] = 0;
    durable_[level] = 0;
    level_wake_[level] = std::make_unique<io::WaitQueue>(env.scheduler.runtime());
  }
}

ScheduleService::~ScheduleService() = default;

Result<std::shared_ptr<ScheduleService>> ScheduleService::Create(
    io::Env& env, std::shared_ptr<store::MessageStore> store, const BrokerConfig& config,
    ScheduleOptions options) {
  APOGEE_ASSERT(store != nullptr);
  APOGEE_ASSIGN_OR_RETURN(DelayLevels levels, DelayLevels::Parse(config.message_delay_level));
  std::shared_ptr<ScheduleService> service(
      new ScheduleService(env, std::move(store), config, std::move(levels), options));
  APOGEE_RETURN_IF_ERROR(service->Load());
  return service;
}

std::string ScheduleService::OffsetPath() const {
  return io::JoinPath(store_root_, kDelayOffsetFile);
}

Status ScheduleService::Load() {
  std::string path = OffsetPath();
  std::string dir = io::ParentDir(path);
  APOGEE_RETURN_IF_ERROR(env_.disk.MakeDirs(dir));
  // The config directory's own name must be durable before files in it count.
  APOGEE_RETURN_IF_ERROR(env_.disk.SyncDir(io::ParentDir(dir)));
  APOGEE_ASSIGN_OR_RETURN(bool exists, env_.disk.Exists(path));
  if (!exists) {
    LOG_INFO("schedule: no {}; every level starts at offset 0", path);
    return Status::Ok();
  }
  APOGEE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, env_.disk.ReadAll(path));
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  Result<JsonValue> json = ParseJson(text);
  const JsonValue* table = json.ok() && json->is_object() ? json->Find("offsetTable") : nullptr;
  if (table == nullptr || !table->is_object()) {
    // Starting from 0 delivers again what was delivered (at-least-once) but loses nothing.
    LOG_ERROR("schedule: {} is unreadable ({}); every level starts at offset 0", path,
              json.ok() ? "no offsetTable object" : json.status().ToString());
    return Status::Ok();
  }
  for (const JsonMember& member : table->members()) {
    std::optional<int64_t> level = ParseInt(member.key);
    std::optional<int64_t> offset =
        member.value.is_number() ? member.value.int64() : std::optional<int64_t>();
    if (!level || !offset || *offset < 0) {
      LOG_ERROR("schedule: {}: bad entry '{}'; ignored (that level starts at 0)", path, member.key);
      continue;
    }
    if (*level < 1 || *level > levels_.max_level()) {
      LOG_WARN("schedule: {}: level {} is not configured ({} levels); ignored", path, *level,
               levels_.max_level());
      continue;
    }
    offsets_[static_cast<int32_t>(*level)] = *offset;
  }
  durable_ = offsets_;
  persisted_ = offsets_;
  LOG_INFO("schedule: loaded {} level offsets from {}", offsets_.size(), path);
  return Status::Ok();
}

void ScheduleService::Start() {
  APOGEE_ASSERT(!started_, "schedule service started twice");
  APOGEE_ASSERT(!stopping_);
  started_ = true;
  std::shared_ptr<ScheduleService> self = shared_from_this();
  for (int32_t level = 1; level <= levels_.max_level(); level++) {
    fibers_.push_back(env_.scheduler.Spawn(fmt::format("schedule-level-{}", level),
                                           [self, level] { self->LevelLoop(level); }));
  }
  fibers_.push_back(env_.scheduler.Spawn("schedule-persist", [self] { self->PersistLoop(); }));
}

void ScheduleService::Notify(int32_t level) {
  auto it = level_wake_.find(level);
  if (it != level_wake_.end()) it->second->NotifyAll();
}

Status ScheduleService::Stop() {
  if (stopping_) return Status(ErrorCode::kClosed, "schedule service already stopped");
  stopping_ = true;
  for (auto& [level, wake] : level_wake_) wake->NotifyAll();
  persist_wake_.NotifyAll();
  for (io::FiberHandle& fiber : fibers_) fiber.Join();
  fibers_.clear();
  Status s = Persist();
  if (!s.ok()) LOG_ERROR("schedule: final persist failed: {}", s.ToString());
  return s;
}

bool ScheduleService::Pause(int32_t level, Duration d) {
  if (stopping_) return false;
  level_wake_.at(level)->Wait(env_.scheduler.After(d));
  return !stopping_;
}

void ScheduleService::LevelLoop(int32_t level) {
  const int32_t queue_id = level - 1;
  int skipped_retries = 0;
  while (!stopping_) {
    const int64_t offset = offsets_.at(level);
    store::GetResult got = store_->Get(protocol::kScheduleTopic, queue_id, offset,
                                       options_.batch_max, kReadBytesMax);  // may yield
    if (stopping_) return;
    if (got.messages.empty() && got.corrupt_skipped == 0) {
      bool movable = got.status == store::GetStatus::kOffsetTooSmall ||
                     got.status == store::GetStatus::kOffsetOverflowBadly ||
                     got.status == store::GetStatus::kNoMessageInQueue ||
                     got.status == store::GetStatus::kMessageWasRemoving;
      if (movable && got.next_begin_offset != offset) {
        // Retention removed the head of the queue (or the records it points at), or the queue
        // holds less than the offset says (a store that lost its unsynced tail): follow the
        // store, so new messages are not passed over.
        LOG_WARN("schedule: level {} offset {} moved to {} ({})", level, offset,
                 got.next_begin_offset, store::GetStatusName(got.status));
        MoveTo(level, got.next_begin_offset);
        continue;
      }
      if (!Pause(level, options_.idle_poll)) return;
      continue;
    }
    // Deliver up to the first record the store skipped (a gap in the queue offsets).
    int64_t expected = offset;
    size_t contiguous = 0;
    while (contiguous < got.messages.size() && got.messages[contiguous].queue_offset == expected) {
      contiguous++;
      expected++;
    }
    if (!DeliverBatch(level, got, contiguous)) return;
    APOGEE_ASSERT(offsets_.at(level) == expected, "level {} at {} expected {}", level,
                  offsets_.at(level), expected);
    bool gap = expected < got.next_begin_offset;
    if (!gap) {
      skipped_retries = 0;
      continue;
    }
    if (skipped_retries < kSkippedRetriesMax) {
      skipped_retries++;
      LOG_WARN("schedule: level {} record at offset {} could not be read; retry {} of {}", level,
               expected, skipped_retries, kSkippedRetriesMax);
      if (!Pause(level, options_.put_retry)) return;
      continue;
    }
    // Each gap is a record the store refuses to serve (corrupt or removed): it can never be
    // delivered. Move past it, and deliver what followed it next round.
    LOG_ERROR("schedule: level {} passes over unreadable record(s) at offset {}", level, expected);
    stats_.skipped++;
    Advance(level, expected + 1, 0);
    skipped_retries = 0;
  }
}

bool ScheduleService::DeliverBatch(int32_t level, const store::GetResult& got, size_t count) {
  APOGEE_ASSERT(count <= got.messages.size());
  std::map<int64_t, Instant>& first_read = first_read_[level];
  for (size_t i = 0; i < count; i++) {
    first_read.emplace(got.messages[i].queue_offset, env_.clock.Now());
  }
  for (size_t i = 0; i < count; i++) {
    const store::GetResult::Message& m = got.messages[i];
    store::DecodedRecord d =
        store::DecodeRecord(std::span(got.records).subspan(m.at, m.size), m.physical_offset,
                            message_bytes_max_, /*verify_crc=*/false);
    // The store validated the record (CRC included) before serving it.
    APOGEE_ASSERT(d.kind == store::RecordKind::kMessage, "schedule record: {}", d.error);
    APOGEE_ASSERT(d.view.queue_offset == m.queue_offset);
    while (true) {
      int64_t due_ms = 0;
      int64_t copy_end = 0;
      Step step = DeliverOne(level, d.view, &due_ms, &copy_end);
      if (step == Step::kDelivered || step == Step::kSkipped) {
        Advance(level, m.queue_offset + 1, copy_end);
        break;
      }
      Duration wait = options_.put_retry;
      if (step == Step::kNotDue) {
        int64_t now_ms = ToMillis(env_.clock.WallNow());
        APOGEE_ASSERT(due_ms > now_ms);
        wait =
            std::min<Duration>(std::chrono::milliseconds(due_ms - now_ms), options_.due_check_max);
        // ... or until it has been held a whole delay, if that comes first.
        Duration held_left =
            first_read.at(m.queue_offset) + levels_.DelayOf(level) - env_.clock.Now();
        APOGEE_ASSERT(held_left > Duration::zero());
        wait = std::min(wait, held_left);
      }
      if (!Pause(level, wait)) return false;
    }
  }
  return true;
}

void ScheduleService::Advance(int32_t level, int64_t next_offset, int64_t copy_end) {
  APOGEE_ASSERT(next_offset > offsets_.at(level), "level {}: {} after {}", level, next_offset,
                offsets_.at(level));
  offsets_[level] = next_offset;
  std::map<int64_t, Instant>& first_read = first_read_[level];
  first_read.erase(first_read.begin(), first_read.lower_bound(next_offset));
  pending_[level].push_back(Pending{next_offset, copy_end});
}

void ScheduleService::MoveTo(int32_t level, int64_t offset) {
  if (offset > offsets_.at(level)) {
    Advance(level, offset, 0);
    return;
  }
  // Backwards: the queue ends before what was delivered, so nothing beyond `offset` may be
  // claimed any more, durable or not; and what is stored there from now on is new.
  offsets_[level] = offset;
  std::map<int64_t, Instant>& first_read = first_read_[level];
  first_read.erase(first_read.lower_bound(offset), first_read.end());
  pending_[level].clear();
  durable_[level] = std::min(durable_[level], offset);
}

ScheduleService::Step ScheduleService::DeliverOne(int32_t level, const store::RecordView& record,
                                                  int64_t* due_ms, int64_t* copy_end) {
  *due_ms = DueTimeMillis(levels_, level, record.store_timestamp_ms);
  if (ToMillis(env_.clock.WallNow()) < *due_ms) {
    // Not due by the wall clock; but held a whole delay already (the wall clock went back)?
    const std::map<int64_t, Instant>& first_read = first_read_[level];
    auto read = first_read.find(record.queue_offset);
    APOGEE_ASSERT(read != first_read.end(), "level {} offset {} never read", level,
                  record.queue_offset);
    if (env_.clock.Now() - read->second < levels_.DelayOf(level)) return Step::kNotDue;
    LOG_INFO(
        "schedule: level {} offset {} held {} ms: due by the monotonic clock ({} ms before "
        "its wall-clock due time)",
        level, record.queue_offset,
        std::chrono::duration_cast<std::chrono::milliseconds>(env_.clock.Now() - read->second)
            .count(),
        *due_ms - ToMillis(env_.clock.WallNow()));
  }
  PropertyList props(record.properties);
  std::optional<std::string_view> real_topic = props.Get(kPropertyRealTopic);
  std::optional<std::string_view> real_qid_text = props.Get(kPropertyRealQueueId);
  std::optional<int64_t> real_qid = real_qid_text ? ParseInt(*real_qid_text) : std::nullopt;
  if (!real_topic || real_topic->empty() || !real_qid || *real_qid < 0 || *real_qid > INT32_MAX) {
    LOG_ERROR("schedule: level {} offset {}: no valid REAL_TOPIC / REAL_QID; skipped", level,
              record.queue_offset);
    stats_.skipped++;
    return Step::kSkipped;
  }
  std::string topic(*real_topic);
  props.Remove(kPropertyDelay);
  props.Remove(kPropertyRealTopic);
  props.Remove(kPropertyRealQueueId);
  // As RocketMQ: the copy does not wait for the flush. Persist() records the offset past this
  // message only once the commit log is durable past the copy.
  props.Set(store::kPropertyWait, "false");
  std::string properties = props.Encode();
  store::MessageToStore copy =
      store::CopyOfRecord(record, topic, static_cast<int32_t>(*real_qid), properties);
  store::PutResult put = store_->Put(copy);  // may yield
  if (put.ok()) {
    APOGEE_ASSERT(put.physical_offset >= 0);
    *copy_end = put.physical_offset + put.size;
    stats_.delivered++;
    return Step::kDelivered;
  }
  if (put.status == store::PutStatus::kMessageIllegal ||
      put.status == store::PutStatus::kPropertiesSizeExceeded) {
    // The store will refuse this copy every time: retrying would stall the level for ever.
    LOG_ERROR("schedule: level {} offset {}: {} refused the copy ({}: {}); skipped", level,
              record.queue_offset, topic, store::PutStatusName(put.status), put.error);
    stats_.skipped++;
    return Step::kSkipped;
  }
  stats_.put_failures++;
  LOG_WARN("schedule: level {} offset {}: put into {}:{} failed ({}: {}); retrying", level,
           record.queue_offset, topic, copy.queue_id, store::PutStatusName(put.status), put.error);
  return Step::kPutFailed;
}

void ScheduleService::PersistLoop() {
  while (!stopping_) {
    persist_wake_.Wait(env_.scheduler.After(options_.persist_interval));
    if (stopping_) return;
    Status s = Persist();
    if (!s.ok()) LOG_WARN("schedule: persisting offsets failed: {}; retrying", s.ToString());
  }
}

Status ScheduleService::Persist() {
  // One writer of the file (and its temporary) at a time.
  io::MutexLock lock(persist_mu_);
  APOGEE_RETURN_IF_ERROR(lock.status());
  // What may be claimed: offsets whose copies all lie below the commit log's durable end.
  const int64_t durable_end = store_->commit_log().flushed_offset();
  for (auto& [level, pending] : pending_) {
    while (!pending.empty() && pending.front().copy_end <= durable_end) {
      durable_[level] = pending.front().next_offset;
      pending.pop_front();
    }
  }
  if (durable_ == persisted_) return Status::Ok();
  std::map<int32_t, int64_t> snapshot = durable_;
  JsonValue table = JsonValue::Object();
  for (auto [level, offset] : snapshot) table.Add(fmt::format("{}", level), JsonValue::Int(offset));
  JsonValue root = JsonValue::Object();
  root.Add("offsetTable", std::move(table));
  std::string text = WriteJson(root);
  Status written = env_.disk.WriteAtomically(
      OffsetPath(), std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  if (!written.ok()) {
    stats_.persist_failures++;
    return written;
  }
  persisted_ = std::move(snapshot);
  stats_.persists++;
  return Status::Ok();
}

}  // namespace apogee::broker
