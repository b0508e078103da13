#include "core/broker/queue_lock_manager.h"

#include <fmt/format.h>

#include <string_view>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"

namespace apogee::broker {

QueueLockManager::QueueLockManager(Duration lock_expiry) : lock_expiry_(lock_expiry) {
  APOGEE_ASSERT(lock_expiry_ > Duration::zero());
}

std::set<protocol::MessageQueue> QueueLockManager::TryLockBatch(
    const std::string& group, const std::string& client_id,
    const std::set<protocol::MessageQueue>& mqs, Instant now) {
  APOGEE_ASSERT(!client_id.empty(), "a lock needs a client id");
  std::set<protocol::MessageQueue> granted;
  if (mqs.empty()) return granted;
  std::map<protocol::MessageQueue, Lock>& locks = groups_[group];
  for (const protocol::MessageQueue& mq : mqs) {
    auto it = locks.find(mq);
    if (it == locks.end()) {
      locks.emplace(mq, Lock{client_id, now});
      granted.insert(mq);
      continue;
    }
    Lock& lock = it->second;
    if (lock.client_id == client_id) {
      lock.last_locked = now;  // renewal, or the owner taking its own lapsed lock back
      granted.insert(mq);
      continue;
    }
    if (Expired(lock, now)) {
      LOG_INFO("queue lock: {} of {} lapsed for {}; taken over by {}", mq.ToString(), group,
               lock.client_id, client_id);
      lock = Lock{client_id, now};
      granted.insert(mq);
      continue;
    }
    LOG_INFO("queue lock: {} of {} refused to {}: held by {}", mq.ToString(), group, client_id,
             lock.client_id);
  }
  APOGEE_ASSERT(granted.size() <= mqs.size());
  APOGEE_ASSERT(!locks.empty());
  return granted;
}

size_t QueueLockManager::UnlockBatch(const std::string& group, const std::string& client_id,
                                     const std::set<protocol::MessageQueue>& mqs) {
  auto g = groups_.find(group);
  if (g == groups_.end()) return 0;
  size_t released = 0;
  for (const protocol::MessageQueue& mq : mqs) {
    auto it = g->second.find(mq);
    if (it == g->second.end()) continue;
    if (it->second.client_id != client_id) {
      LOG_WARN("queue lock: {} asked to unlock {} of {}, held by {}; ignored", client_id,
               mq.ToString(), group, it->second.client_id);
      continue;
    }
    g->second.erase(it);
    released++;
  }
  if (g->second.empty()) groups_.erase(g);
  return released;
}

bool QueueLockManager::IsLockedBy(const std::string& group, const protocol::MessageQueue& mq,
                                  const std::string& client_id, Instant now) const {
  auto g = groups_.find(group);
  if (g == groups_.end()) return false;
  auto it = g->second.find(mq);
  return it != g->second.end() && it->second.client_id == client_id && !Expired(it->second, now);
}

size_t QueueLockManager::PruneExpired(Instant now) {
  size_t dropped = 0;
  for (auto g = groups_.begin(); g != groups_.end();) {
    dropped +=
        std::erase_if(g->second, [&](const auto& entry) { return Expired(entry.second, now); });
    g = g->second.empty() ? groups_.erase(g) : std::next(g);
  }
  return dropped;
}

size_t QueueLockManager::size() const {
  size_t n = 0;
  for (const auto& [group, locks] : groups_) n += locks.size();
  return n;
}

namespace {

std::string_view BodyText(const RemotingCommand& request) {
  return std::string_view(reinterpret_cast<const char*>(request.body.data()), request.body.size());
}

}  // namespace

RemotingCommand HandleLockBatch(QueueLockManager& locks, const RemotingCommand& request,
                                Instant now) {
  APOGEE_ASSERT(request.code == protocol::request::kLockBatchMq);
  auto body = protocol::LockBatchRequestBody::FromJson(BodyText(request));
  if (!body.ok()) {
    LOG_WARN("LOCK_BATCH_MQ: bad body: {}", body.status().ToString());
    return protocol::MakeResponseCommand(
        protocol::response::kSystemError,
        fmt::format("bad LockBatchRequestBody: {}", body.status().message()));
  }
  if (body->client_id.empty()) {
    return protocol::MakeResponseCommand(protocol::response::kSystemError,
                                         "LockBatchRequestBody without clientId");
  }
  protocol::LockBatchResponseBody answer;
  answer.lock_ok_mq_set =
      locks.TryLockBatch(body->consumer_group, body->client_id, body->mq_set, now);
  RemotingCommand response = protocol::MakeResponseCommand(protocol::response::kSuccess);
  std::string json = answer.ToJson();
  response.body.assign(json.begin(), json.end());
  return response;
}

RemotingCommand HandleUnlockBatch(QueueLockManager& locks, const RemotingCommand& request) {
  APOGEE_ASSERT(request.code == protocol::request::kUnlockBatchMq);
  auto body = protocol::UnlockBatchRequestBody::FromJson(BodyText(request));
  if (!body.ok()) {
    LOG_WARN("UNLOCK_BATCH_MQ: bad body: {}", body.status().ToString());
    return protocol::MakeResponseCommand(
        protocol::response::kSystemError,
        fmt::format("bad UnlockBatchRequestBody: {}", body.status().message()));
  }
  locks.UnlockBatch(body->consumer_group, body->client_id, body->mq_set);
  return protocol::MakeResponseCommand(protocol::response::kSuccess);
}

}  // namespace apogee::broker
