#pragma once

// Rebalancer: which queues a push consumer serves (RocketMQ's RebalanceImpl), and the process
// queue of each.
//
// DoRebalance(), for every subscribed topic:
//   clustering    the topic's readable queues and the group's client ids (GET_CONSUMER_LIST_BY_
//                 GROUP), both sorted, go through the allocation strategy;
//   broadcasting  every readable queue.
// Then the table follows the answer: a queue no longer assigned is dropped and handed to
// RebalanceHost::RemoveQueue (persist its offset; orderly: unlock it), which may refuse for
// now (an orderly queue still being consumed): it is tried again next time. A newly assigned
// queue (orderly clustering: only once LOCK_BATCH_MQ granted it) gets a process queue, its
// start offset from RebalanceHost::ComputePullFromWhere, and RebalanceHost::StartPulling.
//
// Locks (orderly clustering): LockAll() renews every held queue's broker lock (every 20 s); a
// queue whose lock the broker refuses is marked unlocked and is not consumed until relocked.
//
// Invariants: every process queue in table_ that is not dropped has one pull loop; a queue is
// never in table_ twice. Methods that talk to brokers may yield; the table may change while
// they do, so every walk works on a copy of the keys.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/client/allocate.h"
#include "core/client/client_instance.h"
#include "core/client/process_queue.h"

namespace apogee::client {

using protocol::MessageModel;

class RebalanceHost {
 public:
  virtual ~RebalanceHost() = default;
  // The offset to start pulling a newly assigned queue at. May yield.
  virtual Result<int64_t> ComputePullFromWhere(const MessageQueue& mq) = 0;
  // Starts the pull loop of a newly assigned queue.
  virtual void StartPulling(const MessageQueue& mq, std::shared_ptr<ProcessQueue> pq,
                            int64_t offset) = 0;
  // Releases a queue no longer assigned (already marked dropped). False: keep it and try
  // again at the next rebalance. May yield.
  virtual bool RemoveQueue(const MessageQueue& mq, ProcessQueue& pq) = 0;
  // Forgets any offset the store holds for a queue about to be (re)assigned.
  virtual void RemoveDirtyOffset(const MessageQueue& mq) = 0;
};

class Rebalancer {
 public:
  Rebalancer(ClientInstance& instance, std::string group, MessageModel model, bool orderly,
             std::shared_ptr<const AllocateStrategy> strategy, RebalanceHost& host);

  void SetSubscriptions(std::map<std::string, protocol::SubscriptionData> subscriptions) {
    subscriptions_ = std::move(subscriptions);
  }
  const std::map<std::string, protocol::SubscriptionData>& subscriptions() const {
    return subscriptions_;
  }

  // May yield.
  void DoRebalance();
  // Removes a queue's process queue from the table at once (offset moved: the next rebalance
  // assigns it afresh from the persisted offset).
  void Forget(const MessageQueue& mq) { table_.erase(mq); }
  // Marks every process queue dropped and empties the table; returns what it held.
  std::map<MessageQueue, std::shared_ptr<ProcessQueue>> DropAll();

  // Orderly: asks the broker to lock `mq` for this client; marks `pq` locked when granted.
  bool Lock(const MessageQueue& mq, ProcessQueue& pq);
  // Orderly: renews the lock of every queue in the table, broker by broker. May yield.
  void LockAll();
  // Orderly: releases the broker's lock. May yield.
  void Unlock(const MessageQueue& mq);
  void UnlockAll(const std::set<MessageQueue>& mqs);

  const std::map<MessageQueue, std::shared_ptr<ProcessQueue>>& table() const { return table_; }
  std::set<MessageQueue> Queues() const;

 private:
  void RebalanceTopic(const std::string& topic);
  bool UpdateTable(const std::string& topic, const std::set<MessageQueue>& wanted);
  // LOCK_BATCH_MQ for `mqs` of one broker; the queues the broker granted.
  Result<std::set<MessageQueue>> LockBatch(const std::string& broker,
                                           const std::set<MessageQueue>& mqs);

  ClientInstance& instance_;
  std::string group_;
  MessageModel model_;
  bool orderly_;
  std::shared_ptr<const AllocateStrategy> strategy_;
  RebalanceHost& host_;
  std::map<std::string, protocol::SubscriptionData> subscriptions_;
  std::map<MessageQueue, std::shared_ptr<ProcessQueue>> table_;
};

}  // namespace apogee::client
