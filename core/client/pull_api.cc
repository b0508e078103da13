#include "core/client/pull_api.h"

#include <fmt/format.h>

#include "core/base/log.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"

namespace apogee::client {

namespace req = protocol::request;
namespace rsp = protocol::response;
namespace prop = protocol::property;

std::string_view ToString(PullStatus status) {
  switch (status) {
    case PullStatus::kFound:
      return "FOUND";
    case PullStatus::kNoNewMsg:
      return "NO_NEW_MSG";
    case PullStatus::kNoMatchedMsg:
      return "NO_MATCHED_MSG";
    case PullStatus::kOffsetIllegal:
      return "OFFSET_ILLEGAL";
  }
  return "?";
}

RemotingCommand MakePullRequest(const PullArgs& args) {
  protocol::PullMessageRequestHeader h;
  h.consumer_group = args.group;
  h.topic = args.mq.topic;
  h.queue_id = args.mq.queue_id;
  h.queue_offset = args.offset;
  h.max_msg_nums = args.max_nums;
  h.sys_flag = args.sys_flag;
  h.commit_offset = args.commit_offset;
  h.suspend_timeout_millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(args.suspend).count();
  if ((args.sys_flag & protocol::kPullFlagSubscription) != 0) {
    h.subscription = args.subscription.sub_string;
  }
  h.sub_version = args.subscription.sub_version;
  h.expression_type = args.subscription.expression_type;
  protocol::ExtFields f;
  h.Encode(f);
  return protocol::MakeRequest(req::kPullMessage, std::move(f));
}

void FilterByTags(const protocol::SubscriptionData& subscription,
                  std::vector<protocol::MessageExt>* messages) {
  if (subscription.tags_set.empty() || subscription.sub_string == protocol::kSubscribeAll) return;
  std::erase_if(*messages, [&](const protocol::MessageExt& m) {
    return !subscription.tags_set.contains(m.Tags());
  });
}

Result<PullResult> ProcessPullResponse(const RemotingCommand& response,
                                       const protocol::SubscriptionData& subscription) {
  PullResult result;
  switch (response.code) {
    case rsp::kSuccess:
      result.status = PullStatus::kFound;
      break;
    case rsp::kPullNotFound:
      result.status = PullStatus::kNoNewMsg;
      break;
    case rsp::kPullRetryImmediately:
      result.status = PullStatus::kNoMatchedMsg;
      break;
    case rsp::kPullOffsetMoved:
      result.status = PullStatus::kOffsetIllegal;
      break;
    default:
      return ResponseError(response, "PULL_MESSAGE");
  }
  APOGEE_ASSIGN_OR_RETURN(protocol::PullMessageResponseHeader h,
                          protocol::PullMessageResponseHeader::Decode(response.ext_fields));
  result.next_begin_offset = h.next_begin_offset;
  result.min_offset = h.min_offset;
  result.max_offset = h.max_offset;
  if (result.status == PullStatus::kFound) {
    APOGEE_ASSIGN_OR_RETURN(result.messages, protocol::DecodeMessages(response.body));
    FilterByTags(subscription, &result.messages);
    const std::string min_offset = std::to_string(h.min_offset);
    const std::string max_offset = std::to_string(h.max_offset);
    for (protocol::MessageExt& m : result.messages) {
      m.SetProperty(prop::kMinOffset, min_offset);
      m.SetProperty(prop::kMaxOffset, max_offset);
    }
  }
  return result;
}

Result<PullResult> Pull(ClientInstance& instance, const PullArgs& args) {
  APOGEE_ASSIGN_OR_RETURN(std::string addr,
                          instance.MasterAddressOrRefresh(args.mq.broker_name, args.mq.topic));
  APOGEE_ASSIGN_OR_RETURN(RemotingCommand r,
                          instance.Invoke(addr, MakePullRequest(args), args.timeout));
  return ProcessPullResponse(r, args.subscription);
}

// --- Cancellable pulls ---

struct PullCanceller::State {
  bool cancelled = false;
  size_t in_flight = 0;  // pulls inside PullCancellable
};

PullCanceller::PullCanceller() : state_(std::make_shared<State>()) {}

void PullCanceller::Cancel() { state_->cancelled = true; }

bool PullCanceller::cancelled() const { return state_->cancelled; }

size_t PullCanceller::in_flight() const { return state_->in_flight; }

Result<PullResult> PullCancellable(std::shared_ptr<ClientInstance> instance, const PullArgs& args,
                                   const PullCanceller& canceller) {
  APOGEE_ASSERT(instance != nullptr);
  // Held here: the canceller's owner may be gone by the time the exchange ends.
  std::shared_ptr<PullCanceller::State> state = canceller.state_;
  if (state->cancelled) return Status(ErrorCode::kCancelled, "pull cancelled");
  state->in_flight++;
  // Leaves the count however the exchange ends, a kill included.
  struct Leave {
    PullCanceller::State& state;
    ~Leave() {
      APOGEE_ASSERT(state.in_flight > 0);
      state.in_flight--;
    }
  } leave{*state};
  Result<PullResult> r = Pull(*instance, args);  // may yield
  if (state->cancelled) return Status(ErrorCode::kCancelled, "pull cancelled");
  return r;
}

}  // namespace apogee::client
