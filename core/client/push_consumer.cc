#include "core/client/push_consumer.h"

#include <fmt/format.h>

#include <climits>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"

namespace apogee::client {

namespace req = protocol::request;
namespace rsp = protocol::response;

namespace {

bool IsRetryTopic(const std::string& topic) {
  return topic.starts_with(protocol::kRetryGroupTopicPrefix);
}

constexpr Duration kFlowControlDelay = 50ms;

// Whether `a` and `b` are one subscription (the tag and code sets follow from sub_string).
bool SameSubscription(const protocol::SubscriptionData& a, const protocol::SubscriptionData& b) {
  return a.topic == b.topic && a.sub_string == b.sub_string && a.sub_version == b.sub_version &&
         a.expression_type == b.expression_type && a.class_filter_mode == b.class_filter_mode;
}

}  // namespace

PushConsumer::PushConsumer(std::shared_ptr<ClientInstance> instance, PushConsumerConfig config)
    : instance_(std::move(instance)),
      env_(instance_->env()),
      config_(std::move(config)),
      requests_(env_.scheduler.runtime(), 0),
      stop_(env_.scheduler.runtime()) {
  APOGEE_ASSERT(config_.consume_fibers >= 1);
  APOGEE_ASSERT(config_.consume_message_batch_max_size >= 1);
  APOGEE_ASSERT(config_.pull_batch_size >= 1);
}

PushConsumer::~PushConsumer() { Shutdown(); }

Status PushConsumer::Subscribe(const std::string& topic, const std::string& expression) {
  APOGEE_ASSERT(!started_, "subscribe before Start()");
  APOGEE_RETURN_IF_ERROR(protocol::BuildSubscriptionData(topic, expression, 0).status());
  expressions_[topic] = expression;
  return Status::Ok();
}

int32_t PushConsumer::MaxReconsumeTimes() const {
  if (config_.max_reconsume_times >= 0) return config_.max_reconsume_times;
  return orderly() ? INT32_MAX : 16;
}

Status PushConsumer::Start() {
  APOGEE_ASSERT(!started_, "consumer started twice");
  if (concurrent_ == nullptr && orderly_ == nullptr) {
    return Status(ErrorCode::kInvalidArgument, "no message listener registered");
  }
  auto strategy = MakeAllocateStrategy(config_.allocate_strategy);
  if (strategy == nullptr) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("unknown allocate strategy {}", config_.allocate_strategy));
  }
  const int64_t version = ToMillis(env_.clock.WallNow());
  std::map<std::string, protocol::SubscriptionData> subs;
  for (const auto& [topic, expr] : expressions_) {
    APOGEE_ASSIGN_OR_RETURN(subs[topic], protocol::BuildSubscriptionData(topic, expr, version));
  }
  if (Clustering()) {
    // Messages this group sent back come through its retry topic.
    std::string retry = protocol::kRetryGroupTopicPrefix + config_.group;
    APOGEE_ASSIGN_OR_RETURN(subs[retry], protocol::BuildSubscriptionData(retry, "*", version));
    offset_store_ = std::make_unique<RemoteOffsetStore>(*instance_, config_.group);
  } else {
    offset_store_ = std::make_unique<LocalOffsetStore>(env_, config_.offset_store_dir,
                                                       instance_->client_id(), config_.group);
  }
  APOGEE_RETURN_IF_ERROR(offset_store_->Load());
  rebalancer_ =
      std::make_unique<Rebalancer>(*instance_, config_.group, config_.message_model, orderly(),
                                   strategy, static_cast<RebalanceHost&>(*this));
  rebalancer_->SetSubscriptions(std::move(subs));
  APOGEE_RETURN_IF_ERROR(instance_->RegisterConsumer(this));
  started_ = true;
  for (size_t i = 0; i < config_.consume_fibers; ++i) {
    workers_.push_back(env_.scheduler.Spawn("consume", [this] { ConsumeLoop(); }));
  }
  if (orderly() && Clustering()) {
    workers_.push_back(env_.scheduler.Spawn("consume-lock", [this] { LockLoop(); }));
  }
  instance_->Start();
  for (const std::string& topic : Topics()) {
    Status s = instance_->UpdateRoute(topic);
    if (!s.ok()) LOG_WARN("consumer {}: route of {}: {}", config_.group, topic, s.ToString());
  }
  instance_->SendHeartbeatToAllBrokers();
  instance_->WakeRebalance();
  return Status::Ok();
}

void PushConsumer::Shutdown() {
  if (!started_ || stopping_) return;
  stopping_ = true;
  stop_.Set();
  // No new pulls; parked long polls are abandoned. Pull loops then end at once, but for those
  // inside a long poll, which end on their own when it does (see PullLoops).
  pulls_cancel_.Cancel();
  if (!JoinPullLoops()) return;
  while (!tracked_.empty()) {
    auto [id, fiber] = *tracked_.begin();
    if (fiber.Join() == io::WakeReason::kKilled) return;
    tracked_.erase(id);
  }
  // The consume fibers finish what they were handed, then end.
  requests_.Close();
  for (io::FiberHandle& w : workers_) {
    if (w.Join() == io::WakeReason::kKilled) return;
  }
  workers_.clear();
  PersistOffsets();
  std::map<MessageQueue, std::shared_ptr<ProcessQueue>> held = rebalancer_->DropAll();
  if (orderly() && Clustering() && !held.empty()) {
    std::set<MessageQueue> mqs;
    for (const auto& [mq, pq] : held) mqs.insert(mq);
    rebalancer_->UnlockAll(mqs);
  }
  instance_->UnregisterConsumer(config_.group);
  if (instance_->member_count() == 0) instance_->Shutdown();
}

// --- ConsumerMember ---

protocol::ConsumerData PushConsumer::HeartbeatEntry() const {
  protocol::ConsumerData d;
  d.group_name = config_.group;
  d.consume_type = protocol::ConsumeType::kConsumePassively;
  d.message_model = config_.message_model;
  d.consume_from_where = config_.consume_from_where;
  if (rebalancer_ != nullptr) {
    for (const auto& [topic, sub] : rebalancer_->subscriptions()) {
      d.subscription_data_set.push_back(sub);
    }
  }
  return d;
}

std::set<std::string> PushConsumer::Topics() const {
  std::set<std::string> out;
  if (rebalancer_ == nullptr) return out;
  for (const auto& [topic, sub] : rebalancer_->subscriptions()) out.insert(topic);
  return out;
}

void PushConsumer::DoRebalance() {
  if (!started_ || stopping_) return;
  rebalancer_->DoRebalance();
}

void PushConsumer::PersistOffsets() {
  if (offset_store_ == nullptr) return;
  offset_store_->PersistAll(rebalancer_->Queues());
}

// --- RebalanceHost ---

Result<int64_t> PushConsumer::MaxOffset(const MessageQueue& mq, int32_t code) {
  APOGEE_ASSIGN_OR_RETURN(std::string addr,
                          instance_->MasterAddressOrRefresh(mq.broker_name, mq.topic));
  protocol::ExtFields f;
  if (code == req::kSearchOffsetByTimestamp) {
    protocol::SearchOffsetRequestHeader{mq.topic, mq.queue_id, config_.consume_timestamp_ms}.Encode(
        f);
  } else {
    protocol::QueueRequestHeader{mq.topic, mq.queue_id}.Encode(f);
  }
  APOGEE_ASSIGN_OR_RETURN(RemotingCommand r, instance_->Invoke(addr, protocol::MakeRequest(code, f),
                                                               instance_->config().rpc_timeout));
  if (r.code != rsp::kSuccess) return ResponseError(r, "offset lookup");
  APOGEE_ASSIGN_OR_RETURN(protocol::OffsetResponseHeader h,
                          protocol::OffsetResponseHeader::Decode(r.ext_fields));
  return h.offset;
}

Result<int64_t> PushConsumer::ComputePullFromWhere(const MessageQueue& mq) {
  APOGEE_ASSIGN_OR_RETURN(int64_t stored, offset_store_->ReadOffset(mq, ReadOffsetType::kStore));
  if (stored >= 0) return stored;
  // Nothing stored: where the group starts. A retry topic always starts from its first
  // message, so nothing sent back is skipped.
  if (IsRetryTopic(mq.topic)) return int64_t{0};
  switch (config_.consume_from_where) {
    case ConsumeFromWhere::kFirstOffset:
    case ConsumeFromWhere::kMinOffset:
      return int64_t{0};
    case ConsumeFromWhere::kTimestamp:
      return MaxOffset(mq, req::kSearchOffsetByTimestamp);
    case ConsumeFromWhere::kLastOffset:
    case ConsumeFromWhere::kLastOffsetAndFromMinWhenBootFirst:
    case ConsumeFromWhere::kMaxOffset:
      return MaxOffset(mq, req::kGetMaxOffset);
  }
  return int64_t{0};
}

void PushConsumer::StartPulling(const MessageQueue& mq, std::shared_ptr<ProcessQueue> pq,
                                int64_t offset) {
  if (stopping_) return;
  const uint64_t id = next_fiber_id_++;
  // The fiber holds `loops`, not the consumer's member: it may outlive the consumer.
  pull_loops_->fibers[id] =
      env_.scheduler.Spawn("pull", [this, id, loops = pull_loops_, mq, pq = std::move(pq), offset] {
        PullLoop(id, loops, mq, pq, offset);
        loops->fibers.erase(id);
      });
}

bool PushConsumer::JoinPullLoops() {
  APOGEE_ASSERT(pulls_cancel_.cancelled());
  PullLoops& loops = *pull_loops_;
  for (;;) {
    // The first loop not inside a pull: it ends at once (stopping_ is set and the stop event
    // wakes its sleeps). A loop inside a pull is left to end on its own.
    auto it = loops.fibers.begin();
    while (it != loops.fibers.end() && loops.pulling.contains(it->first)) ++it;
    if (it == loops.fibers.end()) return true;
    const uint64_t id = it->first;
    io::FiberHandle fiber = it->second;
    if (fiber.Join() == io::WakeReason::kKilled) return false;
    loops.fibers.erase(id);  // a loop unwound by a kill did not erase itself
  }
}

bool PushConsumer::RemoveQueue(const MessageQueue& mq, ProcessQueue& pq) {
  APOGEE_ASSERT(pq.dropped);
  offset_store_->Persist(mq);
  offset_store_->RemoveOffset(mq);
  if (!orderly() || !Clustering()) return true;
  // Unlock only once no fiber consumes the queue; a long batch keeps it for the next round.
  if (!pq.consume_mu.TryLock()) return false;
  // Released on every way out: the unlock request yields, and a node killed meanwhile unwinds
  // through here (the process queue must not die with its mutex held).
  struct Release {
    io::Mutex& mu;
    ~Release() { mu.Unlock(); }
  } release{pq.consume_mu};
  rebalancer_->Unlock(mq);
  return true;
}

// --- Fibers ---

void PushConsumer::SpawnTracked(std::string name, std::function<void()> fn) {
  const uint64_t id = next_fiber_id_++;
  tracked_[id] = env_.scheduler.Spawn(std::move(name), [this, id, fn = std::move(fn)] {
    fn();
    tracked_.erase(id);
  });
}

bool PushConsumer::SleepOrStop(Duration d) {
  if (stopping_) return false;
  stop_.Wait(env_.scheduler.After(d)).IgnoreError();  // set at shutdown, else a timeout
  return !stopping_;
}

void PushConsumer::PullLoop(uint64_t id, const std::shared_ptr<PullLoops>& loops, MessageQueue mq,
                            std::shared_ptr<ProcessQueue> pq, int64_t offset) {
  APOGEE_ASSERT(loops->fibers.contains(id));
  // Held by the loop: a pull may outlive the consumer (see PullLoops).
  std::shared_ptr<ClientInstance> instance = instance_;
  PullCanceller cancel = pulls_cancel_;
  // Reused by every round; what changes per round is set in the round.
  PullArgs args;
  args.group = config_.group;
  args.mq = mq;
  args.max_nums = config_.pull_batch_size;
  args.suspend = config_.broker_suspend_max;
  args.timeout = config_.consumer_timeout_when_suspend;
  int64_t next = offset;
  bool previously_locked = false;
  while (!pq->dropped && !stopping_) {
    if (pq->msg_count() > config_.pull_threshold_for_queue) {
      if (!SleepOrStop(kFlowControlDelay)) return;
      continue;
    }
    if (orderly() && Clustering()) {
      if (!pq->locked) {
        if (!SleepOrStop(config_.pull_delay_on_error)) return;
        continue;
      }
      if (!previously_locked) {
        // The lock may have moved between clients: start from what the group committed.
        Result<int64_t> fresh = ComputePullFromWhere(mq);
        if (!fresh.ok()) {
          if (!SleepOrStop(config_.pull_delay_on_error)) return;
          continue;
        }
        next = *fresh;
        previously_locked = true;
      }
    }
    auto sub = rebalancer_->subscriptions().find(mq.topic);
    if (sub == rebalancer_->subscriptions().end()) {
      if (!SleepOrStop(config_.pull_delay_on_error)) return;
      continue;
    }
    // Copied only in the first round (args starts without a topic) and when it changed.
    if (!SameSubscription(args.subscription, sub->second)) args.subscription = sub->second;
    args.offset = next;
    args.sys_flag = protocol::kPullFlagSuspend | protocol::kPullFlagSubscription;
    args.commit_offset = 0;
    if (Clustering()) {
      Result<int64_t> committed = offset_store_->ReadOffset(mq, ReadOffsetType::kMemory);
      if (committed.ok() && *committed > 0) {
        args.commit_offset = *committed;
        args.sys_flag |= protocol::kPullFlagCommitOffset;
      }
    }
    const Instant sent = env_.clock.Now();
    // From here until the pull returns kCancelled, the consumer may be shut down and destroyed:
    // what the rest of the round needs is held in locals.
    loops->pulling.insert(id);
    Result<PullResult> r = PullCancellable(instance, args, cancel);  // may yield
    loops->pulling.erase(id);
    if ((args.sys_flag & protocol::kPullFlagCommitOffset) != 0 &&
        instance->config().on_offset_commit) {
      instance->config().on_offset_commit(
          {args.group, mq.topic, mq.broker_name, mq.queue_id, args.commit_offset, sent, r.ok()});
    }
    // Cancelled: Shutdown() may have returned without waiting for this loop.
    if (cancel.cancelled()) return;
    if (pq->dropped || stopping_) return;
    if (!r.ok()) {
      LOG_DEBUG("consumer {}: pull of {}: {}", config_.group, mq.ToString(), r.status().ToString());
      if (!SleepOrStop(config_.pull_delay_on_error)) return;
      continue;
    }
    switch (r->status) {
      case PullStatus::kFound: {
        APOGEE_ASSERT(r->next_begin_offset >= next);
        next = r->next_begin_offset;
        if (r->messages.empty()) {
          // All filtered out here: nothing held, so the offset may move past them.
          if (pq->msg_count() == 0) offset_store_->UpdateOffset(mq, next, true);
          break;
        }
        bool dispatch = pq->PutMessages(r->messages);
        Submit(std::move(r->messages), pq, mq, dispatch);
        if (config_.pull_interval > Duration::zero() && !SleepOrStop(config_.pull_interval)) {
          return;
        }
        break;
      }
      case PullStatus::kNoNewMsg:
      case PullStatus::kNoMatchedMsg:
        next = r->next_begin_offset;
        if (pq->msg_count() == 0) offset_store_->UpdateOffset(mq, next, true);
        break;
      case PullStatus::kOffsetIllegal:
        // The offset left the queue's range: move to what the broker suggests, persist it, and
        // let the next rebalance assign the queue afresh from there.
        LOG_WARN("consumer {}: offset {} of {} is illegal, moving to {}", config_.group, next,
                 mq.ToString(), r->next_begin_offset);
        pq->dropped = true;
        offset_store_->UpdateOffset(mq, r->next_begin_offset, false);
        offset_store_->Persist(mq);
        rebalancer_->Forget(mq);
        if (orderly() && Clustering()) rebalancer_->Unlock(mq);
        instance_->WakeRebalance();
        return;
    }
  }
}

void PushConsumer::LockLoop() {
  while (SleepOrStop(config_.lock_interval)) rebalancer_->LockAll();
}

}  // namespace apogee::client
