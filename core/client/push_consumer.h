#pragma once

// PushConsumer: RocketMQ's DefaultMQPushConsumer over a ClientInstance.
//
// Fibers:
//   one pull loop per assigned queue: long polls (PULL_MESSAGE with SUSPEND, SUBSCRIPTION, and
//     COMMIT_OFFSET once an offset is held; the broker holds it broker_suspend_max, the client
//     waits consumer_timeout_when_suspend), puts what it finds in the queue's ProcessQueue and
//     hands it to the consume fibers; it waits 50 ms while the queue holds more than
//     pull_threshold_for_queue messages and 3 s after an error. A pull waits on the loop's own
//     fiber; Shutdown() does not wait for a loop whose long poll is still out (see PullLoops);
//   consume_fibers consume fibers (RocketMQ's consumeThread) taking requests from one channel;
//   orderly clustering: a lock fiber renewing the broker locks every 20 s;
//   short-lived fibers that resubmit a suspended or failed batch later.
// Rebalance and offset persistence run on the ClientInstance's fibers (DoRebalance,
// PersistOffsets).
//
// Concurrent mode: a batch (consume_message_batch_max_size messages) goes to the listener;
// RECONSUME_LATER sends each message back (CONSUMER_SEND_MSG_BACK, delayLevel from the
// context, 0 = broker decides) in clustering, and one whose send-back fails is consumed again
// here 5 s later; broadcasting drops it with a warning. Either way the batch leaves the
// process queue and the offset advances to the smallest message still held.
// Orderly mode: one queue is consumed by at most one fiber at a time, in offset order, and in
// clustering only while this client holds the broker's lock (renewed every 20 s, expiring
// after lock_live without renewal). SUSPEND_CURRENT_QUEUE_A_MOMENT puts the batch back and
// retries it after suspend_current_queue_time, up to max_reconsume_times (unbounded by
// default, as RocketMQ), after which the message is sent back to the DLQ (delayLevel -1).
// Offsets: clustering -> RemoteOffsetStore; broadcasting -> LocalOffsetStore under
// offset_store_dir. The committed offset never passes a message still in a process queue.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/client/allocate.h"
#include "core/client/client_instance.h"
#include "core/client/offset_store.h"
#include "core/client/process_queue.h"
#include "core/client/pull_api.h"
#include "core/client/rebalance.h"
#include "core/io/sync.h"

namespace apogee::client {

using protocol::ConsumeFromWhere;

enum class ConsumeConcurrentlyStatus : uint8_t { kConsumeSuccess, kReconsumeLater };
enum class ConsumeOrderlyStatus : uint8_t { kSuccess, kSuspendCurrentQueueAMoment };

struct ConsumeConcurrentlyContext {
  MessageQueue mq;
  // The delay level of send-backs: 0 lets the broker pick 3 + reconsume times.
  int32_t delay_level = 0;
};

struct ConsumeOrderlyContext {
  MessageQueue mq;
  Duration suspend_time{};  // 0: the consumer's suspend_current_queue_time
};

using ConcurrentListener = std::function<ConsumeConcurrentlyStatus(
    const std::vector<MessageExt>& msgs, ConsumeConcurrentlyContext& context)>;
using OrderlyListener = std::function<ConsumeOrderlyStatus(const std::vector<MessageExt>& msgs,
                                                           ConsumeOrderlyContext& context)>;

struct PushConsumerConfig {
  std::string group = "DEFAULT_CONSUMER";
  MessageModel message_model = MessageModel::kClustering;
  ConsumeFromWhere consume_from_where = ConsumeFromWhere::kLastOffset;
  int64_t consume_timestamp_ms = 0;  // for kTimestamp
  std::string allocate_strategy = "AVG";
  size_t consume_fibers = 20;  // [consumeThreadMin]
  size_t consume_message_batch_max_size = 1;
  int32_t pull_batch_size = 32;
  size_t pull_threshold_for_queue = 1000;
  Duration pull_interval = Duration::zero();
  Duration broker_suspend_max = 15s;
  Duration consumer_timeout_when_suspend = 30s;
  Duration pull_delay_on_error = 3s;  // [PULL_TIME_DELAY_MILLS_WHEN_EXCEPTION]
  int32_t max_reconsume_times = -1;   // -1: 16 concurrent, unbounded orderly
  Duration suspend_current_queue_time = 1s;
  Duration lock_live = 30s;                           // [REBALANCE_LOCK_MAX_LIVE_TIME]
  Duration lock_interval = 20s;                       // [REBALANCE_LOCK_INTERVAL]
  std::string offset_store_dir = "consumer-offsets";  // broadcasting only
};

class PushConsumer final : public ConsumerMember, private RebalanceHost {
 public:
  PushConsumer(std::shared_ptr<ClientInstance> instance, PushConsumerConfig config);
  // Shuts down if started. May yield.
  ~PushConsumer() override;
  PushConsumer(const PushConsumer&) = delete;
  PushConsumer& operator=(const PushConsumer&) = delete;

  // Before Start(). `expression` is "*" or tags joined by "||".
  Status Subscribe(const std::string& topic, const std::string& expression);
  void RegisterListener(ConcurrentListener listener) { concurrent_ = std::move(listener); }
  void RegisterListener(OrderlyListener listener) { orderly_ = std::move(listener); }

  // Loads offsets, registers on the instance, fetches routes, heartbeats and asks for a
  // rebalance at once. REQUIRES: a listener. May yield.
  Status Start();
  // Stops pulling, lets the consume fibers finish what was handed to them, persists offsets,
  // releases orderly locks and unregisters. Idempotent. May yield.
  void Shutdown();

  // ConsumerMember.
  const std::string& group() const override { return config_.group; }
  protocol::ConsumerData HeartbeatEntry() const override;
  std::set<std::string> Topics() const override;
  void DoRebalance() override;
  void PersistOffsets() override;

  const PushConsumerConfig& config() const { return config_; }
  // The queues this consumer serves now.
  std::set<MessageQueue> AssignedQueues() const { return rebalancer_->Queues(); }
  OffsetStore& offset_store() { return *offset_store_; }
  bool orderly() const { return orderly_ != nullptr; }

 private:
  struct ConsumeRequest {
    std::vector<MessageExt> msgs;  // empty for orderly requests
    std::shared_ptr<ProcessQueue> pq;
    MessageQueue mq;
  };

  // RebalanceHost.
  Result<int64_t> ComputePullFromWhere(const MessageQueue& mq) override;
  void StartPulling(const MessageQueue& mq, std::shared_ptr<ProcessQueue> pq,
                    int64_t offset) override;
  bool RemoveQueue(const MessageQueue& mq, ProcessQueue& pq) override;
  void RemoveDirtyOffset(const MessageQueue& mq) override { offset_store_->RemoveOffset(mq); }

  // The pull loops, shared with their fibers. A loop waiting on a long poll at Shutdown() is not
  // waited for: it ends on its own when the poll ends (answered, timed out, or failed when the
  // instance closes its connections), touching by then only what it holds, this included.
  // Invariant: pulling is a subset of the keys of fibers, but for loops unwound by a kill.
  struct PullLoops {
    std::map<uint64_t, io::FiberHandle> fibers;  // the loops still running, by id
    std::set<uint64_t> pulling;                  // the loops inside PullCancellable
  };

  // push_consumer.cc
  // REQUIRES: `loops` holds this loop's fiber as `id`.
  void PullLoop(uint64_t id, const std::shared_ptr<PullLoops>& loops, MessageQueue mq,
                std::shared_ptr<ProcessQueue> pq, int64_t offset);
  // Waits for the pull loops to end, but for those waiting on a long poll. False when the caller
  // is being killed. May yield.
  bool JoinPullLoops();
  Result<int64_t> MaxOffset(const MessageQueue& mq, int32_t code);
  bool Clustering() const { return config_.message_model == MessageModel::kClustering; }
  int32_t MaxReconsumeTimes() const;
  // Spawns a fiber tracked for Shutdown.
  void SpawnTracked(std::string name, std::function<void()> fn);
  // Waits `d` or until shutdown; false at shutdown. May yield.
  bool SleepOrStop(Duration d);

  // push_consumer_consume.cc
  void Submit(std::vector<MessageExt> msgs, const std::shared_ptr<ProcessQueue>& pq,
              const MessageQueue& mq, bool dispatch);
  void SubmitLater(ConsumeRequest request, Duration delay);
  void ConsumeLoop();
  void ConsumeConcurrently(ConsumeRequest& request);
  void ConsumeOrderly(ConsumeRequest& request);
  // Resets a retry message's topic to its original one (RETRY_TOPIC).
  void ResetRetryTopic(std::vector<MessageExt>& msgs) const;
  // CONSUMER_SEND_MSG_BACK to the queue's broker. May yield.
  Status SendMessageBack(const MessageExt& msg, int32_t delay_level, const MessageQueue& mq);
  // Orderly: true when the batch must be retried (some message not yet at its limit, or a DLQ
  // send-back failed). May yield.
  bool CheckReconsumeTimes(std::vector<MessageExt>& msgs, const MessageQueue& mq);
  void LockLoop();

  std::shared_ptr<ClientInstance> instance_;
  io::Env& env_;
  PushConsumerConfig config_;
  ConcurrentListener concurrent_;
  OrderlyListener orderly_;
  std::map<std::string, std::string> expressions_;  // topic -> expression
  std::unique_ptr<OffsetStore> offset_store_;
  std::unique_ptr<Rebalancer> rebalancer_;
  io::Channel<ConsumeRequest> requests_;
  io::Event stop_;
  PullCanceller pulls_cancel_;
  std::shared_ptr<PullLoops> pull_loops_ = std::make_shared<PullLoops>();
  bool started_ = false;
  bool stopping_ = false;
  uint64_t next_fiber_id_ = 1;
  std::map<uint64_t, io::FiberHandle> tracked_;  // later-resubmits
  std::vector<io::FiberHandle> workers_;
};

}  // namespace apogee::client
