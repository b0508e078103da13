#include "core/client/producer.h"

#include <fmt/format.h>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"

namespace apogee::client {

namespace req = protocol::request;
namespace rsp = protocol::response;
namespace prop = protocol::property;

namespace {

constexpr size_t kTopicBytesMax = 127;
// MessageSysFlag.TRANSACTION_PREPARED_TYPE.
constexpr int32_t kSysFlagPrepared = 0x4;

// The broker answers the sync path retries on another queue (RocketMQ's retryResponseCodes).
bool RetryableCode(int32_t code) {
  return code == rsp::kTopicNotExist || code == rsp::kServiceNotAvailable ||
         code == rsp::kSystemError || code == rsp::kNoPermission || code == rsp::kSystemBusy;
}

bool ValidTopicChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '%' ||
         c == '|' || c == '-' || c == '_';
}

}  // namespace

std::string_view ToString(SendStatus status) {
  switch (status) {
    case SendStatus::kSendOk:
      return "SEND_OK";
    case SendStatus::kFlushDiskTimeout:
      return "FLUSH_DISK_TIMEOUT";
    case SendStatus::kFlushSlaveTimeout:
      return "FLUSH_SLAVE_TIMEOUT";
    case SendStatus::kSlaveNotAvailable:
      return "SLAVE_NOT_AVAILABLE";
  }
  return "?";
}

Producer::Producer(std::shared_ptr<ClientInstance> instance, ProducerConfig config)
    : instance_(std::move(instance)),
      env_(instance_->env()),
      config_(std::move(config)),
      fault_(config_.send_latency_fault_enable),
      ids_(instance_->config().client_ip, env_.random) {
  APOGEE_ASSERT(config_.retry_times_when_send_failed >= 0);
  APOGEE_ASSERT(config_.retry_times_when_send_async_failed >= 0);
}

Producer::~Producer() { Shutdown(); }

Status Producer::Start() {
  APOGEE_ASSERT(!started_, "producer started twice");
  APOGEE_RETURN_IF_ERROR(instance_->RegisterProducer(config_.group));
  instance_->Start();
  started_ = true;
  return Status::Ok();
}

void Producer::Shutdown() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  // Each async fiber erases its own entry when it ends: join a copy.
  while (!async_fibers_.empty()) {
    io::FiberHandle f = async_fibers_.begin()->second;
    if (f.Join() == io::WakeReason::kKilled) return;
    async_fibers_.erase(async_fibers_.begin()->first);
  }
  instance_->UnregisterProducer(config_.group);
  if (instance_->member_count() == 0) instance_->Shutdown();
}

Status Producer::CheckStarted() const {
  if (!started_ || stopped_) return Status(ErrorCode::kClosed, "the producer is not running");
  return Status::Ok();
}

Status Producer::Validate(const Message& msg) const {
  if (msg.topic.empty() || msg.topic.size() > kTopicBytesMax) {
    return Status(ErrorCode::kInvalidArgument, "the topic is empty or longer than 127 bytes");
  }
  for (char c : msg.topic) {
    if (!ValidTopicChar(c)) {
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("topic '{}' has a character outside [%|a-zA-Z0-9_-]", msg.topic));
    }
  }
  if (msg.topic == config_.create_topic_key) {
    return Status(ErrorCode::kInvalidArgument, "the template topic is not for messages");
  }
  if (msg.body.empty()) return Status(ErrorCode::kInvalidArgument, "the body is empty");
  if (msg.body.size() > config_.max_message_bytes) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("the body has {} bytes, more than the {} allowed", msg.body.size(),
                              config_.max_message_bytes));
  }
  return Status::Ok();
}

Producer::Outgoing Producer::Prepare(const Message& msg) {
  Outgoing out;
  out.topic = msg.topic;
  out.flag = msg.flag;
  out.properties = msg.properties;
  out.body = msg.body;
  if (!msg.HasProperty(prop::kUniqKey)) {
    out.properties[prop::kUniqKey] = ids_.Next(env_.clock.WallNow());
  }
  out.msg_id = out.properties[prop::kUniqKey];
  return out;
}

// --- Public sends ---

Result<SendResult> Producer::Send(const Message& msg, std::optional<Duration> timeout) {
  APOGEE_RETURN_IF_ERROR(CheckStarted());
  APOGEE_RETURN_IF_ERROR(Validate(msg));
  return SendDefault(Prepare(msg), Mode::kSync, TimeoutOrDefault(timeout));
}

Status Producer::SendAsync(Message msg, SendCallback callback, std::optional<Duration> timeout) {
  APOGEE_ASSERT(callback != nullptr);
  APOGEE_RETURN_IF_ERROR(CheckStarted());
  APOGEE_RETURN_IF_ERROR(Validate(msg));
  if (async_fibers_.size() >= config_.async_sends_in_flight_max) {
    return Status(ErrorCode::kResourceExhausted,
                  fmt::format("{} async sends in flight", async_fibers_.size()));
  }
  const uint64_t id = next_async_id_++;
  Duration t = TimeoutOrDefault(timeout);
  auto fn = [this, id, t, out = Prepare(msg), callback = std::move(callback)] {
    Result<SendResult> r = SendDefault(out, Mode::kAsync, t);
    callback(std::move(r));
    async_fibers_.erase(id);
  };
  async_fibers_[id] = env_.scheduler.Spawn("producer-async", std::move(fn));
  return Status::Ok();
}

Status Producer::SendOneway(const Message& msg) {
  APOGEE_RETURN_IF_ERROR(CheckStarted());
  APOGEE_RETURN_IF_ERROR(Validate(msg));
  return SendDefault(Prepare(msg), Mode::kOneway, config_.send_timeout).status();
}

Result<SendResult> Producer::Send(const std::vector<Message>& batch,
                                  std::optional<Duration> timeout) {
  APOGEE_RETURN_IF_ERROR(CheckStarted());
  if (batch.empty()) return Status(ErrorCode::kInvalidArgument, "the batch is empty");
  std::vector<Message> prepared;
  prepared.reserve(batch.size());
  Outgoing out;
  out.topic = batch.front().topic;
  out.batch = true;
  size_t bytes = 0;
  for (const Message& m : batch) {
    APOGEE_RETURN_IF_ERROR(Validate(m));
    if (m.topic != out.topic) {
      return Status(ErrorCode::kInvalidArgument, "the messages of a batch must share a topic");
    }
    if (m.DelayLevel() > 0) {
      return Status(ErrorCode::kInvalidArgument, "a batch cannot carry delayed messages");
    }
    Message p = m;
    if (!p.HasProperty(prop::kUniqKey)) p.SetUniqKey(ids_.Next(env_.clock.WallNow()));
    if (!out.msg_id.empty()) out.msg_id += ',';
    out.msg_id += p.UniqKey();
    bytes += p.body.size();
    prepared.push_back(std::move(p));
  }
  if (bytes > config_.max_message_bytes) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("the batch has {} bytes, more than the {} allowed", bytes,
                              config_.max_message_bytes));
  }
  out.body = protocol::EncodeBatch(prepared);
  if (!batch.front().WaitStoreMsgOk()) out.properties[prop::kWait] = "false";
  return SendDefault(out, Mode::kSync, TimeoutOrDefault(timeout));
}

Result<SendResult> Producer::Send(const Message& msg, const MessageQueueSelector& selector,
                                  const std::any& arg, std::optional<Duration> timeout) {
  APOGEE_RETURN_IF_ERROR(CheckStarted());
  APOGEE_RETURN_IF_ERROR(Validate(msg));
  const Instant begin = env_.clock.Now();
  const Duration t = TimeoutOrDefault(timeout);
  APOGEE_ASSIGN_OR_RETURN(TopicPublishInfo * info,
                          instance_->PublishInfo(msg.topic, config_.create_topic_key,
                                                 config_.default_topic_queue_nums));
  const std::vector<MessageQueue> queues = info->queues;
  MessageQueue mq = selector(queues, msg, arg);
  Duration left = t - (env_.clock.Now() - begin);
  if (left <= Duration::zero()) return Status(ErrorCode::kTimeout, "send timed out");
  return SendToQueue(Prepare(msg), mq, left);
}

Result<SendResult> Producer::Send(const Message& msg, const MessageQueue& queue,
                                  std::optional<Duration> timeout) {
  APOGEE_RETURN_IF_ERROR(CheckStarted());
  APOGEE_RETURN_IF_ERROR(Validate(msg));
  if (queue.topic != msg.topic) {
    return Status(ErrorCode::kInvalidArgument, "the queue belongs to another topic");
  }
  return SendToQueue(Prepare(msg), queue, TimeoutOrDefault(timeout));
}

Result<std::vector<MessageQueue>> Producer::FetchPublishMessageQueues(const std::string& topic) {
  APOGEE_ASSIGN_OR_RETURN(
      TopicPublishInfo * info,
      instance_->PublishInfo(topic, config_.create_topic_key, config_.default_topic_queue_nums));
  return info->queues;
}

// --- The send paths ---

Result<SendResult> Producer::SendToQueue(const Outgoing& out, const MessageQueue& mq,
                                         Duration timeout) {
  Attempt a = SendKernel(out, mq, Mode::kSync, timeout);
  return std::move(a.result);
}

Result<SendResult> Producer::SendDefault(const Outgoing& out, Mode mode, Duration timeout) {
  const Instant begin = env_.clock.Now();
  APOGEE_ASSIGN_OR_RETURN(TopicPublishInfo * info,
                          instance_->PublishInfo(out.topic, config_.create_topic_key,
                                                 config_.default_topic_queue_nums));
  int attempts = 1;
  if (mode == Mode::kSync) attempts += config_.retry_times_when_send_failed;
  if (mode == Mode::kAsync) attempts += config_.retry_times_when_send_async_failed;
  std::optional<std::string> last_broker;
  // OK until an attempt fails; the timeout it stands for is formatted only when needed (up
  // front it cost every send a fmt call).
  Status last_error = Status::Ok();
  auto no_attempt_error = [&out] {
    return Status(ErrorCode::kTimeout, fmt::format("send to {} timed out", out.topic));
  };
  bool route_refreshed = false;
  for (int i = 0; i < attempts; ++i) {
    if (!info->ok()) break;
    MessageQueue mq = fault_.SelectOneMessageQueue(*info, last_broker, env_.clock.Now());
    const Instant attempt_begin = env_.clock.Now();
    Duration left = timeout - (attempt_begin - begin);
    if (left <= Duration::zero()) {
      last_error =
          Status(ErrorCode::kTimeout,
                 fmt::format("send to {} timed out after {} attempts ({})", out.topic, i,
                             (last_error.ok() ? no_attempt_error() : last_error).ToString()));
      break;
    }
    Attempt a = SendKernel(out, mq, mode, left);
    const Duration latency = env_.clock.Now() - attempt_begin;
    if (a.result.ok()) {
      fault_.Update(mq.broker_name, latency, false, env_.clock.Now());
      if (mode == Mode::kSync && a.result->status != SendStatus::kSendOk &&
          config_.retry_another_broker_when_not_store_ok && i + 1 < attempts) {
        last_broker = mq.broker_name;
        last_error =
            Status(ErrorCode::kInternal, fmt::format("stored with {}", ToString(a.result->status)));
        continue;
      }
      return std::move(a.result);
    }
    fault_.Update(mq.broker_name, latency, true, env_.clock.Now());
    last_error = a.result.status();
    last_broker = mq.broker_name;
    const bool transport = a.broker_code < 0;
    const bool retry = transport || (mode == Mode::kSync && RetryableCode(a.broker_code));
    LOG_DEBUG("producer {}: attempt {} to {} failed: {}{}", config_.group, i + 1, mq.ToString(),
              last_error.ToString(), retry ? ", retrying" : "");
    if (!retry) break;
    // The route may be stale (a broker gone, a topic moved): refresh it once per send.
    if (!route_refreshed && (transport || a.broker_code == rsp::kTopicNotExist)) {
      route_refreshed = true;
      Status s = instance_->UpdateRoute(out.topic);
      if (!s.ok()) LOG_DEBUG("producer {}: route refresh: {}", config_.group, s.ToString());
    }
  }
  return last_error.ok() ? no_attempt_error() : last_error;
}

Producer::Attempt Producer::SendKernel(const Outgoing& out, const MessageQueue& mq, Mode mode,
                                       Duration timeout) {
  Attempt a{Status(ErrorCode::kInternal, "not sent")};
  Result<std::string> addr = instance_->MasterAddressOrRefresh(mq.broker_name, out.topic);
  if (!addr.ok()) {
    a.result = addr.status();
    return a;
  }
  protocol::SendMessageRequestHeader h;
  h.producer_group = config_.group;
  h.topic = out.topic;
  h.default_topic = config_.create_topic_key;
  h.default_topic_queue_nums = config_.default_topic_queue_nums;
  h.queue_id = mq.queue_id;
  // A transactional half message carries the prepared type in its sysFlag too.
  auto tran = out.properties.find(prop::kTransactionPrepared);
  h.sys_flag = tran != out.properties.end() && tran->second == "true" ? kSysFlagPrepared : 0;
  h.born_timestamp = ToMillis(env_.clock.WallNow());
  h.flag = out.flag;
  h.batch = out.batch;
  std::map<std::string, std::string> props = out.properties;
  if (out.topic.starts_with(protocol::kRetryGroupTopicPrefix)) {
    // A message re-sent to a retry topic carries its counts in the header, not as properties.
    auto rt = props.find(prop::kReconsumeTime);
    if (rt != props.end()) {
      h.reconsume_times =
          static_cast<int32_t>(protocol::ParseDecimal(rt->second, 0, INT32_MAX).value_or(0));
      props.erase(rt);
    }
    auto mx = props.find(prop::kMaxReconsumeTimes);
    if (mx != props.end()) {
      h.max_reconsume_times =
          static_cast<int32_t>(protocol::ParseDecimal(mx->second, -1, INT32_MAX).value_or(16));
      props.erase(mx);
    }
  }
  h.properties = protocol::EncodeMessageProperties(props);
  protocol::ExtFields f;
  h.Encode(f, /*short_names=*/true);
  RemotingCommand request = protocol::MakeRequest(
      out.batch ? req::kSendBatchMessage : req::kSendMessageV2, std::move(f), out.body);
  if (mode == Mode::kOneway) {
    Status s = instance_->InvokeOneway(*addr, std::move(request));
    if (!s.ok()) {
      a.result = s;
      return a;
    }
    a.result = SendResult{SendStatus::kSendOk, out.msg_id, "", mq, -1, std::nullopt};
    a.broker_code = rsp::kSuccess;
    return a;
  }
  Result<RemotingCommand> response = instance_->Invoke(*addr, std::move(request), timeout);
  if (!response.ok()) {
    a.result = response.status();
    return a;
  }
  a.broker_code = response->code;
  a.result = ProcessResponse(out, mq, *response);
  return a;
}

Result<SendResult> Producer::ProcessResponse(const Outgoing& out, const MessageQueue& mq,
                                             const RemotingCommand& response) {
  SendResult result;
  switch (response.code) {
    case rsp::kSuccess:
      result.status = SendStatus::kSendOk;
      break;
    case rsp::kFlushDiskTimeout:
      result.status = SendStatus::kFlushDiskTimeout;
      break;
    case rsp::kFlushSlaveTimeout:
      result.status = SendStatus::kFlushSlaveTimeout;
      break;
    case rsp::kSlaveNotAvailable:
      result.status = SendStatus::kSlaveNotAvailable;
      break;
    default:
      return ResponseError(response, fmt::format("send to {}", mq.ToString()));
  }
  APOGEE_ASSIGN_OR_RETURN(protocol::SendMessageResponseHeader h,
                          protocol::SendMessageResponseHeader::Decode(response.ext_fields));
  result.msg_id = out.msg_id;
  result.offset_msg_id = h.msg_id;
  result.message_queue = MessageQueue{out.topic, mq.broker_name, h.queue_id};
  result.queue_offset = h.queue_offset;
  result.transaction_id = h.transaction_id;
  return result;
}

}  // namespace apogee::client
