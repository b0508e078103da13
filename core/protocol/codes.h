#pragma once

// RocketMQ 4.x request and response codes (RequestCode.java, ResponseCode.java;
// /work/shared/rocketmq-protocol.md section 2). The system codes 0-3 live in
// core/remoting/remoting_connection.h.

#include <cstdint>

namespace apogee::protocol {

namespace request {
inline constexpr int32_t kSendMessage = 10;
inline constexpr int32_t kPullMessage = 11;
inline constexpr int32_t kQueryMessage = 12;
inline constexpr int32_t kQueryConsumerOffset = 14;
inline constexpr int32_t kUpdateConsumerOffset = 15;
inline constexpr int32_t kUpdateAndCreateTopic = 17;
inline constexpr int32_t kGetAllTopicConfig = 21;
inline constexpr int32_t kSearchOffsetByTimestamp = 29;
inline constexpr int32_t kGetMaxOffset = 30;
inline constexpr int32_t kGetMinOffset = 31;
inline constexpr int32_t kViewMessageById = 33;
inline constexpr int32_t kHeartBeat = 34;
inline constexpr int32_t kUnregisterClient = 35;
inline constexpr int32_t kConsumerSendMsgBack = 36;
inline constexpr int32_t kEndTransaction = 37;
inline constexpr int32_t kGetConsumerListByGroup = 38;
inline constexpr int32_t kCheckTransactionState = 39;
inline constexpr int32_t kNotifyConsumerIdsChanged = 40;
inline constexpr int32_t kLockBatchMq = 41;
inline constexpr int32_t kUnlockBatchMq = 42;
inline constexpr int32_t kRegisterBroker = 103;
inline constexpr int32_t kUnregisterBroker = 104;
inline constexpr int32_t kGetRouteInfoByTopic = 105;
inline constexpr int32_t kGetBrokerClusterInfo = 106;
inline constexpr int32_t kSendMessageV2 = 310;
inline constexpr int32_t kSendBatchMessage = 320;
}  // namespace request

namespace response {
inline constexpr int32_t kSuccess = 0;
inline constexpr int32_t kSystemError = 1;
inline constexpr int32_t kSystemBusy = 2;
inline constexpr int32_t kRequestCodeNotSupported = 3;
inline constexpr int32_t kFlushDiskTimeout = 10;
inline constexpr int32_t kSlaveNotAvailable = 11;
inline constexpr int32_t kFlushSlaveTimeout = 12;
inline constexpr int32_t kMessageIllegal = 13;
inline constexpr int32_t kServiceNotAvailable = 14;
inline constexpr int32_t kVersionNotSupported = 15;
inline constexpr int32_t kNoPermission = 16;
inline constexpr int32_t kTopicNotExist = 17;
inline constexpr int32_t kTopicExistAlready = 18;
inline constexpr int32_t kPullNotFound = 19;
inline constexpr int32_t kPullRetryImmediately = 20;
inline constexpr int32_t kPullOffsetMoved = 21;
inline constexpr int32_t kQueryNotFound = 22;
inline constexpr int32_t kSubscriptionParseFailed = 23;
inline constexpr int32_t kSubscriptionNotExist = 24;
inline constexpr int32_t kSubscriptionNotLatest = 25;
inline constexpr int32_t kSubscriptionGroupNotExist = 26;
inline constexpr int32_t kTransactionShouldCommit = 200;
inline constexpr int32_t kTransactionShouldRollback = 201;
inline constexpr int32_t kTransactionStateUnknow = 202;
inline constexpr int32_t kTransactionStateGroupWrong = 203;
inline constexpr int32_t kNoMessage = 208;
inline constexpr int32_t kFlowControl = 215;
}  // namespace response

// Topic permission bits (PermName.java).
inline constexpr int32_t kPermPriority = 1 << 3;
inline constexpr int32_t kPermRead = 1 << 2;
inline constexpr int32_t kPermWrite = 1 << 1;
inline constexpr int32_t kPermInherit = 1 << 0;
inline constexpr bool IsReadable(int32_t perm) { return (perm & kPermRead) != 0; }
inline constexpr bool IsWriteable(int32_t perm) { return (perm & kPermWrite) != 0; }

// PULL_MESSAGE sysFlag bits (PullSysFlag.java).
inline constexpr int32_t kPullFlagCommitOffset = 1 << 0;
inline constexpr int32_t kPullFlagSuspend = 1 << 1;
inline constexpr int32_t kPullFlagSubscription = 1 << 2;
inline constexpr int32_t kPullFlagClassFilter = 1 << 3;
inline constexpr int32_t kPullFlagLitePull = 1 << 4;

// Well-known topics and names.
inline constexpr char kDefaultTopic[] = "TBW102";  // template for auto-created topics
inline constexpr char kScheduleTopic[] = "SCHEDULE_TOPIC_XXXX";
inline constexpr char kRetryGroupTopicPrefix[] = "%RETRY%";
inline constexpr char kDlqGroupTopicPrefix[] = "%DLQ%";
inline constexpr char kDefaultCluster[] = "DefaultCluster";
inline constexpr int64_t kMasterId = 0;

}  // namespace apogee::protocol
