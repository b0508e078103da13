// PushConsumer, consumption: the consume fibers, concurrent and orderly (see push_consumer.h).

#include <fmt/format.h>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/client/push_consumer.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"

namespace apogee::client {

namespace req = protocol::request;
namespace rsp = protocol::response;
namespace prop = protocol::property;

namespace {

// Delay before a batch whose send-back failed is consumed again [5 s in RocketMQ].
constexpr Duration kReconsumeLocallyDelay = 5s;
// An orderly request keeps its fiber at most this long before yielding the queue
// [MAX_TIME_CONSUME_CONTINUOUSLY].
constexpr Duration kOrderlyTurnMax = 60s;
// Delay before an orderly queue whose lock is missing is tried again.
constexpr Duration kRelockDelay = 100ms;
// Delay level that sends a message straight to the DLQ.
constexpr int32_t kDelayLevelDlq = -1;

}  // namespace

void PushConsumer::Submit(std::vector<MessageExt> msgs, const std::shared_ptr<ProcessQueue>& pq,
                          const MessageQueue& mq, bool dispatch) {
  if (orderly()) {
    if (dispatch) requests_.TrySend(ConsumeRequest{{}, pq, mq}).IgnoreError();
    return;
  }
  const size_t batch = config_.consume_message_batch_max_size;
  for (size_t i = 0; i < msgs.size(); i += batch) {
    ConsumeRequest r{{}, pq, mq};
    for (size_t j = i; j < std::min(i + batch, msgs.size()); ++j) {
      r.msgs.push_back(std::move(msgs[j]));
    }
    // The channel is unbounded: this fails only after Close(), at shutdown.
    requests_.TrySend(std::move(r)).IgnoreError();
  }
}

void PushConsumer::SubmitLater(ConsumeRequest request, Duration delay) {
  if (stopping_) return;
  SpawnTracked("consume-later", [this, request = std::move(request), delay]() mutable {
    if (!SleepOrStop(delay)) return;
    if (request.pq->dropped) return;
    requests_.TrySend(std::move(request)).IgnoreError();
  });
}

void PushConsumer::ConsumeLoop() {
  while (true) {
    Result<ConsumeRequest> r = requests_.Recv();
    if (!r.ok()) return;  // closed and drained
    if (r->pq->dropped) continue;
    if (orderly()) {
      ConsumeOrderly(*r);
    } else {
      ConsumeConcurrently(*r);
    }
  }
}

void PushConsumer::ResetRetryTopic(std::vector<MessageExt>& msgs) const {
  const std::string retry = protocol::kRetryGroupTopicPrefix + config_.group;
  for (MessageExt& m : msgs) {
    if (m.topic == retry && m.HasProperty(prop::kRetryTopic))
      m.topic = m.Property(prop::kRetryTopic);
  }
}

Status PushConsumer::SendMessageBack(const MessageExt& msg, int32_t delay_level,
                                     const MessageQueue& mq) {
  APOGEE_ASSIGN_OR_RETURN(std::string addr,
                          instance_->MasterAddressOrRefresh(mq.broker_name, mq.topic));
  protocol::ConsumerSendMsgBackRequestHeader h;
  h.offset = msg.commit_log_offset;
  h.group = config_.group;
  h.delay_level = delay_level;
  h.origin_msg_id = msg.msg_id;
  h.origin_topic = msg.topic;
  h.max_reconsume_times = MaxReconsumeTimes();
  protocol::ExtFields f;
  h.Encode(f);
  APOGEE_ASSIGN_OR_RETURN(
      RemotingCommand r,
      instance_->Invoke(addr, protocol::MakeRequest(req::kConsumerSendMsgBack, f),
                        instance_->config().rpc_timeout));
  if (r.code != rsp::kSuccess) return ResponseError(r, "CONSUMER_SEND_MSG_BACK");
  return Status::Ok();
}

void PushConsumer::ConsumeConcurrently(ConsumeRequest& request) {
  std::vector<MessageExt> msgs = request.msgs;
  ResetRetryTopic(msgs);
  ConsumeConcurrentlyContext context{request.mq, 0};
  ConsumeConcurrentlyStatus status = concurrent_(msgs, context);
  if (request.pq->dropped) return;  // the queue moved on: its new owner consumes again
  // What is done is what was taken, less what fails below; the listener got its own copy.
  std::vector<MessageExt>& done = request.msgs;
  if (status == ConsumeConcurrentlyStatus::kReconsumeLater) {
    if (Clustering()) {
      std::vector<MessageExt> failed;
      for (size_t i = 0; i < msgs.size(); ++i) {
        Status s = SendMessageBack(msgs[i], context.delay_level, request.mq);
        if (!s.ok()) {
          LOG_INFO("consumer {}: send-back of {} failed ({}); consuming it again here",
                   config_.group, msgs[i].msg_id, s.ToString());
          MessageExt again = request.msgs[i];
          again.reconsume_times++;
          failed.push_back(std::move(again));
        }
      }
      if (!failed.empty()) {
        std::erase_if(done, [&](const MessageExt& m) {
          for (const MessageExt& f : failed) {
            if (f.queue_offset == m.queue_offset) return true;
          }
          return false;
        });
        SubmitLater(ConsumeRequest{std::move(failed), request.pq, request.mq},
                    kReconsumeLocallyDelay);
      }
    } else {
      for (const MessageExt& m : msgs) {
        LOG_WARN("consumer {}: broadcasting drops {} after RECONSUME_LATER", config_.group,
                 m.msg_id);
      }
    }
  }
  if (request.pq->dropped) return;
  const int64_t offset = request.pq->RemoveMessages(done);
  if (offset >= 0) offset_store_->UpdateOffset(request.mq, offset, true);
}

bool PushConsumer::CheckReconsumeTimes(std::vector<MessageExt>& msgs, const MessageQueue& mq) {
  bool suspend = false;
  for (MessageExt& m : msgs) {
    if (m.reconsume_times >= MaxReconsumeTimes()) {
      Status s = SendMessageBack(m, kDelayLevelDlq, mq);
      if (s.ok()) continue;
      LOG_INFO("consumer {}: DLQ send-back of {} failed: {}", config_.group, m.msg_id,
               s.ToString());
    }
    suspend = true;
    m.reconsume_times++;
  }
  return suspend;
}

void PushConsumer::ConsumeOrderly(ConsumeRequest& request) {
  std::shared_ptr<ProcessQueue> pq = request.pq;
  const MessageQueue mq = request.mq;
  io::MutexLock lock(pq->consume_mu);
  if (!lock.ok() || pq->dropped) return;
  const Instant begin = env_.clock.Now();
  auto holds_lock = [&] {
    return !Clustering() || (pq->locked && !pq->IsLockExpired(env_.clock.Now(), config_.lock_live));
  };
  while (!pq->dropped && !stopping_) {
    if (!holds_lock()) {
      // Never consume a queue without its lock: relock later, then come back.
      SpawnTracked("consume-relock", [this, pq, mq] {
        if (!SleepOrStop(kRelockDelay)) return;
        if (!pq->dropped && rebalancer_->Lock(mq, *pq)) {
          requests_.TrySend(ConsumeRequest{{}, pq, mq}).IgnoreError();
        } else {
          SubmitLater(ConsumeRequest{{}, pq, mq}, config_.pull_delay_on_error);
        }
      });
      return;
    }
    if (env_.clock.Now() - begin > kOrderlyTurnMax) {
      SubmitLater(ConsumeRequest{{}, pq, mq}, 10ms);
      return;
    }
    std::vector<MessageExt> taken = pq->TakeMessages(config_.consume_message_batch_max_size);
    if (taken.empty()) return;  // `consuming` is now false: the next put dispatches
    std::vector<MessageExt> msgs = taken;
    ResetRetryTopic(msgs);
    ConsumeOrderlyContext context{mq, Duration::zero()};
    ConsumeOrderlyStatus status = orderly_(msgs, context);
    if (pq->dropped) return;
    if (status == ConsumeOrderlyStatus::kSuccess) {
      const int64_t next = pq->Commit();
      if (next >= 0) offset_store_->UpdateOffset(mq, next, false);
      continue;
    }
    if (CheckReconsumeTimes(taken, mq)) {
      pq->MakeMessagesToConsumeAgain(taken);
      Duration delay = context.suspend_time > Duration::zero() ? context.suspend_time
                                                               : config_.suspend_current_queue_time;
      SubmitLater(ConsumeRequest{{}, pq, mq}, delay);
      return;
    }
    // Every message of the batch went to the DLQ: the queue moves on.
    const int64_t next = pq->Commit();
    if (next >= 0) offset_store_->UpdateOffset(mq, next, false);
  }
}

}  // namespace apogee::client
