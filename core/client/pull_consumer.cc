#include "core/client/pull_consumer.h"

#include <fmt/format.h>

#include "core/base/assert.h"
#include "core/protocol/codes.h"

namespace apogee::client {

PullConsumer::PullConsumer(std::shared_ptr<ClientInstance> instance, PullConsumerConfig config)
    : instance_(std::move(instance)), config_(std::move(config)) {}

PullConsumer::~PullConsumer() { Shutdown(); }

Status PullConsumer::Start() {
  APOGEE_ASSERT(!started_, "consumer started twice");
  if (config_.message_model == MessageModel::kClustering) {
    offset_store_ = std::make_unique<RemoteOffsetStore>(*instance_, config_.group);
  } else {
    offset_store_ = std::make_unique<LocalOffsetStore>(instance_->env(), config_.offset_store_dir,
                                                       instance_->client_id(), config_.group);
  }
  APOGEE_RETURN_IF_ERROR(offset_store_->Load());
  APOGEE_RETURN_IF_ERROR(instance_->RegisterConsumer(this));
  started_ = true;
  instance_->Start();
  return Status::Ok();
}

void PullConsumer::Shutdown() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  PersistOffsets();
  instance_->UnregisterConsumer(config_.group);
  if (instance_->member_count() == 0) instance_->Shutdown();
}

protocol::ConsumerData PullConsumer::HeartbeatEntry() const {
  protocol::ConsumerData d;
  d.group_name = config_.group;
  d.consume_type = protocol::ConsumeType::kConsumeActively;
  d.message_model = config_.message_model;
  d.consume_from_where = protocol::ConsumeFromWhere::kLastOffset;
  for (const std::string& topic : topics_) {
    Result<protocol::SubscriptionData> sub = protocol::BuildSubscriptionData(topic, "*", 0);
    if (sub.ok()) d.subscription_data_set.push_back(*sub);
  }
  return d;
}

void PullConsumer::PersistOffsets() {
  if (offset_store_ != nullptr) offset_store_->PersistAll(used_);
}

Result<std::vector<MessageQueue>> PullConsumer::FetchSubscribeMessageQueues(
    const std::string& topic) {
  APOGEE_RETURN_IF_ERROR(instance_->UpdateRoute(topic));
  return instance_->SubscribeQueues(topic);
}

Result<PullResult> PullConsumer::PullImpl(const MessageQueue& mq, const std::string& expression,
                                          int64_t offset, int32_t max_nums, bool block) {
  if (!started_ || stopped_) return Status(ErrorCode::kClosed, "the consumer is not running");
  if (offset < 0) return Status(ErrorCode::kInvalidArgument, "offset < 0");
  if (max_nums <= 0) return Status(ErrorCode::kInvalidArgument, "maxNums <= 0");
  APOGEE_ASSIGN_OR_RETURN(protocol::SubscriptionData sub,
                          protocol::BuildSubscriptionData(mq.topic, expression, 0));
  PullArgs args;
  args.group = config_.group;
  args.mq = mq;
  args.subscription = std::move(sub);
  args.offset = offset;
  args.max_nums = max_nums;
  args.sys_flag = protocol::kPullFlagSubscription;
  args.timeout = config_.pull_timeout;
  if (block) {
    args.sys_flag |= protocol::kPullFlagSuspend;
    args.suspend = config_.broker_suspend_max;
    args.timeout = config_.consumer_timeout_when_suspend;
  }
  return client::Pull(*instance_, args);
}

Result<PullResult> PullConsumer::Pull(const MessageQueue& mq, const std::string& expression,
                                      int64_t offset, int32_t max_nums) {
  return PullImpl(mq, expression, offset, max_nums, false);
}

Result<PullResult> PullConsumer::PullBlockIfNotFound(const MessageQueue& mq,
                                                     const std::string& expression, int64_t offset,
                                                     int32_t max_nums) {
  return PullImpl(mq, expression, offset, max_nums, true);
}

void PullConsumer::UpdateConsumeOffset(const MessageQueue& mq, int64_t offset) {
  APOGEE_ASSERT(offset_store_ != nullptr, "start the consumer first");
  used_.insert(mq);
  offset_store_->UpdateOffset(mq, offset, false);
}

Result<int64_t> PullConsumer::FetchConsumeOffset(const MessageQueue& mq, bool from_store) {
  if (offset_store_ == nullptr) return Status(ErrorCode::kClosed, "start the consumer first");
  return offset_store_->ReadOffset(
      mq, from_store ? ReadOffsetType::kStore : ReadOffsetType::kMemoryThenStore);
}

}  // namespace apogee::client
