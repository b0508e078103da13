#pragma once

// One PULL_MESSAGE exchange, shared by the push and the pull consumer: the request header, the
// answer's status (rocketmq-protocol.md section 3) and the decoded messages.
//   0 FOUND -> kFound, 19 PULL_NOT_FOUND -> kNoNewMsg, 20 PULL_RETRY_IMMEDIATELY ->
//   kNoMatchedMsg, 21 PULL_OFFSET_MOVED -> kOffsetIllegal; any other code is an error.
// Found messages are filtered here by tag (the broker filters by tag hash code only, so two
// tags with one hash reach the client) and carry MIN_OFFSET / MAX_OFFSET properties as in
// RocketMQ.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/client/client_instance.h"
#include "core/protocol/bodies.h"
#include "core/protocol/message.h"

namespace apogee::client {

enum class PullStatus : uint8_t { kFound, kNoNewMsg, kNoMatchedMsg, kOffsetIllegal };
std::string_view ToString(PullStatus status);

struct PullResult {
  PullStatus status = PullStatus::kNoNewMsg;
  int64_t next_begin_offset = 0;
  int64_t min_offset = 0;
  int64_t max_offset = 0;
  std::vector<protocol::MessageExt> messages;
};

struct PullArgs {
  std::string group;
  MessageQueue mq;
  protocol::SubscriptionData subscription;
  int64_t offset = 0;
  int32_t max_nums = 32;
  int32_t sys_flag = 0;
  int64_t commit_offset = 0;
  Duration suspend = Duration::zero();  // the broker's long-poll hold (SUSPEND flag)
  Duration timeout = 3s;                // the whole exchange
};

// The PULL_MESSAGE request for `args`.
RemotingCommand MakePullRequest(const PullArgs& args);
// Decodes an answer (status, offsets, messages filtered by the subscription's tags).
Result<PullResult> ProcessPullResponse(const RemotingCommand& response,
                                       const protocol::SubscriptionData& subscription);
// Keeps the messages whose TAGS is in the subscription's tag set ("*" keeps all).
void FilterByTags(const protocol::SubscriptionData& subscription,
                  std::vector<protocol::MessageExt>* messages);

// Sends the pull and waits for the answer. May yield.
Result<PullResult> Pull(ClientInstance& instance, const PullArgs& args);

// Cancels the pulls made with PullCancellable under it. Copies share one state.
class PullCanceller {
 public:
  PullCanceller();
  // Every later pull fails at once with kCancelled; a pull in flight now ends with kCancelled
  // when its exchange ends, whatever it got. Does not wake the pulls in flight.
  void Cancel();
  bool cancelled() const;
  // The pulls inside PullCancellable now.
  size_t in_flight() const;

 private:
  friend Result<PullResult> PullCancellable(std::shared_ptr<ClientInstance>, const PullArgs&,
                                            const PullCanceller&);
  struct State;
  std::shared_ptr<State> state_;
};
// Pull() on the caller's fiber, under `canceller`: kCancelled at once when it is cancelled
// already, and kCancelled when it was cancelled while the exchange was in flight (the answer is
// dropped). No fiber of its own: Cancel() does not wake the caller, whose long poll goes on until
// the broker answers it, its timeout passes or the instance closes its connections. Holds
// `instance` meanwhile, so a caller that stopped waiting for it (PushConsumer::Shutdown) may
// leave it running, provided the caller then touches only what it holds itself. May yield.
Result<PullResult> PullCancellable(std::shared_ptr<ClientInstance> instance, const PullArgs& args,
                                   const PullCanceller& canceller);

}  // namespace apogee::client
