// TransactionService: half messages and END_TRANSACTION. The check pass is in
// transaction_check.cc.

#include "core/broker/transaction_service.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/protocol/codes.h"
#include "core/protocol/message.h"

namespace apogee::broker {

namespace {

namespace response = protocol::response;
namespace property = protocol::property;
using protocol::TransactionOutcome;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

// The answer for a put that did not store the message (FLUSH_DISK_TIMEOUT counts as stored, as
// RocketMQ's sendFinalMessage counts it).
EndResult PutRefused(const store::PutResult& put) {
  int32_t code = response::kSystemError;
  if (put.status == store::PutStatus::kMessageIllegal ||
      put.status == store::PutStatus::kPropertiesSizeExceeded) {
    code = response::kMessageIllegal;
  } else if (put.status == store::PutStatus::kServiceNotAvailable ||
             put.status == store::PutStatus::kDiskFull) {
    code = response::kServiceNotAvailable;
  }
  return EndResult{code, fmt::format("the committed message was not stored: {} ({})",
                                     store::PutStatusName(put.status), put.error)};
}

bool Stored(const store::PutResult& put) {
  return put.status == store::PutStatus::kOk || put.status == store::PutStatus::kFlushDiskTimeout;
}

}  // namespace

// --- The send path's rewrite ---

bool IsHalfMessage(std::string_view properties) {
  std::optional<std::string_view> tran =
      store::FindProperty(properties, property::kTransactionPrepared);
  return tran.has_value() && EqualsIgnoreCase(*tran, "true");
}

void HalfRewrite::ApplyTo(store::MessageToStore& message) const {
  APOGEE_ASSERT((sys_flag & store::kSysFlagTransactionMask) == 0);
  message.topic = protocol::kTransHalfTopic;
  message.queue_id = 0;
  message.properties = properties;
  message.sys_flag = sys_flag;
}

std::optional<HalfRewrite> PrepareHalf(const store::MessageToStore& message) {
  if (!IsHalfMessage(message.properties)) return std::nullopt;
  PropertyList props(message.properties);
  props.Set(property::kRealTopic, std::string(message.topic));
  props.Set(property::kRealQueueId, fmt::format("{}", message.queue_id));
  HalfRewrite rewrite;
  rewrite.properties = props.Encode();
  // Cleared so that the half topic's consume queue indexes it (a prepared type never reaches a
  // consume queue); TRAN_MSG is what marks it.
  rewrite.sys_flag = message.sys_flag & ~store::kSysFlagTransactionMask;
  return rewrite;
}

// --- TransactionService ---

TransactionService::TransactionService(io::Env& env, std::shared_ptr<store::MessageStore> store,
                                       const BrokerConfig& config, ConsumerOffsetManager* offsets,
                                       std::shared_ptr<ScheduleService> schedule,
                                       CheckSender sender)
    : env_(env),
      store_(std::move(store)),
      config_(config),
      offsets_(offsets),
      schedule_(std::move(schedule)),
      sender_(std::move(sender)),
      wake_(env.scheduler.runtime()),
      pass_mu_(env.scheduler.runtime()) {
  APOGEE_ASSERT(store_ != nullptr);
  APOGEE_ASSERT(offsets_ != nullptr);
  APOGEE_ASSERT(config_.transaction_check_interval > Duration::zero());
  APOGEE_ASSERT(config_.transaction_check_max >= 0);
}

TransactionService::~TransactionService() = default;

std::shared_ptr<TransactionService> TransactionService::Create(
    io::Env& env, std::shared_ptr<store::MessageStore> store, const BrokerConfig& config,
    ConsumerOffsetManager* offsets, std::shared_ptr<ScheduleService> schedule, CheckSender sender) {
  std::shared_ptr<TransactionService> service(new TransactionService(
      env, std::move(store), config, offsets, std::move(schedule), std::move(sender)));
  Progress& p = service->progress_;
  p.half = offsets->Query(protocol::kTransSystemGroup, protocol::kTransHalfTopic, 0).value_or(0);
  p.op = offsets->Query(protocol::kTransSystemGroup, protocol::kTransOpHalfTopic, 0).value_or(0);
  LOG_INFO("transactions: half queue from offset {}, op queue from offset {}", p.half, p.op);
  return service;
}

void TransactionService::Start() {
  APOGEE_ASSERT(!started_, "transaction service started twice");
  started_ = true;
  std::shared_ptr<TransactionService> self = shared_from_this();
  fiber_ = env_.scheduler.Spawn("transaction-check", [self] { self->Loop(); });
}

void TransactionService::Stop() {
  if (stopping_) return;
  stopping_ = true;
  wake_.NotifyAll();
  if (started_) fiber_.Join();
  ClaimDurable();
}

void TransactionService::Loop() {
  while (!stopping_) {
    wake_.Wait(env_.scheduler.After(config_.transaction_check_interval));
    if (stopping_) return;
    CheckOnce();  // may yield
  }
}

EndResult TransactionService::End(const protocol::EndTransactionRequestHeader& h) {
  std::optional<TransactionOutcome> outcome =
      protocol::ParseTransactionOutcome(h.commit_or_rollback);
  auto refuse = [&](int32_t code, std::string remark) {
    stats_.end_errors++;
    LOG_WARN("transactions: END_TRANSACTION of {} (group {}, offset {}/{}) refused: {}", h.msg_id,
             h.producer_group, h.commit_log_offset, h.tran_state_table_offset, remark);
    return EndResult{code, std::move(remark)};
  };
  if (!outcome.has_value()) {
    return refuse(response::kSystemError,
                  fmt::format("commitOrRollback {} is not 0, 8 or 12", h.commit_or_rollback));
  }
  if (*outcome == TransactionOutcome::kUnknown) {
    // Nothing to do: the check service asks the producer again later.
    stats_.unknown_ends++;
    LOG_DEBUG("transactions: {} of group {} is still unknown (from check: {})", h.msg_id,
              h.producer_group, h.from_transaction_check);
    return EndResult{response::kSuccess, "the transaction state is unknown; it will be checked"};
  }
  if (h.commit_log_offset < 0) {
    return refuse(response::kSystemError,
                  fmt::format("Find prepared transaction message failed: commit log offset {}",
                              h.commit_log_offset));
  }
  Result<std::vector<uint8_t>> bytes = store_->ReadRecordAt(h.commit_log_offset);  // may yield
  if (!bytes.ok()) {
    return refuse(response::kSystemError,
                  fmt::format("Find prepared transaction message failed: no message at commit "
                              "log offset {}: {}",
                              h.commit_log_offset, bytes.status().message()));
  }
  store::DecodedRecord d =
      store::DecodeRecord(*bytes, h.commit_log_offset, config_.store.message_bytes_max,
                          /*verify_crc=*/false);
  // The store validated the record before serving it.
  APOGEE_ASSERT(d.kind == store::RecordKind::kMessage, "record at {}: {}", h.commit_log_offset,
                d.error);
  const store::RecordView& half = d.view;
  if (half.topic != protocol::kTransHalfTopic || !IsHalfMessage(half.properties)) {
    return refuse(response::kSystemError,
                  fmt::format("the message at commit log offset {} is not a half message (topic "
                              "{})",
                              h.commit_log_offset, half.topic));
  }
  std::string_view group =
      store::FindProperty(half.properties, property::kProducerGroup).value_or("");
  if (group != h.producer_group) {
    return refuse(response::kSystemError,
                  fmt::format("The producer group wrong: the half message belongs to '{}'", group));
  }
  if (half.queue_offset != h.tran_state_table_offset) {
    return refuse(response::kSystemError,
                  fmt::format("The transaction state table offset wrong: the half message is at "
                              "{}",
                              half.queue_offset));
  }

  if (*outcome == TransactionOutcome::kCommit) {
    PropertyList props(half.properties);
    std::optional<std::string_view> real_topic = props.Get(property::kRealTopic);
    std::optional<int64_t> real_qid;
    if (auto q = props.Get(property::kRealQueueId))
      real_qid = protocol::ParseDecimal(*q, 0, INT32_MAX);
    if (!real_topic.has_value() || real_topic->empty() || !real_qid.has_value()) {
      return refuse(response::kSystemError,
                    fmt::format("the half message at {} has no valid REAL_TOPIC / REAL_QID",
                                h.commit_log_offset));
    }
    std::string topic(*real_topic);
    props.Remove(property::kRealTopic);
    props.Remove(property::kRealQueueId);
    props.Set(property::kWait, "false");
    std::string properties = props.Encode();
    store::MessageToStore real =
        store::CopyOfRecord(half, topic, static_cast<int32_t>(*real_qid), properties);
    real.sys_flag = (half.sys_flag & ~store::kSysFlagTransactionMask) |
                    static_cast<int32_t>(TransactionOutcome::kCommit);
    real.prepared_transaction_offset = h.commit_log_offset;
    std::optional<DelayRewrite> delay;
    if (schedule_ != nullptr) delay = schedule_->Prepare(real);
    if (delay.has_value()) delay->ApplyTo(real);
    store::PutResult put = store_->Put(real);  // may yield
    if (!Stored(put)) {
      stats_.end_errors++;
      LOG_WARN("transactions: commit of {} into {}:{} failed: {} ({})", h.msg_id, topic, *real_qid,
               store::PutStatusName(put.status), put.error);
      return PutRefused(put);
    }
    if (delay.has_value()) schedule_->Notify(delay->level);
    stats_.commits++;
    LOG_DEBUG("transactions: {} committed into {}:{} (from check: {})", h.msg_id, topic, *real_qid,
              h.from_transaction_check);
  } else {
    stats_.rollbacks++;
    LOG_DEBUG("transactions: {} rolled back (from check: {})", h.msg_id, h.from_transaction_check);
  }
  Status op = PutOp(half);  // may yield
  if (!op.ok()) {
    // The outcome stands; the half message stays unresolved and will be checked again.
    stats_.op_failures++;
    LOG_WARN("transactions: op record for half offset {} not stored: {}", half.queue_offset,
             op.ToString());
  }
  return EndResult{response::kSuccess, {}};
}

Status TransactionService::PutOp(const store::RecordView& half) {
  std::string body = fmt::format("{}", half.queue_offset);
  std::string properties =
      store::EncodeProperties({{std::string(property::kTags), protocol::kTransOpRemoveTag},
                               {std::string(property::kWait), "false"}});
  store::MessageToStore op;
  op.topic = protocol::kTransOpHalfTopic;
  op.queue_id = half.queue_id;
  op.body = std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  op.properties = properties;
  op.born_timestamp_ms = ToMillis(env_.clock.WallNow());
  store::PutResult put = store_->Put(op);  // may yield
  if (!Stored(put)) {
    return Status(ErrorCode::kBusy,
                  fmt::format("{}: {}", store::PutStatusName(put.status), put.error));
  }
  return Status::Ok();
}

}  // namespace apogee::broker
