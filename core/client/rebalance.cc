#include "core/client/rebalance.h"

#include <fmt/format.h>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"

namespace apogee::client {

namespace req = protocol::request;
namespace rsp = protocol::response;

Rebalancer::Rebalancer(ClientInstance& instance, std::string group, MessageModel model,
                       bool orderly, std::shared_ptr<const AllocateStrategy> strategy,
                       RebalanceHost& host)
    : instance_(instance),
      group_(std::move(group)),
      model_(model),
      orderly_(orderly),
      strategy_(std::move(strategy)),
      host_(host) {
  APOGEE_ASSERT(strategy_ != nullptr);
}

std::set<MessageQueue> Rebalancer::Queues() const {
  std::set<MessageQueue> out;
  for (const auto& [mq, pq] : table_) out.insert(mq);
  return out;
}

void Rebalancer::DoRebalance() {
  const auto subscriptions = subscriptions_;
  for (const auto& [topic, sub] : subscriptions) RebalanceTopic(topic);
  // Queues of topics no longer subscribed.
  for (const MessageQueue& mq : Queues()) {
    if (subscriptions_.contains(mq.topic)) continue;
    auto it = table_.find(mq);
    if (it == table_.end()) continue;
    std::shared_ptr<ProcessQueue> pq = it->second;
    pq->dropped = true;
    table_.erase(mq);
    LOG_INFO("consumer {}: dropped {}: topic no longer subscribed", group_, mq.ToString());
  }
}

void Rebalancer::RebalanceTopic(const std::string& topic) {
  Result<std::vector<MessageQueue>> mqs = instance_.SubscribeQueues(topic);
  if (!mqs.ok()) {
    LOG_INFO("consumer {}: rebalance of {}: {}", group_, topic, mqs.status().ToString());
    return;
  }
  std::set<MessageQueue> wanted;
  if (model_ == MessageModel::kBroadcasting) {
    wanted.insert(mqs->begin(), mqs->end());
  } else {
    Result<std::vector<std::string>> ids = instance_.FindConsumerIds(topic, group_);
    if (!ids.ok()) {
      LOG_INFO("consumer {}: rebalance of {}: {}", group_, topic, ids.status().ToString());
      return;
    }
    std::vector<MessageQueue> mine = strategy_->Allocate(instance_.client_id(), *mqs, *ids);
    wanted.insert(mine.begin(), mine.end());
  }
  if (UpdateTable(topic, wanted)) {
    LOG_DEBUG("consumer {}: {} now serves {} queues of {}", group_, instance_.client_id(),
              wanted.size(), topic);
  }
}

bool Rebalancer::UpdateTable(const std::string& topic, const std::set<MessageQueue>& wanted) {
  bool changed = false;
  for (const MessageQueue& mq : Queues()) {
    if (mq.topic != topic) continue;
    auto it = table_.find(mq);
    if (it == table_.end()) continue;
    std::shared_ptr<ProcessQueue> pq = it->second;
    // A dropped queue left over from a refused removal is released again, assigned or not.
    if (wanted.contains(mq) && !pq->dropped) continue;
    pq->dropped = true;
    if (host_.RemoveQueue(mq, *pq)) {
      // The table may have changed while RemoveQueue yielded: erase this very entry only.
      auto again = table_.find(mq);
      if (again != table_.end() && again->second == pq) table_.erase(again);
      changed = true;
      LOG_DEBUG("consumer {}: released {}", group_, mq.ToString());
    }
  }
  for (const MessageQueue& mq : wanted) {
    if (table_.contains(mq)) continue;
    auto pq = std::make_shared<ProcessQueue>(instance_.env().scheduler.runtime());
    if (orderly_ && model_ == MessageModel::kClustering && !Lock(mq, *pq)) {
      LOG_DEBUG("consumer {}: {} is locked by another client", group_, mq.ToString());
      continue;
    }
    host_.RemoveDirtyOffset(mq);
    Result<int64_t> offset = host_.ComputePullFromWhere(mq);
    if (!offset.ok()) {
      LOG_INFO("consumer {}: no start offset for {}: {}", group_, mq.ToString(),
               offset.status().ToString());
      if (orderly_ && model_ == MessageModel::kClustering) Unlock(mq);
      continue;
    }
    if (table_.contains(mq)) continue;  // added while this one yielded
    APOGEE_ASSERT(*offset >= 0);
    table_[mq] = pq;
    host_.StartPulling(mq, pq, *offset);
    changed = true;
    LOG_DEBUG("consumer {}: took {} from offset {}", group_, mq.ToString(), *offset);
  }
  return changed;
}

std::map<MessageQueue, std::shared_ptr<ProcessQueue>> Rebalancer::DropAll() {
  auto all = std::move(table_);
  table_.clear();
  for (auto& [mq, pq] : all) pq->dropped = true;
  return all;
}

// --- Locks ---

Result<std::set<MessageQueue>> Rebalancer::LockBatch(const std::string& broker,
                                                     const std::set<MessageQueue>& mqs) {
  APOGEE_ASSERT(!mqs.empty());
  APOGEE_ASSIGN_OR_RETURN(std::string addr,
                          instance_.MasterAddressOrRefresh(broker, mqs.begin()->topic));
  protocol::LockBatchRequestBody body{group_, instance_.client_id(), mqs};
  std::string json = body.ToJson();
  APOGEE_ASSIGN_OR_RETURN(
      RemotingCommand r,
      instance_.Invoke(addr,
                       protocol::MakeRequest(req::kLockBatchMq, {},
                                             std::vector<uint8_t>(json.begin(), json.end())),
                       instance_.config().rpc_timeout));
  if (r.code != rsp::kSuccess) return ResponseError(r, "LOCK_BATCH_MQ");
  std::string_view text(reinterpret_cast<const char*>(r.body.data()), r.body.size());
  APOGEE_ASSIGN_OR_RETURN(protocol::LockBatchResponseBody locked,
                          protocol::LockBatchResponseBody::FromJson(text));
  return std::move(locked.lock_ok_mq_set);
}

bool Rebalancer::Lock(const MessageQueue& mq, ProcessQueue& pq) {
  Result<std::set<MessageQueue>> locked = LockBatch(mq.broker_name, {mq});
  if (!locked.ok()) {
    LOG_INFO("consumer {}: lock of {}: {}", group_, mq.ToString(), locked.status().ToString());
    return false;
  }
  if (!locked->contains(mq)) return false;
  pq.locked = true;
  pq.last_lock = instance_.env().clock.Now();
  return true;
}

void Rebalancer::LockAll() {
  std::map<std::string, std::set<MessageQueue>> by_broker;
  for (const auto& [mq, pq] : table_) by_broker[mq.broker_name].insert(mq);
  for (const auto& [broker, mqs] : by_broker) {
    Result<std::set<MessageQueue>> locked = LockBatch(broker, mqs);
    if (!locked.ok()) {
      LOG_INFO("consumer {}: lock renewal at {}: {}", group_, broker, locked.status().ToString());
      continue;  // the locks run out on their own (lock_live) if this persists
    }
    const Instant now = instance_.env().clock.Now();
    for (const MessageQueue& mq : mqs) {
      auto it = table_.find(mq);
      if (it == table_.end()) continue;
      if (locked->contains(mq)) {
        it->second->locked = true;
        it->second->last_lock = now;
      } else {
        it->second->locked = false;
        LOG_INFO("consumer {}: lost the lock of {}", group_, mq.ToString());
      }
    }
  }
}

void Rebalancer::Unlock(const MessageQueue& mq) { UnlockAll({mq}); }

void Rebalancer::UnlockAll(const std::set<MessageQueue>& mqs) {
  std::map<std::string, std::set<MessageQueue>> by_broker;
  for (const MessageQueue& mq : mqs) by_broker[mq.broker_name].insert(mq);
  for (const auto& [broker, set] : by_broker) {
    Result<std::string> addr = instance_.MasterAddressOrRefresh(broker, set.begin()->topic);
    if (!addr.ok()) continue;
    protocol::UnlockBatchRequestBody body{group_, instance_.client_id(), set};
    std::string json = body.ToJson();
    Result<RemotingCommand> r =
        instance_.Invoke(*addr,
                         protocol::MakeRequest(req::kUnlockBatchMq, {},
                                               std::vector<uint8_t>(json.begin(), json.end())),
                         instance_.config().rpc_timeout);
    if (!r.ok()) LOG_INFO("consumer {}: unlock at {}: {}", group_, broker, r.status().ToString());
  }
}

}  // namespace apogee::client
