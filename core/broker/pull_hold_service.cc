#include "core/broker/pull_hold_service.h"

#include <vector>

#include "core/base/log.h"

namespace apogee::broker {

PullHoldService::PullHoldService(io::Env& env, Duration check_interval, size_t per_connection_max,
                                 Answer answer, MaxOffset max_offset)
    : env_(env),
      check_interval_(check_interval),
      per_connection_max_(per_connection_max),
      answer_(std::move(answer)),
      max_offset_(std::move(max_offset)),
      wake_(env.scheduler.runtime()) {
  APOGEE_ASSERT(check_interval_ > Duration::zero());
  APOGEE_ASSERT(per_connection_max_ >= 1);
  APOGEE_ASSERT(answer_ != nullptr);
  APOGEE_ASSERT(max_offset_ != nullptr);
}

bool PullHoldService::Park(ParkedPull pull) {
  APOGEE_ASSERT(pull.connection != nullptr);
  if (stopping_) return false;
  size_t& count = parked_per_connection_[pull.connection.get()];
  if (count >= per_connection_max_) {
    LOG_WARN("broker: {} already has {} pulls parked; not parking another",
             pull.connection->peer().ToString(), count);
    return false;
  }
  count++;
  uint64_t id = next_id_++;
  by_queue_[QueueKey(pull.topic, pull.queue_id)].insert(id);
  by_deadline_.emplace(pull.deadline, id);
  bool earlier = pull.deadline < wait_until_;
  entries_.emplace(id, std::move(pull));
  // The fiber sleeps until its next check; a deadline before that must wake it.
  if (earlier) wake_.NotifyAll();
  APOGEE_ASSERT(entries_.size() == by_deadline_.size());
  return true;
}

void PullHoldService::Release(uint64_t id) {
  auto it = entries_.find(id);
  APOGEE_ASSERT(it != entries_.end());
  ParkedPull pull = std::move(it->second);
  entries_.erase(it);
  by_deadline_.erase({pull.deadline, id});
  auto q = by_queue_.find(std::pair<std::string_view, int32_t>(pull.topic, pull.queue_id));
  APOGEE_ASSERT(q != by_queue_.end());
  q->second.erase(id);
  if (q->second.empty()) by_queue_.erase(q);
  auto c = parked_per_connection_.find(pull.connection.get());
  APOGEE_ASSERT(c != parked_per_connection_.end() && c->second > 0);
  if (--c->second == 0) parked_per_connection_.erase(c);
  answer_(std::move(pull));
}

void PullHoldService::Notify(std::string_view topic, int32_t queue_id, int64_t max_offset,
                             std::optional<int64_t> tags_code) {
  auto q = by_queue_.find(std::pair<std::string_view, int32_t>(topic, queue_id));
  if (q == by_queue_.end()) return;
  std::vector<uint64_t> ready;
  for (uint64_t id : q->second) {
    const ParkedPull& pull = entries_.at(id);
    if (max_offset <= pull.offset) continue;
    // A message the pull would filter out does not wake it (it waits on for one it takes).
    if (tags_code.has_value() && pull.filter && !pull.filter(*tags_code)) continue;
    ready.push_back(id);
  }
  for (uint64_t id : ready) {
    released_by_notify_++;
    Release(id);
  }
}

void PullHoldService::CheckQueues() {
  std::vector<uint64_t> ready;
  for (const auto& [key, ids] : by_queue_) {
    int64_t max = max_offset_(key.first, key.second);
    for (uint64_t id : ids) {
      if (max > entries_.at(id).offset) ready.push_back(id);
    }
  }
  for (uint64_t id : ready) Release(id);
}

void PullHoldService::Run() {
  Instant next_check = env_.clock.Now() + check_interval_;
  while (!stopping_) {
    wait_until_ = next_check;
    if (!by_deadline_.empty() && by_deadline_.begin()->first < wait_until_) {
      wait_until_ = by_deadline_.begin()->first;
    }
    wake_.Wait(wait_until_);
    if (stopping_) break;
    Instant now = env_.clock.Now();
    while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
      released_by_timeout_++;
      Release(by_deadline_.begin()->second);
    }
    if (now >= next_check) {
      CheckQueues();
      next_check = now + check_interval_;
    }
  }
  wait_until_ = Instant{};
}

void PullHoldService::Shutdown() {
  if (stopping_) return;
  stopping_ = true;
  if (!entries_.empty()) {
    LOG_INFO("broker: answering {} parked pulls before shutting down", entries_.size());
  }
  while (!entries_.empty()) Release(entries_.begin()->first);
  wake_.NotifyAll();
  APOGEE_ASSERT(by_queue_.empty());
  APOGEE_ASSERT(parked_per_connection_.empty());
}

}  // namespace apogee::broker
