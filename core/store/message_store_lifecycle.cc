// MessageStore: opening and recovery, the queue flusher and checkpoint, retention, shutdown.

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/base/log.h"
#include "core/store/message_store.h"

namespace apogee::store {

namespace {
// Retention deletes at most this many segments per pass, so one pass never stalls for long
// [deletePhysicFilesInterval spreads RocketMQ's deletes the same way].
constexpr int kSegmentsDeletedPerPassMax = 10;
constexpr int64_t kMsPerHour = 3'600'000;
}  // namespace

std::string RecoveryReport::Describe() const {
  return fmt::format(
      "{} shutdown, checkpoint {}, scanned {} records ({} bytes) from {}, log ends at {}, cut {} "
      "bytes and {} segments{}{}, {} queue entries re-dispatched, {} queue gaps, {} queues",
      clean_shutdown ? "clean" : "unclean", checkpoint_found ? "found" : "missing",
      log.records_scanned, log.bytes_scanned, log.scan_from, log.end_offset, log.bytes_cut,
      log.segments_removed, log.cut_reason.empty() ? "" : ": ", log.cut_reason,
      queue_entries_redispatched, queue_gaps, queues);
}

MessageStore::MessageStore(io::Env& env, const StoreConfig& config, std::string root)
    : env_(env),
      config_(config),
      root_(std::move(root)),
      queue_create_mu_(env.scheduler.runtime()),
      flush_mu_(env.scheduler.runtime()),
      background_wake_(env.scheduler.runtime()),
      queue_flush_wake_(env.scheduler.runtime()) {
  APOGEE_ASSERT(config_.disk_clean_ratio > 0 && config_.disk_clean_ratio <= 1);
  APOGEE_ASSERT(config_.disk_full_ratio > 0 && config_.disk_full_ratio <= 1);
  log_ = std::make_shared<CommitLog>(env_, config_, Path("commitlog"));
  index_ = std::make_unique<IndexService>(env_.disk, Path("index"), config_.index_slots,
                                          config_.index_entries_max);
}

MessageStore::~MessageStore() = default;

std::string MessageStore::Path(std::string_view name) const {
  return root_.empty() ? std::string(name) : io::JoinPath(root_, std::string(name));
}

Result<std::shared_ptr<MessageStore>> MessageStore::Open(io::Env& env, const StoreConfig& config,
                                                         std::string root) {
  std::shared_ptr<MessageStore> store(new MessageStore(env, config, std::move(root)));
  Status recovered = store->Recover();
  if (!recovered.ok()) {
    // The log's flusher may have started; it must not outlive a store that failed to open.
    store->log_->Shutdown().IgnoreError();
    return recovered;
  }
  store->background_.push_back(
      env.scheduler.Spawn("store-cq-flush", [self = store] { self->QueueFlushLoop(); }));
  store->background_.push_back(
      env.scheduler.Spawn("store-clean", [self = store] { self->CleanLoop(); }));
  LOG_INFO("store open: {}", store->recovery_.Describe());
  return store;
}

Status MessageStore::LoadQueues(int64_t commit_log_min) {
  std::string dir = Path("consumequeue");
  APOGEE_ASSIGN_OR_RETURN(bool exists, env_.disk.Exists(dir));
  if (!exists) return Status::Ok();
  APOGEE_ASSIGN_OR_RETURN(auto topics, env_.disk.List(dir));
  for (const std::string& topic : topics) {
    APOGEE_ASSIGN_OR_RETURN(auto ids, env_.disk.List(io::JoinPath(dir, topic)));
    for (const std::string& id : ids) {
      bool numeric = !id.empty() && id.size() <= 9 &&
                     std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!numeric) {
        LOG_WARN("store: ignoring {} (not a queue id)", io::JoinPath(io::JoinPath(dir, topic), id));
        continue;
      }
      int32_t queue_id = std::stoi(id);
      auto cq =
          std::make_unique<ConsumeQueue>(env_.disk, io::JoinPath(io::JoinPath(dir, topic), id),
                                         topic, queue_id, config_.cq_entries_per_file);
      APOGEE_RETURN_IF_ERROR(cq->Load(commit_log_min));
      QueueState state;
      state.cq = std::move(cq);
      queues_[topic].emplace(queue_id, std::move(state));
    }
  }
  return Status::Ok();
}

Status MessageStore::Recover() {
  if (!root_.empty()) {
    APOGEE_RETURN_IF_ERROR(env_.disk.MakeDirs(root_));
    for (std::string d = root_; !d.empty(); d = io::ParentDir(d)) {
      APOGEE_RETURN_IF_ERROR(env_.disk.SyncDir(io::ParentDir(d)));
    }
  }
  APOGEE_ASSIGN_OR_RETURN(bool aborted, env_.disk.Exists(Path(kAbortFile)));
  recovery_.clean_shutdown = !aborted;
  APOGEE_ASSIGN_OR_RETURN(auto cp, ReadCheckpoint(env_.disk, Path(kCheckpointFile)));
  int64_t scan_from = 0;
  if (cp.has_value()) {
    recovery_.checkpoint_found = true;
    recovery_.checkpoint = *cp;
    scan_from = std::min({cp->commit_log_flushed, cp->consume_queue_flushed, cp->index_flushed});
  }
  // Every record from the scan start on is dispatched again, so derived state (queues, index)
  // is cut back to exactly there first.
  APOGEE_RETURN_IF_ERROR(log_->OpenSegments());
  scan_from = log_->ScanStart(scan_from);
  int64_t log_min = log_->min_offset();
  APOGEE_RETURN_IF_ERROR(LoadQueues(log_min));
  // Queue entries from the scan start on are rebuilt from validated log records: an entry a
  // crash tore in an unfinished queue flush can look valid (its tags code is not checksummed).
  for (auto& [topic, queues] : queues_) {
    for (auto& [id, state] : queues) {
      if (state.cq->last_commit_log_end() > scan_from) {
        APOGEE_RETURN_IF_ERROR(state.cq->TruncateTo(scan_from));
      }
    }
  }
  APOGEE_RETURN_IF_ERROR(index_->Load(scan_from));

  Status visit_error;
  auto visit = [this, &visit_error](const RecordView& record) {
    if (IsConsumable(record.sys_flag)) {
      auto queue = EnsureQueue(record.topic, record.queue_id);  // may yield: fine in recovery
      if (!queue.ok()) {
        if (visit_error.ok()) visit_error = queue.status();
        return;
      }
    }
    Dispatch(record, /*recovering=*/true);
  };
  APOGEE_ASSIGN_OR_RETURN(recovery_.log, log_->Recover(scan_from, visit));
  APOGEE_RETURN_IF_ERROR(visit_error);
  int64_t end = log_->write_offset();
  for (auto& [topic, queues] : queues_) {
    for (auto& [id, state] : queues) {
      APOGEE_RETURN_IF_ERROR(state.cq->TruncateTo(end));
      state.next_offset = state.cq->max_offset();
      recovery_.queues++;
    }
  }
  dispatched_ = end;
  log_->set_on_durable([this](int64_t durable_end) {
    if (config_.flush_type == FlushType::kSync) DispatchUpTo(durable_end);
  });

  // The abort marker: present from now until a clean shutdown.
  io::OpenOptions create;
  create.create = true;
  APOGEE_ASSIGN_OR_RETURN(auto marker, env_.disk.Open(Path(kAbortFile), create));
  APOGEE_RETURN_IF_ERROR(marker->Sync());
  APOGEE_RETURN_IF_ERROR(marker->Close());
  APOGEE_RETURN_IF_ERROR(env_.disk.SyncDir(root_));
  return Status::Ok();
}

Status MessageStore::FlushQueuesAndCheckpoint() {
  io::MutexLock lock(flush_mu_);
  APOGEE_RETURN_IF_ERROR(lock.status());
  // Both only grow; what is captured now is what the checkpoint may claim afterwards.
  int64_t log_flushed = log_->flushed_offset();
  int64_t dispatched = dispatched_;
  dispatched_since_flush_ = 0;
  std::vector<ConsumeQueue*> cqs;
  for (auto& [topic, queues] : queues_) {
    for (auto& [id, state] : queues) cqs.push_back(state.cq.get());
  }
  Status first_error;
  for (ConsumeQueue* cq : cqs) {
    Status s = cq->Flush();  // may yield; queues are never removed, so the pointers hold
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  Status s = index_->Flush();
  if (!s.ok() && first_error.ok()) first_error = s;
  if (!first_error.ok()) return first_error;
  // Buggify: a checkpoint that lags behind, so recovery scans and re-dispatches more.
  if (APOGEE_BUGGIFY(env_)) return Status::Ok();
  Checkpoint cp;
  int64_t now_ms = ToMillis(env_.clock.WallNow());
  cp.physic_msg_timestamp_ms = cp.logics_msg_timestamp_ms = cp.index_msg_timestamp_ms = now_ms;
  cp.commit_log_flushed = log_flushed;
  cp.consume_queue_flushed = dispatched;
  cp.index_flushed = dispatched;
  APOGEE_RETURN_IF_ERROR(WriteCheckpoint(env_.disk, Path(kCheckpointFile), cp));
  stats_.checkpoints++;
  return Status::Ok();
}

void MessageStore::QueueFlushLoop() {
  while (!shutting_down_) {
    if (dispatched_since_flush_ < config_.cq_flush_records_max &&
        queue_flush_wake_.Wait(env_.scheduler.After(config_.cq_flush_interval)) ==
            io::WakeReason::kKilled) {
      return;  // the node is going down
    }
    if (shutting_down_) break;
    Status s = FlushQueuesAndCheckpoint();
    if (!s.ok()) LOG_WARN("store: queue flush failed: {}; retrying next round", s.ToString());
  }
}

void MessageStore::CleanLoop() {
  while (!shutting_down_) {
    if (background_wake_.Wait(env_.scheduler.After(config_.clean_interval)) ==
        io::WakeReason::kKilled) {
      return;  // the node is going down
    }
    if (shutting_down_) break;
    Status s = RunRetention();
    if (!s.ok()) LOG_WARN("store: retention failed: {}", s.ToString());
  }
}

Status MessageStore::CheckSpace(double* used_ratio) {
  APOGEE_ASSIGN_OR_RETURN(io::DiskSpace space, env_.disk.Space());
  *used_ratio = space.capacity_bytes == 0 ? 1.0
                                          : 1.0 - static_cast<double>(space.free_bytes) /
                                                      static_cast<double>(space.capacity_bytes);
  bool full = *used_ratio >= config_.disk_full_ratio;
  if (full != disk_full_by_space_) {
    LOG_WARN("store: disk {:.1f}% used: puts {}", *used_ratio * 100,
             full ? "refused until space frees" : "accepted again");
  }
  disk_full_by_space_ = full;
  return Status::Ok();
}

Status MessageStore::RunRetention() {
  double used = 0;
  APOGEE_RETURN_IF_ERROR(CheckSpace(&used));
  bool force = used >= config_.disk_clean_ratio;
  int64_t now_ms = ToMillis(env_.clock.WallNow());
  bool hour_ok =
      config_.delete_when_hour < 0 || (now_ms / kMsPerHour) % 24 == config_.delete_when_hour;
  int64_t reserved_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.file_reserved_time).count();
  int deleted = 0;
  while (deleted < kSegmentsDeletedPerPassMax) {
    auto segments = log_->Segments();  // may yield
    if (segments.size() < 2) break;
    const CommitLog::SegmentInfo& oldest = segments.front();
    bool expired = oldest.sealed_at_ms >= 0 && now_ms - oldest.sealed_at_ms >= reserved_ms;
    if (!(expired && hour_ok) && !force) break;
    if (!log_->DeleteOldestSegment().ok()) break;
    deleted++;
    if (force) {
      APOGEE_RETURN_IF_ERROR(CheckSpace(&used));
      force = used >= config_.disk_clean_ratio;
    }
  }
  if (deleted == 0) return Status::Ok();
  stats_.segments_deleted += static_cast<uint64_t>(deleted);
  int64_t log_min = log_->min_offset();
  std::vector<ConsumeQueue*> cqs;
  for (auto& [topic, queues] : queues_) {
    for (auto& [id, state] : queues) cqs.push_back(state.cq.get());
  }
  for (ConsumeQueue* cq : cqs) APOGEE_RETURN_IF_ERROR(cq->DeleteBefore(log_min));
  APOGEE_RETURN_IF_ERROR(index_->DeleteBefore(log_min));
  return CheckSpace(&used);
}

Status MessageStore::Flush() {
  APOGEE_RETURN_IF_ERROR(log_->Flush(Deadline{}));
  return FlushQueuesAndCheckpoint();
}

Status MessageStore::Shutdown() {
  if (shutting_down_) return Status(ErrorCode::kClosed, "store already shut down");
  shutting_down_ = true;
  background_wake_.NotifyAll();
  queue_flush_wake_.NotifyAll();
  for (io::FiberHandle& fiber : background_) fiber.Join();
  background_.clear();
  Status log_status = log_->Shutdown();  // always: it stops the flusher
  APOGEE_RETURN_IF_ERROR(log_status);
  APOGEE_RETURN_IF_ERROR(FlushQueuesAndCheckpoint());
  APOGEE_RETURN_IF_ERROR(env_.disk.Remove(Path(kAbortFile)));
  APOGEE_RETURN_IF_ERROR(env_.disk.SyncDir(root_));
  LOG_INFO("store shut down cleanly at offset {}", log_->write_offset());
  return Status::Ok();
}

uint64_t MessageStore::memory_bytes() const {
  uint64_t total = log_->memory_bytes() + index_->memory_bytes();
  for (const auto& [topic, queues] : queues_) {
    for (const auto& [id, state] : queues) total += state.cq->memory_bytes();
  }
  return total;
}

}  // namespace apogee::store
