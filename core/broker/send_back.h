#pragma once

// CONSUMER_SEND_MSG_BACK (code 36): a consumer gives a message back because it failed to consume
// it; the broker stores a copy for the group to retry later, or parks it in the group's dead
// letter queue (RocketMQ's SendMessageProcessor.consumerSendMsgBack).
//
//   1. The retry topic %RETRY%{group} is ensured (1 queue, read and write).
//   2. The original is read at header.offset (a commit log offset); none there: SYSTEM_ERROR.
//   3. reconsumeTimes = the original's + 1. The limit is header.maxReconsumeTimes when given
//      (clients since 3.4.9 send it), else the broker's max_reconsume_times (16).
//   4. header.delayLevel < 0, or reconsumeTimes > the limit: into %DLQ%{group} queue 0 (ensured
//      with 1 queue, write-only as RocketMQ's PermName.PERM_WRITE: nobody consumes a DLQ until an
//      operator changes it). Otherwise into %RETRY%{group} queue 0 with DELAY = delayLevel, or
//      3 + the original's reconsume times when delayLevel is 0 (10 s, 30 s, 1 m, ... as RocketMQ),
//      through PrepareDelay, so the copy waits in SCHEDULE_TOPIC_XXXX.
//   5. The copy keeps body, flag, sysFlag, born timestamp and host and every property (TAGS, KEYS,
//      UNIQ_KEY, ...) and gets RETRY_TOPIC = the original topic (unless already set or the topic
//      is itself a retry topic), ORIGIN_MESSAGE_ID (the original's own, else header.originMsgId,
//      else its UNIQ_KEY, else its offsetMsgId), RECONSUME_TIME and MAX_RECONSUME_TIMES, and the
//      record's reconsume times field.
//
// Answers: SUCCESS, or SYSTEM_ERROR with a remark (no record at the offset, a topic that could
// not be ensured, a failed put named by its PutStatus), as RocketMQ answers.
//
// Durability: RocketMQ stores the copy with WAIT=false. Apogee removes WAIT instead, so under
// SYNC_FLUSH the answer SUCCESS means the copy is durable: the consumer then moves past the
// original, and a crash must not lose the retry.
//
// Not checked here (the broker does, before calling): the subscription group's existence and
// retry settings, and the broker's own write permission.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/base/status.h"
#include "core/broker/delay_levels.h"
#include "core/protocol/headers.h"
#include "core/store/message_store.h"

namespace apogee::broker {

// Makes sure a topic exists (creating it with `queue_nums` queues and `perm` if not). May yield.
using EnsureTopicFn =
    std::function<Status(const std::string& topic, int32_t queue_nums, int32_t perm)>;

struct SendBackContext {
  store::MessageStore& store;
  const DelayLevels& levels;
  EnsureTopicFn ensure_topic;
  int32_t max_reconsume_times = 16;  // BrokerConfig::max_reconsume_times
};

struct SendBackResult {
  int32_t code = 0;  // protocol::response
  std::string remark;
  // On SUCCESS: where the copy went (%RETRY%{group} or %DLQ%{group}), its delay level (0 for the
  // DLQ) and the store's answer (its offsets are in SCHEDULE_TOPIC_XXXX for a retry).
  std::string topic;
  int32_t delay_level = 0;
  int32_t reconsume_times = 0;
  store::PutResult put;
};

std::string RetryTopicOf(std::string_view group);
std::string DlqTopicOf(std::string_view group);
bool IsRetryTopic(std::string_view topic);

// Handles one CONSUMER_SEND_MSG_BACK. May yield.
SendBackResult HandleSendBack(const SendBackContext& context,
                              const protocol::ConsumerSendMsgBackRequestHeader& header);

}  // namespace apogee::broker
