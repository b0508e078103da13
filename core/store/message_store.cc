// MessageStore: puts, dispatch and reads. Opening, recovery, flushing and retention are in
// message_store_lifecycle.cc.

#include "core/store/message_store.h"

#include <fmt/format.h>

#include "core/base/log.h"

namespace apogee::store {

namespace {

// How many consume-queue entries one Get may look at while a filter skips messages
// [maxFilterMessageCount 16000 bytes / 20].
constexpr uint32_t kGetScanEntriesMax = 800;

}  // namespace

const char* PutStatusName(PutStatus status) {
  switch (status) {
    case PutStatus::kOk:
      return "PUT_OK";
    case PutStatus::kFlushDiskTimeout:
      return "FLUSH_DISK_TIMEOUT";
    case PutStatus::kMessageIllegal:
      return "MESSAGE_ILLEGAL";
    case PutStatus::kPropertiesSizeExceeded:
      return "PROPERTIES_SIZE_EXCEEDED";
    case PutStatus::kServiceNotAvailable:
      return "SERVICE_NOT_AVAILABLE";
    case PutStatus::kDiskFull:
      return "DISK_FULL";
    case PutStatus::kOsPageCacheBusy:
      return "OS_PAGECACHE_BUSY";
  }
  return "UNKNOWN";
}

const char* GetStatusName(GetStatus status) {
  switch (status) {
    case GetStatus::kFound:
      return "FOUND";
    case GetStatus::kNoMatchedMessage:
      return "NO_MATCHED_MESSAGE";
    case GetStatus::kMessageWasRemoving:
      return "MESSAGE_WAS_REMOVING";
    case GetStatus::kOffsetFoundNull:
      return "OFFSET_FOUND_NULL";
    case GetStatus::kOffsetOverflowBadly:
      return "OFFSET_OVERFLOW_BADLY";
    case GetStatus::kOffsetOverflowOne:
      return "OFFSET_OVERFLOW_ONE";
    case GetStatus::kOffsetTooSmall:
      return "OFFSET_TOO_SMALL";
    case GetStatus::kNoMatchedLogicQueue:
      return "NO_MATCHED_LOGIC_QUEUE";
    case GetStatus::kNoMessageInQueue:
      return "NO_MESSAGE_IN_QUEUE";
  }
  return "UNKNOWN";
}

PutResult MessageStore::Refuse(PutStatus status, std::string error) {
  stats_.puts_failed++;
  PutResult r;
  r.status = status;
  r.error = std::move(error);
  return r;
}

PutResult MessageStore::Put(const MessageToStore& message) {
  return PutBatch(std::span<const MessageToStore>(&message, 1));
}

PutResult MessageStore::PutBatch(std::span<const MessageToStore> messages) {
  if (messages.empty()) return Refuse(PutStatus::kMessageIllegal, "empty batch");
  uint64_t total = 0;
  for (const MessageToStore& m : messages) {
    Status s = ValidateMessage(m, config_.message_bytes_max);
    if (!s.ok()) {
      return Refuse(s.code() == ErrorCode::kResourceExhausted ? PutStatus::kPropertiesSizeExceeded
                                                              : PutStatus::kMessageIllegal,
                    s.message());
    }
    if (m.topic != messages[0].topic || m.queue_id != messages[0].queue_id) {
      return Refuse(PutStatus::kMessageIllegal, "a batch must go to one topic and queue");
    }
    total += RecordSizeOf(m);
  }
  // The whole batch goes into the buffer without yielding, so it must fit at once.
  if (total > config_.write_buffer_bytes_max) {
    return Refuse(PutStatus::kMessageIllegal,
                  fmt::format("batch of {} bytes exceeds the write buffer", total));
  }
  if (shutting_down_) return Refuse(PutStatus::kServiceNotAvailable, "store is shutting down");
  if (disk_full()) return Refuse(PutStatus::kDiskFull, "disk full");
  if (IsConsumable(messages[0].sys_flag)) {
    auto queue = EnsureQueue(messages[0].topic, messages[0].queue_id);  // may yield
    if (!queue.ok()) {
      return Refuse(PutStatus::kServiceNotAvailable,
                    "cannot open consume queue: " + queue.status().ToString());
    }
  }
  Status room = log_->WaitForRoom(total, config_.sync_flush_timeout);  // may yield
  if (!room.ok()) {
    return Refuse(room.code() == ErrorCode::kClosed ? PutStatus::kServiceNotAvailable
                                                    : PutStatus::kOsPageCacheBusy,
                  room.message());
  }
  // The checks again: the waits above may have let the world change.
  if (shutting_down_) return Refuse(PutStatus::kServiceNotAvailable, "store is shutting down");
  if (disk_full()) return Refuse(PutStatus::kDiskFull, "disk full");
  bool wait = config_.flush_type == FlushType::kSync &&
              FindProperty(messages[0].properties, kPropertyWait) != "false";
  return Append(messages, wait);
}

PutResult MessageStore::Append(std::span<const MessageToStore> messages, bool wait) {
  PutResult result;
  result.store_timestamp_ms = ToMillis(env_.clock.WallNow());
  QueueState* queue = FindQueue(messages[0].topic, messages[0].queue_id);
  const bool visible_now = config_.flush_type == FlushType::kAsync;
  // Under async flush a record is visible at once: dispatch it from what was just appended
  // (nothing between here and there yields, so the log order is the dispatch order).
  APOGEE_ASSERT(!visible_now || dispatched_ == log_->write_offset(),
                "async dispatch lags: {} of {}", dispatched_, log_->write_offset());
  for (const MessageToStore& m : messages) {
    bool queued = IsConsumable(m.sys_flag);
    APOGEE_ASSERT(!queued || queue != nullptr, "queue {}:{} not open", m.topic, m.queue_id);
    int64_t queue_offset = queued ? queue->next_offset++ : 0;
    uint32_t size = 0;
    RecordPlacement at = log_->Append(m, queue_offset, result.store_timestamp_ms, &size);
    if (result.message_count == 0) {
      result.physical_offset = at.physical_offset;
      result.queue_offset = queue_offset;
    }
    result.size += size;
    result.message_count++;
    if (visible_now) {
      RecordView view;
      view.total_size = size;
      view.queue_id = m.queue_id;
      view.queue_offset = queue_offset;
      view.physical_offset = at.physical_offset;
      view.sys_flag = m.sys_flag;
      view.store_timestamp_ms = at.store_timestamp_ms;
      view.topic = m.topic;
      view.properties = m.properties;
      DispatchTo(queued ? queue : nullptr, view, /*recovering=*/false);
    }
  }
  int64_t end = log_->write_offset();
  // Under sync flush the flusher's durable callback dispatches the records instead.
  if (visible_now) dispatched_ = end;
  if (wait) {
    Status s = log_->WaitDurable(end, env_.scheduler.After(config_.sync_flush_timeout));
    if (!s.ok()) {
      stats_.puts_failed++;
      result.status = s.code() == ErrorCode::kClosed ? PutStatus::kServiceNotAvailable
                                                     : PutStatus::kFlushDiskTimeout;
      result.error = s.message();
      return result;
    }
  } else if (log_->flusher_wants_cpu()) {
    // The flusher was asked to run; a put loop that never parks would starve it until the
    // buffer is full. Let it start its write (which runs on I/O threads) now.
    env_.scheduler.Yield();
  }
  stats_.puts_ok++;
  return result;
}

void MessageStore::DispatchUpTo(int64_t end) {
  if (end <= dispatched_) return;
  log_->VisitBuffered(dispatched_, end,
                      [this](const RecordView& record) { Dispatch(record, false); });
  dispatched_ = end;
}

void MessageStore::Dispatch(const RecordView& record, bool recovering) {
  QueueState* queue = nullptr;
  if (IsConsumable(record.sys_flag)) {
    queue = FindQueue(record.topic, record.queue_id);
    APOGEE_ASSERT(queue != nullptr, "no queue for {}:{}", record.topic, record.queue_id);
  }
  DispatchTo(queue, record, recovering);
}

void MessageStore::DispatchTo(QueueState* queue, const RecordView& record, bool recovering) {
  if (++dispatched_since_flush_ == config_.cq_flush_records_max) queue_flush_wake_.NotifyAll();
  if (queue != nullptr) {
    CqEntry entry;
    entry.commit_log_offset = record.physical_offset;
    entry.size = static_cast<int32_t>(record.total_size);
    entry.tags_code = TagsCode(record.properties);
    auto appended = queue->cq->Append(record.queue_offset, entry);
    if (!appended.ok()) {
      // Only recovery can meet a hole (a queue file lost entries below the checkpoint).
      APOGEE_ASSERT(recovering, "dispatch of {} into {}:{}: {}", record.physical_offset,
                    record.topic, record.queue_id, appended.status().ToString());
      LOG_ERROR("recovery: record at {} does not fit queue {}:{} ({})", record.physical_offset,
                record.topic, record.queue_id, appended.status().ToString());
      recovery_.queue_gaps++;
    } else if (*appended && recovering) {
      recovery_.queue_entries_redispatched++;
    } else if (!recovering && arrival_) {
      arrival_(record.topic, record.queue_id, record.queue_offset, entry.tags_code);
    }
  }
  if (auto uniq = FindProperty(record.properties, kPropertyUniqKey); uniq && !uniq->empty()) {
    index_->Add(record.topic, *uniq, record.physical_offset, record.store_timestamp_ms);
  }
  if (auto keys = FindProperty(record.properties, kPropertyKeys); keys) {
    ForEachKey(*keys, [&](std::string_view word) {
      index_->Add(record.topic, word, record.physical_offset, record.store_timestamp_ms);
    });
  }
}

MessageStore::QueueState* MessageStore::FindQueue(std::string_view topic, int32_t queue_id) {
  auto t = queues_.find(topic);
  if (t == queues_.end()) return nullptr;
  auto q = t->second.find(queue_id);
  return q == t->second.end() ? nullptr : &q->second;
}

const MessageStore::QueueState* MessageStore::FindQueue(std::string_view topic,
                                                        int32_t queue_id) const {
  return const_cast<MessageStore*>(this)->FindQueue(topic, queue_id);
}

Result<MessageStore::QueueState*> MessageStore::EnsureQueue(std::string_view topic,
                                                            int32_t queue_id) {
  if (QueueState* q = FindQueue(topic, queue_id)) return q;
  io::MutexLock lock(queue_create_mu_);
  if (!lock.ok()) return lock.status();
  if (QueueState* q = FindQueue(topic, queue_id)) return q;  // made while we waited
  auto cq = std::make_unique<ConsumeQueue>(
      env_.disk, Path(fmt::format("consumequeue/{}/{}", topic, queue_id)), std::string(topic),
      queue_id, config_.cq_entries_per_file);
  APOGEE_RETURN_IF_ERROR(cq->Load(log_->min_offset()));
  QueueState state;
  state.next_offset = cq->max_offset();
  state.cq = std::move(cq);
  auto& topic_queues = queues_[std::string(topic)];
  auto [it, inserted] = topic_queues.emplace(queue_id, std::move(state));
  APOGEE_ASSERT(inserted);
  return &it->second;
}

GetResult MessageStore::Get(std::string_view topic, int32_t queue_id, int64_t queue_offset,
                            uint32_t max_count, uint32_t max_bytes, const TagFilter& filter) {
  GetResult r;
  QueueState* queue = FindQueue(topic, queue_id);
  if (queue == nullptr) {
    r.status = GetStatus::kNoMatchedLogicQueue;
    return r;
  }
  ConsumeQueue& cq = *queue->cq;
  r.min_offset = cq.min_offset();
  r.max_offset = cq.max_offset();
  if (r.max_offset == 0) {
    r.status = GetStatus::kNoMessageInQueue;
    r.next_begin_offset = 0;
    return r;
  }
  if (queue_offset < r.min_offset) {
    r.status = GetStatus::kOffsetTooSmall;
    r.next_begin_offset = r.min_offset;
    return r;
  }
  if (queue_offset == r.max_offset) {
    r.status = GetStatus::kOffsetOverflowOne;
    r.next_begin_offset = queue_offset;
    return r;
  }
  if (queue_offset > r.max_offset) {
    r.status = GetStatus::kOffsetOverflowBadly;
    r.next_begin_offset = r.min_offset == 0 ? r.min_offset : r.max_offset;
    return r;
  }
  std::vector<CqEntry> entries;
  Status read = cq.Read(queue_offset, std::max(max_count, kGetScanEntriesMax), &entries);
  if (!read.ok() || entries.empty()) {
    LOG_WARN("get {}:{} at {}: consume queue read failed: {}", topic, queue_id, queue_offset,
             read.ToString());
    r.status = GetStatus::kOffsetFoundNull;
    r.next_begin_offset = queue_offset;
    if (read.code() == ErrorCode::kCorruption) {
      // The entry itself is damaged and can never be read: skip it, as a damaged record is
      // skipped, so the queue does not stall behind it for ever. (A failed read is tried again.)
      r.corrupt_skipped++;
      stats_.corrupt_records_skipped++;
      r.next_begin_offset = queue_offset + 1;
    }
    return r;
  }
  bool removing = false;
  int64_t next = queue_offset;
  for (const CqEntry& entry : entries) {
    if (r.messages.size() >= max_count) break;
    if (!r.messages.empty() && r.records.size() + static_cast<size_t>(entry.size) > max_bytes) {
      break;
    }
    int64_t this_offset = next++;
    if (entry.commit_log_offset < log_->min_offset()) {
      removing = true;
      continue;
    }
    if (filter && !filter(entry.tags_code)) continue;
    std::vector<uint8_t> bytes;
    Status read_status =
        log_->Read(entry.commit_log_offset, static_cast<uint32_t>(entry.size), &bytes);
    if (read_status.code() == ErrorCode::kIoError) {
      // The disk failed to read it (EIO): the record may well be intact, so it is not skipped.
      // The answer ends before it, and the next pull asks for it again. (An entry that points
      // outside the log, or at a cut-short segment, is damaged: it is skipped below.)
      LOG_WARN("get {}:{} offset {}: reading record at {} failed ({}); answer ends there", topic,
               queue_id, this_offset, entry.commit_log_offset, read_status.ToString());
      r.read_failed = true;
      next = this_offset;
      break;
    }
    DecodedRecord d;
    if (read_status.ok()) {
      d = DecodeRecord(bytes, entry.commit_log_offset, config_.message_bytes_max, true);
    }
    // The record must fill exactly the bytes its entry names: an entry whose size was damaged
    // to a larger one would otherwise serve the valid record plus the bytes after it, which
    // the client cannot decode (it rejects the whole answer, and the queue stalls there).
    if (!read_status.ok() || d.kind != RecordKind::kMessage ||
        d.size != static_cast<uint32_t>(entry.size) || d.view.queue_offset != this_offset ||
        d.view.queue_id != queue_id || d.view.topic != topic) {
      // Never serve a record that fails validation; skip it so the queue does not stall.
      r.corrupt_skipped++;
      stats_.corrupt_records_skipped++;
      LOG_ERROR("get {}:{} offset {}: record at {} is invalid ({}); skipped", topic, queue_id,
                this_offset, entry.commit_log_offset,
                !read_status.ok() ? read_status.ToString()
                : d.error.empty() ? "does not match its queue entry"
                                  : d.error);
      continue;
    }
    GetResult::Message m;
    m.queue_offset = this_offset;
    m.physical_offset = entry.commit_log_offset;
    m.size = static_cast<uint32_t>(entry.size);
    m.at = r.records.size();
    r.records.insert(r.records.end(), bytes.begin(), bytes.end());
    r.messages.push_back(m);
  }
  r.next_begin_offset = next;
  if (!r.messages.empty()) {
    r.status = GetStatus::kFound;
  } else if (removing) {
    r.status = GetStatus::kMessageWasRemoving;
  } else if (r.corrupt_skipped > 0 || r.read_failed) {
    r.status = GetStatus::kOffsetFoundNull;
  } else {
    r.status = GetStatus::kNoMatchedMessage;
  }
  return r;
}

Result<std::vector<uint8_t>> MessageStore::ReadRecordAt(int64_t physical_offset) {
  return log_->ReadRecord(physical_offset);
}

Result<std::vector<uint8_t>> MessageStore::ReadRecordByOffsetMsgId(std::string_view id) {
  APOGEE_ASSIGN_OR_RETURN(OffsetMsgId parsed, ParseOffsetMsgId(id));
  return log_->ReadRecord(parsed.commit_log_offset);
}

Result<std::vector<std::vector<uint8_t>>> MessageStore::QueryByKey(std::string_view topic,
                                                                   std::string_view key,
                                                                   size_t max_count,
                                                                   int64_t begin_ms,
                                                                   int64_t end_ms) {
  // Hash matches may be other keys: ask for more than wanted and check each record.
  APOGEE_ASSIGN_OR_RETURN(auto offsets,
                          index_->Query(topic, key, max_count * 2 + 16, begin_ms, end_ms));
  std::vector<std::vector<uint8_t>> out;
  for (int64_t offset : offsets) {
    if (out.size() >= max_count) break;
    if (offset < log_->min_offset() || offset >= dispatched_) continue;
    auto bytes = log_->ReadRecord(offset);
    if (!bytes.ok()) continue;
    DecodedRecord d = DecodeRecord(*bytes, offset, config_.message_bytes_max, false);
    if (d.view.topic != topic) continue;
    bool match = FindProperty(d.view.properties, kPropertyUniqKey) == key;
    if (auto keys = FindProperty(d.view.properties, kPropertyKeys); keys && !match) {
      ForEachKey(*keys, [&](std::string_view word) { match = match || word == key; });
    }
    if (match) out.push_back(std::move(bytes).value());
  }
  return out;
}

int64_t MessageStore::MinOffset(std::string_view topic, int32_t queue_id) const {
  const QueueState* q = FindQueue(topic, queue_id);
  return q == nullptr ? -1 : q->cq->min_offset();
}

int64_t MessageStore::MaxOffset(std::string_view topic, int32_t queue_id) const {
  const QueueState* q = FindQueue(topic, queue_id);
  return q == nullptr ? -1 : q->cq->max_offset();
}

Result<int64_t> MessageStore::OffsetByTime(std::string_view topic, int32_t queue_id,
                                           int64_t timestamp_ms) {
  QueueState* q = FindQueue(topic, queue_id);
  if (q == nullptr)
    return Status(ErrorCode::kNotFound, fmt::format("no queue {}:{}", topic, queue_id));
  return q->cq->SearchByTimestamp(
      timestamp_ms, [this](int64_t offset, int32_t size) -> Result<int64_t> {
        std::vector<uint8_t> bytes;
        APOGEE_RETURN_IF_ERROR(log_->Read(offset, static_cast<uint32_t>(size), &bytes));
        DecodedRecord d = DecodeRecord(bytes, offset, config_.message_bytes_max, false);
        if (d.kind != RecordKind::kMessage) {
          return Status(ErrorCode::kCorruption, fmt::format("record at {}: {}", offset, d.error));
        }
        return d.view.store_timestamp_ms;
      });
}

std::vector<MessageStore::QueueId> MessageStore::Queues() const {
  std::vector<QueueId> out;
  for (const auto& [topic, queues] : queues_) {
    for (const auto& [id, state] : queues) out.push_back(QueueId{topic, id});
  }
  return out;
}

}  // namespace apogee::store
