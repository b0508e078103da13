// Topic administration: UPDATE_AND_CREATE_TOPIC (17) and GET_ALL_TOPIC_CONFIG (21)
// (RocketMQ's AdminBrokerProcessor).

#include <fmt/format.h>

#include "core/broker/processors.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"

namespace apogee::broker {

namespace {
namespace response = protocol::response;
// Most queues a topic may be given by UPDATE_AND_CREATE_TOPIC (RocketMQ sets no limit; its own
// largest system topic has 1024).
constexpr int32_t kTopicQueueNumsMax = 1024;
}  // namespace

Response HandleUpdateAndCreateTopic(BrokerContext& ctx, const Connection&,
                                    const RemotingCommand& request) {
  auto h = protocol::CreateTopicRequestHeader::Decode(request.ext_fields);
  if (!h.ok()) return Reply(request, response::kSystemError, h.status().message());
  if (h->topic == ctx.config.cluster_name) {
    return Reply(request, response::kSystemError,
                 fmt::format("the topic[{}] is conflict with system reserved words.", h->topic));
  }
  if (Status s = ValidateTopicName(h->topic); !s.ok()) {
    return Reply(request, response::kSystemError, s.message());
  }
  for (int32_t n : {h->read_queue_nums, h->write_queue_nums}) {
    if (n < 0 || n > kTopicQueueNumsMax) {
      return Reply(request, response::kSystemError,
                   fmt::format("queue count {} of topic {} is outside [0, {}]", n, h->topic,
                               kTopicQueueNumsMax));
    }
  }
  protocol::TopicConfig config;
  config.topic_name = h->topic;
  config.read_queue_nums = h->read_queue_nums;
  config.write_queue_nums = h->write_queue_nums;
  config.perm = h->perm;
  config.topic_filter_type = h->topic_filter_type;
  config.topic_sys_flag = h->topic_sys_flag;
  config.order = h->order;
  Status s = ctx.topics->Update(config);  // may yield; registers again at once
  if (!s.ok()) {
    return Reply(
        request, response::kSystemError,
        fmt::format("topic {} is updated in memory but not persisted: {}", h->topic, s.ToString()));
  }
  return Reply(request, response::kSuccess);
}

Response HandleGetAllTopicConfig(BrokerContext& ctx, const Connection&,
                                 const RemotingCommand& request) {
  RemotingCommand reply = Reply(request, response::kSuccess);
  std::string json = ctx.topics->Snapshot().ToJson();
  reply.body.assign(json.begin(), json.end());
  return reply;
}

}  // namespace apogee::broker
