#include "core/client/process_queue.h"

#include "core/base/assert.h"

namespace apogee::client {

bool ProcessQueue::PutMessages(std::vector<MessageExt> msgs) {
  for (MessageExt& m : msgs) {
    const int64_t offset = m.queue_offset;
    if (consuming_.contains(offset)) continue;
    if (msgs_.emplace(offset, std::move(m)).second && offset > max_offset_) max_offset_ = offset;
  }
  if (!msgs_.empty() && !consuming) {
    consuming = true;
    return true;
  }
  return false;
}

int64_t ProcessQueue::RemoveMessages(const std::vector<MessageExt>& msgs) {
  if (max_offset_ < 0) return -1;
  for (const MessageExt& m : msgs) msgs_.erase(m.queue_offset);
  const int64_t offset = msgs_.empty() ? max_offset_ + 1 : msgs_.begin()->first;
  APOGEE_ASSERT(offset >= 0);
  return offset;
}

std::vector<MessageExt> ProcessQueue::TakeMessages(size_t n) {
  std::vector<MessageExt> out;
  while (out.size() < n && !msgs_.empty()) {
    auto node = msgs_.extract(msgs_.begin());
    out.push_back(node.mapped());
    consuming_.insert(std::move(node));
  }
  if (out.empty()) consuming = false;
  return out;
}

int64_t ProcessQueue::Commit() {
  if (consuming_.empty()) return -1;
  const int64_t next = consuming_.rbegin()->first + 1;
  consuming_.clear();
  return next;
}

void ProcessQueue::MakeMessagesToConsumeAgain(const std::vector<MessageExt>& msgs) {
  for (const MessageExt& m : msgs) {
    consuming_.erase(m.queue_offset);
    msgs_[m.queue_offset] = m;
  }
}

int64_t ProcessQueue::MaxSpan() const {
  if (msgs_.empty()) return 0;
  return msgs_.rbegin()->first - msgs_.begin()->first;
}

}  // namespace apogee::client
