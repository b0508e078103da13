// TransactionService: the check pass (RocketMQ's TransactionalMessageCheckService and
// TransactionalMessageServiceImpl.check), and the progress it claims.

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/broker/transaction_service.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"
#include "core/protocol/message.h"
#include "core/protocol/transaction_headers.h"

namespace apogee::broker {

namespace {

namespace property = protocol::property;

// Records read from a queue at once, and bytes beyond the first record.
constexpr uint32_t kReadBatchMax = 32;
constexpr uint32_t kReadBytesMax = 1u << 20;
// Most op records and half messages one pass reads: a pass is bounded, the next one goes on.
constexpr size_t kOpScanMax = 65536;
constexpr size_t kHalfScanMax = 4096;

}  // namespace

int64_t TransactionService::Scan(std::string_view topic, int64_t from, int64_t end, size_t limit,
                                 const std::function<bool(const store::RecordView&)>& fn) {
  int64_t at = from;
  size_t read = 0;
  while (read < limit && at < end && !stopping_) {
    store::GetResult got = store_->Get(topic, 0, at, kReadBatchMax, kReadBytesMax);  // may yield
    if (got.messages.empty()) {
      // Retention removed the head of the queue: go on from where it starts now.
      if (got.status == store::GetStatus::kOffsetTooSmall && got.next_begin_offset > at) {
        at = got.next_begin_offset;
        continue;
      }
      return at;
    }
    for (const store::GetResult::Message& m : got.messages) {
      // A record the store could not serve (a gap) ends the scan; the next pass tries again.
      if (m.queue_offset != at || at >= end) return at;
      store::DecodedRecord d =
          store::DecodeRecord(std::span(got.records).subspan(m.at, m.size), m.physical_offset,
                              config_.store.message_bytes_max, /*verify_crc=*/false);
      APOGEE_ASSERT(d.kind == store::RecordKind::kMessage, "{} record: {}", topic, d.error);
      APOGEE_ASSERT(d.view.queue_offset == at);
      if (!fn(d.view)) return at;
      at++;
      read++;
      if (read >= limit || stopping_) return at;
    }
  }
  return at;
}

void TransactionService::CheckOnce() {
  io::MutexLock lock(pass_mu_);
  if (!lock.ok() || stopping_) return;
  stats_.passes++;
  ClaimDurable();
  const int64_t half_end = store_->MaxOffset(protocol::kTransHalfTopic, 0);
  if (half_end <= progress_.half) return;

  // The half offsets resolved by op records, and where each op record ends in the commit log.
  struct Op {
    int64_t half_offset = 0;
    int64_t log_end = 0;
  };
  std::vector<Op> ops;
  std::map<int64_t, size_t> resolved;  // half queue offset -> count of op records
  const int64_t op_end = store_->MaxOffset(protocol::kTransOpHalfTopic, 0);
  Scan(protocol::kTransOpHalfTopic, progress_.op, std::max<int64_t>(op_end, 0), kOpScanMax,
       [&](const store::RecordView& op) {
         std::string_view text(reinterpret_cast<const char*>(op.body.data()), op.body.size());
         std::optional<int64_t> half = protocol::ParseDecimal(text, 0, INT64_MAX);
         if (!half.has_value()) {
           LOG_WARN("transactions: op record {} has body '{}', not a queue offset; ignored",
                    op.queue_offset, text);
           half = -1;
         }
         ops.push_back(Op{*half, op.physical_offset + op.total_size});
         resolved[*half]++;
         return true;
       });

  // The half messages, from the progress to the end the queue had now (not the copies this pass
  // appends).
  int64_t justified_end = 0;
  const int64_t half_next = Scan(protocol::kTransHalfTopic, progress_.half, half_end, kHalfScanMax,
                                 [&](const store::RecordView& half) {
                                   if (resolved.contains(half.queue_offset)) return true;
                                   return CheckHalf(half, &justified_end);
                                 });
  APOGEE_ASSERT(half_next >= progress_.half);
  // Op records may be passed once the half message they resolve is behind the half progress.
  int64_t op_next = progress_.op;
  for (const Op& op : ops) {
    if (op.half_offset >= half_next) break;
    op_next++;
    justified_end = std::max(justified_end, op.log_end);
  }
  if (half_next != progress_.half || op_next != progress_.op) {
    progress_ = Progress{half_next, op_next};
    pending_.push_back(Pending{progress_, justified_end});
    ClaimDurable();
  }
}

bool TransactionService::CheckHalf(const store::RecordView& half, int64_t* justified_end) {
  PropertyList props(half.properties);
  const int64_t checks =
      protocol::ParseDecimal(props.Get(property::kTransactionCheckTimes).value_or("0"), 0,
                             INT32_MAX)
          .value_or(0);
  std::string group(props.Get(property::kProducerGroup).value_or(""));
  std::string id(props.Get(property::kUniqKey).value_or(""));
  if (checks >= config_.transaction_check_max) {
    // Given up: put aside where nobody consumes it, never delivered.
    store::MessageToStore aside =
        store::CopyOfRecord(half, protocol::kTransCheckMaxTimeTopic, 0, half.properties);
    store::PutResult put = store_->Put(aside);  // may yield
    if (!put.ok() && put.status != store::PutStatus::kFlushDiskTimeout) {
      stats_.put_failures++;
      LOG_WARN("transactions: giving up {} failed: {}; retrying next pass", id, put.error);
      return false;
    }
    *justified_end = std::max(*justified_end, put.physical_offset + int64_t{put.size});
    stats_.given_up++;
    LOG_WARN("transactions: half message {} of group {} checked {} times; given up", id, group,
             checks);
    return true;
  }
  int64_t wait_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.transaction_timeout).count();
  if (checks == 0) {
    if (auto immunity = props.Get(property::kCheckImmunityTimeInSeconds)) {
      wait_ms =
          std::max(wait_ms, protocol::ParseDecimal(*immunity, 0, INT32_MAX).value_or(0) * 1000);
    }
  }
  const int64_t age_ms = ToMillis(env_.clock.WallNow()) - half.born_timestamp_ms;
  // Later half messages are younger still (as RocketMQ assumes): the pass ends here.
  if (age_ms < wait_ms) return false;

  // The copy that carries the new check count; the check names it.
  props.Set(property::kTransactionCheckTimes, fmt::format("{}", checks + 1));
  std::string properties = props.Encode();
  store::MessageToStore copy =
      store::CopyOfRecord(half, protocol::kTransHalfTopic, half.queue_id, properties);
  store::PutResult put = store_->Put(copy);  // may yield
  if (!put.ok() && put.status != store::PutStatus::kFlushDiskTimeout) {
    stats_.put_failures++;
    LOG_WARN("transactions: copy of half message {} not stored: {}; retrying next pass", id,
             put.error);
    return false;
  }
  APOGEE_ASSERT(put.queue_offset >= 0);
  *justified_end = std::max(*justified_end, put.physical_offset + int64_t{put.size});
  store::RecordView copied = half;
  copied.queue_offset = put.queue_offset;
  copied.physical_offset = put.physical_offset;
  copied.store_timestamp_ms = put.store_timestamp_ms;
  copied.properties = properties;
  SendCheck(copied, group);
  return true;
}

void TransactionService::SendCheck(const store::RecordView& copy, std::string_view group) {
  PropertyList props(copy.properties);
  std::string real_topic(props.Get(property::kRealTopic).value_or(copy.topic));
  int32_t real_qid = static_cast<int32_t>(
      protocol::ParseDecimal(props.Get(property::kRealQueueId).value_or("0"), 0, INT32_MAX)
          .value_or(0));
  std::string id(props.Get(property::kUniqKey).value_or(""));

  protocol::CheckTransactionStateRequestHeader h;
  h.tran_state_table_offset = copy.queue_offset;
  h.commit_log_offset = copy.physical_offset;
  if (!id.empty()) {
    h.msg_id = id;
    h.transaction_id = id;
  }
  h.offset_msg_id = store_->OffsetMsgIdOf(copy.physical_offset);
  // The body is the message as a stored record, under its real topic and queue (what the
  // producer's check listener sees).
  store::MessageToStore m = store::CopyOfRecord(copy, real_topic, real_qid, copy.properties);
  store::RecordPlacement at;
  at.queue_offset = copy.queue_offset;
  at.physical_offset = copy.physical_offset;
  at.store_timestamp_ms = copy.store_timestamp_ms;
  at.store_ipv4 = copy.store_ipv4;
  at.store_port = copy.store_port;
  std::vector<uint8_t> body(store::RecordSizeOf(m));
  store::EncodeRecord(m, at, body);
  protocol::ExtFields f;
  h.Encode(f);
  RemotingCommand request = protocol::MakeRequest(protocol::request::kCheckTransactionState,
                                                  std::move(f), std::move(body));
  if (sender_ != nullptr && sender_(std::string(group), std::move(request))) {
    stats_.checks_sent++;
    LOG_DEBUG("transactions: checking {} with group {} (half offset {})", id, group,
              copy.queue_offset);
  } else {
    stats_.checks_no_producer++;
    LOG_INFO("transactions: no producer of group {} online to check {}", group, id);
  }
}

void TransactionService::ClaimDurable() {
  const int64_t durable_end = store_->commit_log().flushed_offset();
  bool claimed = false;
  Progress claim;
  while (!pending_.empty() && pending_.front().log_end <= durable_end) {
    claim = pending_.front().progress;
    pending_.pop_front();
    claimed = true;
  }
  if (!claimed) return;
  offsets_->Commit(protocol::kTransSystemGroup, protocol::kTransHalfTopic, 0, claim.half);
  offsets_->Commit(protocol::kTransSystemGroup, protocol::kTransOpHalfTopic, 0, claim.op);
}

}  // namespace apogee::broker
