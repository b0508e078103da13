#pragma once

// Producer: RocketMQ's DefaultMQProducer over a ClientInstance.
//
// Sends (every one may yield):
//   Send(msg)                 sync: up to 1 + retry_times_when_send_failed attempts, each on the
//                             next queue of another broker than the one that failed, retrying
//                             transport errors (connect, reset, timeout) and the broker answers
//                             17 TOPIC_NOT_EXIST, 14 SERVICE_NOT_AVAILABLE, 1 SYSTEM_ERROR,
//                             16 NO_PERMISSION, 2 SYSTEM_BUSY; any other answer fails at once;
//   SendAsync(msg, callback)  on a fiber of its own; up to 1 + retry_times_when_send_async_failed
//                             attempts, retrying transport errors only, on another broker (as
//                             RocketMQ's async path does); the callback runs on that fiber;
//   SendOneway(msg)           one attempt, no answer awaited;
//   Send(batch)               SEND_BATCH_MESSAGE: one topic, sync retry policy;
//   Send(msg, selector, arg)  the queue the selector picks, one attempt (ordered messages must
//                             not move to another queue);
//   Send(msg, queue)          that queue, one attempt.
// The timeout covers every attempt: an attempt starts only while time is left, and gets what is
// left. Each attempt's latency (or its failure, as a 30 s isolation) feeds the
// LatencyFaultTolerance, which steers selection when send_latency_fault_enable is set.
// Every message gets a UNIQ_KEY (unique_id.h) unless it has one; SendResult.msg_id is it
// (comma-joined for a batch), offset_msg_id the broker's id.

#include <any>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/client/client_instance.h"
#include "core/client/latency_fault.h"
#include "core/client/unique_id.h"
#include "core/protocol/message.h"

namespace apogee::client {

using protocol::Message;

struct ProducerConfig {
  std::string group = "DEFAULT_PRODUCER";
  Duration send_timeout = 3s;                  // [sendMsgTimeout]
  int retry_times_when_send_failed = 2;        // sync and batch
  int retry_times_when_send_async_failed = 2;  // async
  bool retry_another_broker_when_not_store_ok = false;
  size_t max_message_bytes = 4 * 1024 * 1024;  // [maxMessageSize]
  bool send_latency_fault_enable = false;
  std::string create_topic_key = "TBW102";  // the template topic for auto-creation
  int32_t default_topic_queue_nums = 4;
  size_t async_sends_in_flight_max = 65536;  // more fail with kResourceExhausted
};

enum class SendStatus : uint8_t {
  kSendOk,
  kFlushDiskTimeout,
  kFlushSlaveTimeout,
  kSlaveNotAvailable,
};
std::string_view ToString(SendStatus status);

struct SendResult {
  SendStatus status = SendStatus::kSendOk;
  std::string msg_id;         // UNIQ_KEY (comma-joined for a batch)
  std::string offset_msg_id;  // the broker's: store host + commit log offset
  MessageQueue message_queue;
  int64_t queue_offset = 0;
  std::optional<std::string> transaction_id;
};

using SendCallback = std::function<void(Result<SendResult>)>;
// Picks the queue of an ordered message from the topic's write queues (never empty).
using MessageQueueSelector = std::function<MessageQueue(const std::vector<MessageQueue>& queues,
                                                        const Message& msg, const std::any& arg)>;

class Producer {
 public:
  Producer(std::shared_ptr<ClientInstance> instance, ProducerConfig config);
  // Shuts down if started. May yield.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Registers the group on the instance and starts it. kAlreadyExists when the group is
  // registered there already.
  Status Start();
  // Waits for the async sends in flight, unregisters, and shuts the instance down when this was
  // its last member. Idempotent. May yield.
  void Shutdown();

  Result<SendResult> Send(const Message& msg, std::optional<Duration> timeout = std::nullopt);
  // Fails at once (without calling `callback`) when not started, the message is invalid, or
  // async_sends_in_flight_max sends are in flight; otherwise `callback` gets the outcome.
  Status SendAsync(Message msg, SendCallback callback,
                   std::optional<Duration> timeout = std::nullopt);
  Status SendOneway(const Message& msg);
  // REQUIRES nothing; fails with kInvalidArgument for an empty batch, mixed topics, or a
  // message with a delay level (RocketMQ refuses delayed batches).
  Result<SendResult> Send(const std::vector<Message>& batch,
                          std::optional<Duration> timeout = std::nullopt);
  Result<SendResult> Send(const Message& msg, const MessageQueueSelector& selector,
                          const std::any& arg, std::optional<Duration> timeout = std::nullopt);
  Result<SendResult> Send(const Message& msg, const MessageQueue& queue,
                          std::optional<Duration> timeout = std::nullopt);

  // The write queues of `topic`. May yield.
  Result<std::vector<MessageQueue>> FetchPublishMessageQueues(const std::string& topic);

  const ProducerConfig& config() const { return config_; }
  LatencyFaultTolerance& fault_tolerance() { return fault_; }
  size_t async_in_flight() const { return async_fibers_.size(); }
  ClientInstance& instance() const { return *instance_; }

 private:
  enum class Mode : uint8_t { kSync, kAsync, kOneway };
  // A message ready for the wire: properties encoded, UNIQ_KEY set; a batch carries its
  // encoded body and the joined ids.
  struct Outgoing {
    std::string topic;
    int32_t flag = 0;
    std::map<std::string, std::string> properties;
    std::vector<uint8_t> body;
    bool batch = false;
    std::string msg_id;
  };
  // What one attempt gave: the result, and the broker's code when it answered (-1 otherwise).
  struct Attempt {
    Result<SendResult> result;
    int32_t broker_code = -1;
  };

  Status CheckStarted() const;
  Status Validate(const Message& msg) const;
  Outgoing Prepare(const Message& msg);
  Result<SendResult> SendDefault(const Outgoing& out, Mode mode, Duration timeout);
  Result<SendResult> SendToQueue(const Outgoing& out, const MessageQueue& mq, Duration timeout);
  Attempt SendKernel(const Outgoing& out, const MessageQueue& mq, Mode mode, Duration timeout);
  Result<SendResult> ProcessResponse(const Outgoing& out, const MessageQueue& mq,
                                     const RemotingCommand& response);
  Duration TimeoutOrDefault(std::optional<Duration> timeout) const {
    return timeout.value_or(config_.send_timeout);
  }

  std::shared_ptr<ClientInstance> instance_;
  io::Env& env_;
  ProducerConfig config_;
  LatencyFaultTolerance fault_;
  UniqueIdGenerator ids_;
  bool started_ = false;
  bool stopped_ = false;
  uint64_t next_async_id_ = 1;
  std::map<uint64_t, io::FiberHandle> async_fibers_;  // by send id
};

}  // namespace apogee::client
