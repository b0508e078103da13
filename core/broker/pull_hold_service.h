#pragma once

// PullHoldService: long polling (RocketMQ's PullRequestHoldService). A PULL_MESSAGE that finds
// nothing new and carries the SUSPEND flag is parked here instead of answered; its handler
// returns without a response. A parked pull is released, to be re-evaluated and answered
// (found, or PULL_NOT_FOUND), as soon as one of these happens:
//   - Notify(): the send path stored a message in its (topic, queue) at or past its offset
//     whose tags code passes its filter (a batch wakes every pull of the queue);
//   - its suspend timeout passes;
//   - the periodic check (every check_interval) finds its queue's max offset past its offset
//     (this catches messages that became visible later than their put returned, as under
//     SYNC_FLUSH with WAIT=false, and any arrival Notify() did not report);
//   - Shutdown(): every parked pull is released, so none is dropped.
// Releasing calls the answer callback, which must not block (the broker spawns a fiber that
// re-runs the pull without the SUSPEND permission and sends the response on the connection).
//
// Limits: at most per_connection_max pulls are parked per connection (the connection's own
// request limit); Park() refuses more, and refuses everything once shutting down.
//
// Invariants: entries_, by_queue_ and by_deadline_ index the same set of parked pulls;
// parked_per_connection_ counts them by connection (looked up, never iterated).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "core/base/time.h"
#include "core/io/env.h"
#include "core/io/wait_queue.h"
#include "core/protocol/bodies.h"
#include "core/protocol/headers.h"
#include "core/remoting/command.h"
#include "core/remoting/remoting_connection.h"

namespace apogee::broker {

// A pull parked by PULL_MESSAGE, kept decoded: answering it re-runs the checks and the read, not
// the decoding of its header or the parsing of the subscription it carries.
struct ParkedPull {
  std::shared_ptr<RemotingConnection> connection;
  // The request as far as its answer needs it (code, opaque, flag, version, language, header
  // kind); its fields and body are not kept.
  RemotingCommand request;
  protocol::PullMessageRequestHeader header;
  // The subscription the header carried (SUBSCRIPTION flag), parsed when the pull arrived;
  // nullopt when the pull goes by the group's registered subscription, which is looked up again
  // when it is answered (it may have changed meanwhile).
  std::optional<protocol::SubscriptionData> subscription;
  std::string topic;
  int32_t queue_id = 0;
  int64_t offset = 0;  // the queue offset the pull waits to read
  Instant deadline{};
  // Whether a message with this tags code would be delivered; empty: every message.
  std::function<bool(int64_t tags_code)> filter;
};

class PullHoldService {
 public:
  using Answer = std::function<void(ParkedPull pull)>;
  using MaxOffset = std::function<int64_t(std::string_view topic, int32_t queue_id)>;

  PullHoldService(io::Env& env, Duration check_interval, size_t per_connection_max, Answer answer,
                  MaxOffset max_offset);
  PullHoldService(const PullHoldService&) = delete;
  PullHoldService& operator=(const PullHoldService&) = delete;

  // Releases pulls at their deadline and on the periodic check until Shutdown(). The caller
  // runs it on a fiber that keeps this object alive (the broker's fibers share its state, so
  // a killed node unwinds them before the state goes). May yield.
  void Run();
  // Parks `pull`. False (the caller answers at once) when shutting down or when its connection
  // already has per_connection_max parked pulls.
  bool Park(ParkedPull pull);
  // The queue's max offset is now `max_offset` after a put; `tags_code` is the stored message's
  // (nullopt for a batch: every parked pull of the queue is released).
  void Notify(std::string_view topic, int32_t queue_id, int64_t max_offset,
              std::optional<int64_t> tags_code);
  // Releases every parked pull and makes Run() return. Idempotent; does not wait.
  void Shutdown();

  size_t parked() const { return entries_.size(); }
  uint64_t released_by_notify() const { return released_by_notify_; }
  uint64_t released_by_timeout() const { return released_by_timeout_; }

 private:
  using QueueKey = std::pair<std::string, int32_t>;
  // Orders queue keys and finds them by (string_view, queue id), without building a string.
  struct QueueKeyLess {
    using is_transparent = void;
    template <typename L, typename R>
    bool operator()(const L& l, const R& r) const {
      const std::string_view lt = l.first;
      const std::string_view rt = r.first;
      if (lt != rt) return lt < rt;
      return l.second < r.second;
    }
  };
  void Release(uint64_t id);
  void CheckQueues();

  io::Env& env_;
  Duration check_interval_;
  size_t per_connection_max_;
  Answer answer_;
  MaxOffset max_offset_;
  std::map<uint64_t, ParkedPull> entries_;  // by park order
  std::map<QueueKey, std::set<uint64_t>, QueueKeyLess> by_queue_;
  std::set<std::pair<Instant, uint64_t>> by_deadline_;
  std::map<const RemotingConnection*, size_t> parked_per_connection_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  Instant wait_until_{};  // when the fiber wakes next on its own
  io::WaitQueue wake_;
  uint64_t released_by_notify_ = 0;
  uint64_t released_by_timeout_ = 0;
};

}  // namespace apogee::broker
