#include "core/broker/broker_config_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "core/base/properties_file.h"

namespace apogee::broker {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();  // a Java int key's largest
// Durations in milliseconds or hours stop at 100 years, far from overflowing nanoseconds.
constexpr int64_t kMillisMax = int64_t{100} * 365 * 24 * 3600 * 1000;
constexpr int64_t kHoursMax = int64_t{100} * 365 * 24;
constexpr size_t kDelayLevelsMax = 256;
constexpr int kNoLine = std::numeric_limits<int>::max();  // sorts warnings without a line last

enum class Role { kAsyncMaster, kSyncMaster, kSlave };

// What one load carries from key to key: the config, its warnings, and what the checks after
// the last key need.
struct Load {
  BrokerConfig c;
  std::vector<std::pair<int, std::string>> warnings;  // (line, text)
  Role role = Role::kAsyncMaster;
  const PropertyEntry* commit_log_path = nullptr;
  const PropertyEntry* broker_id = nullptr;

  void Warn(const PropertyEntry& e, std::string text) {
    warnings.emplace_back(e.line, fmt::format("line {}: {}", e.line, text));
  }
};

Result<std::string> NonEmpty(const PropertyEntry& e) {
  if (e.value.empty()) return BadPropertyValue(e, "must not be empty");
  return e.value;
}

Result<Duration> Millis(const PropertyEntry& e, int64_t min = 1, int64_t max = kMillisMax) {
  APOGEE_ASSIGN_OR_RETURN(int64_t ms, PropertyInt(e, min, max));
  return Duration(milliseconds(ms));
}

// "a.b.c.d", each part 0..255 in decimal, as a host-order word (127.0.0.1 is 0x7F000001).
std::optional<uint32_t> ParseIpv4(std::string_view s) {
  uint32_t out = 0;
  for (int part = 0; part < 4; ++part) {
    size_t digits = 0;
    uint32_t v = 0;
    while (digits < s.size() && digits < 4 && s[digits] >= '0' && s[digits] <= '9') {
      v = v * 10 + static_cast<uint32_t>(s[digits] - '0');
      ++digits;
    }
    if (digits == 0 || digits > 3 || v > 255) return std::nullopt;
    out = (out << 8) | v;
    s.remove_prefix(digits);
    if (part < 3) {
      if (s.empty() || s.front() != '.') return std::nullopt;
      s.remove_prefix(1);
    }
  }
  if (!s.empty()) return std::nullopt;
  return out;
}

// Blank-separated "<n><unit>" tokens, unit s, m, h or d, as RocketMQ's delay levels.
Status CheckDelayLevels(const PropertyEntry& e) {
  size_t levels = 0;
  size_t pos = 0;
  const std::string& s = e.value;
  while (pos < s.size()) {
    if (s[pos] == ' ' || s[pos] == '\t') {
      ++pos;
      continue;
    }
    size_t end = s.find_first_of(" \t", pos);
    if (end == std::string::npos) end = s.size();
    std::string_view token(s.data() + pos, end - pos);
    pos = end;
    char unit = token.back();
    token.remove_suffix(1);
    bool digits =
        !token.empty() && token.size() <= 9 &&
        std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || (unit != 's' && unit != 'm' && unit != 'h' && unit != 'd')) {
      return BadPropertyValue(
          e, fmt::format("level {} is not a number with unit s, m, h or d", levels + 1));
    }
    if (++levels > kDelayLevelsMax) {
      return BadPropertyValue(e, fmt::format("more than {} levels", kDelayLevelsMax));
    }
  }
  if (levels == 0) return BadPropertyValue(e, "no levels");
  return Status::Ok();
}

// "04" or "04;16": hours of the day.
Status ApplyDeleteWhen(const PropertyEntry& e, Load& x) {
  std::vector<int> hours_list;
  size_t pos = 0;
  while (pos <= e.value.size()) {
    size_t end = std::min(e.value.find(';', pos), e.value.size());
    std::string_view token(e.value.data() + pos, end - pos);
    pos = end + 1;
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (token.empty()) continue;
    PropertyEntry part{e.key, std::string(token), e.line};
    Result<int64_t> hour = PropertyInt(part, 0, 23);
    if (!hour.ok()) return BadPropertyValue(e, fmt::format("'{}' is not an hour 00..23", token));
    hours_list.push_back(static_cast<int>(*hour));
  }
  if (hours_list.empty()) return BadPropertyValue(e, "expected an hour 00..23");
  x.c.store.delete_when_hour = hours_list.front();
  if (hours_list.size() > 1) {
    x.Warn(e, fmt::format("deleteWhen '{}': Apogee deletes at one hour a day; using {:02}", e.value,
                          hours_list.front()));
  }
  x.Warn(e,
         fmt::format("deleteWhen hour {:02} is read as UTC (RocketMQ uses the host's local time)",
                     hours_list.front()));
  return Status::Ok();
}

Status ApplyRatio(const PropertyEntry& e, Load& x) {
  APOGEE_ASSIGN_OR_RETURN(int64_t percent, PropertyInt(e, -kIntMax, kIntMax));
  // RocketMQ's getter keeps the ratio within 10..95.
  int64_t kept = std::clamp<int64_t>(percent, 10, 95);
  if (kept != percent)
    x.Warn(e, fmt::format("diskMaxUsedSpaceRatio {} taken as {}", percent, kept));
  x.c.store.disk_clean_ratio = static_cast<double>(kept) / 100.0;
  return Status::Ok();
}

Status ApplyRole(const PropertyEntry& e, Load& x) {
  if (e.value == "ASYNC_MASTER") {
    x.role = Role::kAsyncMaster;
  } else if (e.value == "SYNC_MASTER") {
    x.role = Role::kSyncMaster;
    x.Warn(e, "brokerRole SYNC_MASTER: Apogee has no slaves to wait for; it acts as ASYNC_MASTER");
  } else if (e.value == "SLAVE") {
    x.role = Role::kSlave;
    x.Warn(e, "brokerRole SLAVE ignored (not supported): Apogee serves as a master");
  } else {
    return BadPropertyValue(e, "expected ASYNC_MASTER, SYNC_MASTER or SLAVE");
  }
  return Status::Ok();
}

Status ApplyBrokerIp(const PropertyEntry& e, Load& x) {
  APOGEE_ASSIGN_OR_RETURN(x.c.announce_host, NonEmpty(e));
  if (std::optional<uint32_t> ip = ParseIpv4(e.value)) {
    x.c.store.store_ipv4 = *ip;
  } else {
    x.Warn(e, fmt::format("brokerIP1 '{}' is not an IPv4 address: messages keep the store host "
                          "{}.{}.{}.{}",
                          e.value, x.c.store.store_ipv4 >> 24, (x.c.store.store_ipv4 >> 16) & 255,
                          (x.c.store.store_ipv4 >> 8) & 255, x.c.store.store_ipv4 & 255));
  }
  return Status::Ok();
}

using Apply = Status (*)(const PropertyEntry&, Load&);

struct MappedKey {
  std::string_view key;
  Apply apply;
};

// Sets `field` from a duration key in milliseconds.
#define APOGEE_MS_KEY(name, field)                        \
  {                                                       \
    name, [](const PropertyEntry& e, Load& x) -> Status { \
      APOGEE_ASSIGN_OR_RETURN(x.c.field, Millis(e));      \
      return Status::Ok();                                \
    }                                                     \
  }
// Sets integer `field` from a key within [min, max].
#define APOGEE_INT_KEY(name, field, min, max)                       \
  {                                                                 \
    name, [](const PropertyEntry& e, Load& x) -> Status {           \
      APOGEE_ASSIGN_OR_RETURN(int64_t v, PropertyInt(e, min, max)); \
      x.c.field = static_cast<decltype(x.c.field)>(v);              \
      return Status::Ok();                                          \
    }                                                               \
  }
#define APOGEE_BOOL_KEY(name, field)                       \
  {                                                        \
    name, [](const PropertyEntry& e, Load& x) -> Status {  \
      APOGEE_ASSIGN_OR_RETURN(x.c.field, PropertyBool(e)); \
      return Status::Ok();                                 \
    }                                                      \
  }

Status SetSegmentBytes(const PropertyEntry& e, Load& x) {
  APOGEE_ASSIGN_OR_RETURN(int64_t v, PropertyInt(e, 1, kIntMax));
  x.c.store.segment_bytes = static_cast<uint64_t>(v);
  return Status::Ok();
}

Status SetCqFileBytes(const PropertyEntry& e, Load& x) {
  // Bytes of a consume-queue file, 20 per entry, rounded up to whole entries as RocketMQ does.
  APOGEE_ASSIGN_OR_RETURN(int64_t v, PropertyInt(e, 1, kIntMax));
  x.c.store.cq_entries_per_file = static_cast<uint32_t>((v + 19) / 20);
  return Status::Ok();
}

// The keys Apogee maps onto BrokerConfig, with their units and checks.
const MappedKey kMappedKeys[] = {
    {"brokerClusterName",
     [](const PropertyEntry& e, Load& x) -> Status {
       APOGEE_ASSIGN_OR_RETURN(x.c.cluster_name, NonEmpty(e));
       return Status::Ok();
     }},
    {"brokerName",
     [](const PropertyEntry& e, Load& x) -> Status {
       APOGEE_ASSIGN_OR_RETURN(x.c.broker_name, NonEmpty(e));
       return Status::Ok();
     }},
    {"brokerId",
     [](const PropertyEntry& e, Load& x) -> Status {
       APOGEE_ASSIGN_OR_RETURN(x.c.broker_id,
                               PropertyInt(e, 0, std::numeric_limits<int64_t>::max()));
       x.broker_id = &e;
       return Status::Ok();
     }},
    {"brokerIP1", ApplyBrokerIp},
    {"listenPort",
     [](const PropertyEntry& e, Load& x) -> Status {
       APOGEE_ASSIGN_OR_RETURN(int64_t port, PropertyInt(e, 1, 65535));
       x.c.listen.port = static_cast<uint16_t>(port);
       x.c.store.store_port = static_cast<int32_t>(port);
       return Status::Ok();
     }},
    {"namesrvAddr",
     [](const PropertyEntry& e, Load& x) -> Status {
       Result<std::vector<io::Address>> list = ParseNamesrvAddrList(e.value);
       if (!list.ok()) return BadPropertyValue(e, list.status().message());
       x.c.namesrv_addrs = std::move(list).value();
       return Status::Ok();
     }},
    {"storePathRootDir",
     [](const PropertyEntry& e, Load& x) -> Status {
       APOGEE_ASSIGN_OR_RETURN(x.c.store_root, NonEmpty(e));
       return Status::Ok();
     }},
    {"storePathCommitLog",
     [](const PropertyEntry& e, Load& x) -> Status {
       APOGEE_RETURN_IF_ERROR(NonEmpty(e).status());
       x.commit_log_path = &e;  // checked against storePathRootDir after the last key
       return Status::Ok();
     }},
    {"flushDiskType",
     [](const PropertyEntry& e, Load& x) -> Status {
       if (e.value == "ASYNC_FLUSH") {
         x.c.store.flush_type = store::FlushType::kAsync;
       } else if (e.value == "SYNC_FLUSH") {
         x.c.store.flush_type = store::FlushType::kSync;
       } else {
         return BadPropertyValue(e, "expected ASYNC_FLUSH or SYNC_FLUSH");
       }
       return Status::Ok();
     }},
    {"brokerRole", ApplyRole},
    APOGEE_BOOL_KEY("autoCreateTopicEnable", auto_create_topic),
    APOGEE_BOOL_KEY("autoCreateSubscriptionGroup", auto_create_subscription_group),
    APOGEE_INT_KEY("defaultTopicQueueNums", default_topic_queue_nums, 1, kIntMax),
    // PermName: PRIORITY 8, READ 4, WRITE 2, INHERIT 1.
    APOGEE_INT_KEY("brokerPermission", broker_permission, 0, 15),
    {"deleteWhen", ApplyDeleteWhen},
    {"fileReservedTime",
     [](const PropertyEntry& e, Load& x) -> Status {
       APOGEE_ASSIGN_OR_RETURN(int64_t h, PropertyInt(e, 0, kHoursMax));
       x.c.store.file_reserved_time = hours(h);
       return Status::Ok();
     }},
    {"mappedFileSizeCommitLog", SetSegmentBytes},
    {"mapedFileSizeCommitLog", SetSegmentBytes},  // the 4.x spelling before the rename
    {"mappedFileSizeConsumeQueue", SetCqFileBytes},
    {"mapedFileSizeConsumeQueue", SetCqFileBytes},
    APOGEE_INT_KEY("maxMessageSize", store.message_bytes_max, 1, kIntMax),
    APOGEE_MS_KEY("flushIntervalCommitLog", store.async_flush_interval),
    APOGEE_MS_KEY("flushIntervalConsumeQueue", store.cq_flush_interval),
    APOGEE_MS_KEY("syncFlushTimeout", store.sync_flush_timeout),
    APOGEE_MS_KEY("cleanResourceInterval", store.clean_interval),
    {"diskMaxUsedSpaceRatio", ApplyRatio},
    APOGEE_INT_KEY("maxHashSlotNum", store.index_slots, 1, kIntMax),
    APOGEE_INT_KEY("maxIndexNum", store.index_entries_max, 1, kIntMax),
    {"messageDelayLevel",
     [](const PropertyEntry& e, Load& x) -> Status {
       APOGEE_RETURN_IF_ERROR(CheckDelayLevels(e));
       x.c.message_delay_level = e.value;
       return Status::Ok();
     }},
    APOGEE_BOOL_KEY("longPollingEnable", long_polling),
    {"registerNameServerPeriod",
     [](const PropertyEntry& e, Load& x) -> Status {
       APOGEE_ASSIGN_OR_RETURN(int64_t ms, PropertyInt(e, 0, kIntMax));
       // The broker controller keeps the period within 10..60 s.
       int64_t kept = std::clamp<int64_t>(ms, 10'000, 60'000);
       if (kept != ms) x.Warn(e, fmt::format("registerNameServerPeriod {} taken as {}", ms, kept));
       x.c.register_period = milliseconds(kept);
       return Status::Ok();
     }},
    APOGEE_MS_KEY("registerBrokerTimeoutMills", register_timeout),
    APOGEE_MS_KEY("rebalanceLockMaxLiveTime", lock_expiry),
    APOGEE_MS_KEY("flushConsumerOffsetInterval", offset_flush_interval),
    APOGEE_MS_KEY("channelExpiredTimeout", client_expiry),
    APOGEE_INT_KEY("maxTransferBytesOnMessageInMemory", pull_bytes_max, 1, kIntMax),
    APOGEE_INT_KEY("maxTransferCountOnMessageInMemory", pull_messages_max, 1, kIntMax),
    APOGEE_MS_KEY("transactionTimeOut", transaction_timeout),
    APOGEE_MS_KEY("transactionCheckInterval", transaction_check_interval),
    APOGEE_INT_KEY("transactionCheckMax", transaction_check_max, 0, kIntMax),
    APOGEE_BOOL_KEY("rejectTransactionMessage", reject_transaction_message),
};

#undef APOGEE_MS_KEY
#undef APOGEE_INT_KEY
#undef APOGEE_BOOL_KEY

// Keys of RocketMQ 4.x's BrokerConfig, MessageStoreConfig, NettyServerConfig and
// NettyClientConfig (and a few of 5.x) that Apogee reads but does not act on. The last four
// store paths have no setter in RocketMQ either; they are in many copied broker.conf templates.
constexpr std::string_view kUnsupportedKeys[] = {
    // BrokerConfig.
    "rocketmqHome", "brokerIP2", "clusterTopicEnable", "brokerTopicEnable", "messageStorePlugIn",
    "msgTraceTopicName", "traceTopicEnable", "sendMessageThreadPoolNums",
    "pullMessageThreadPoolNums", "processReplyMessageThreadPoolNums", "queryMessageThreadPoolNums",
    "adminBrokerThreadPoolNums", "clientManageThreadPoolNums", "consumerManageThreadPoolNums",
    "heartbeatThreadPoolNums", "endTransactionThreadPoolNums", "flushConsumerOffsetHistoryInterval",
    "fetchNamesrvAddrByAddressServer", "sendThreadPoolQueueCapacity", "pullThreadPoolQueueCapacity",
    "replyThreadPoolQueueCapacity", "queryThreadPoolQueueCapacity",
    "clientManagerThreadPoolQueueCapacity", "consumerManagerThreadPoolQueueCapacity",
    "heartbeatThreadPoolQueueCapacity", "endTransactionPoolQueueCapacity", "filterServerNums",
    "shortPollingTimeMills", "notifyConsumerIdsChangedEnable", "highSpeedMode", "commercialEnable",
    "commercialTimerCount", "commercialTransCount", "commercialBigCount", "commercialBaseCount",
    "transferMsgByHeap", "maxDelayTime", "regionId", "slaveReadEnable",
    "disableConsumeIfConsumerReadSlowly", "consumerFallbehindThreshold", "brokerFastFailureEnable",
    "waitTimeMillsInSendQueue", "waitTimeMillsInPullQueue", "waitTimeMillsInHeartbeatQueue",
    "waitTimeMillsInTransactionQueue", "startAcceptSendRequestTimeStamp", "traceOn",
    "enableCalcFilterBitMap", "expectConsumerNumUseFilter", "maxErrorRateOfBloomFilter",
    "filterDataCleanTimeSpan", "filterSupportRetry", "enablePropertyFilter", "compressedRegister",
    "forceRegister", "storeReplyMessageEnable", "autoDeleteUnusedStats", "aclEnable",
    "rmqAddressServerDomain", "rmqAddressServerSubGroup",
    // MessageStoreConfig.
    "enableConsumeQueueExt", "mappedFileSizeConsumeQueueExt", "bitMapLengthConsumeQueueExt",
    "commitIntervalCommitLog", "useReentrantLockWhenPutMessage", "flushCommitLogTimed",
    "deleteCommitLogFilesInterval", "deleteConsumeQueueFilesInterval",
    "destroyMapedFileIntervalForcibly", "redeleteHangedFileInterval", "putMsgIndexHightWater",
    "checkCRCOnRecover", "flushCommitLogLeastPages", "commitCommitLogLeastPages",
    "flushLeastPagesWhenWarmMapedFile", "flushConsumeQueueLeastPages",
    "flushCommitLogThoroughInterval", "commitCommitLogThoroughInterval",
    "flushConsumeQueueThoroughInterval", "maxTransferBytesOnMessageInDisk",
    "maxTransferCountOnMessageInDisk", "accessMessageInMemoryMaxRatio", "messageIndexEnable",
    "maxMsgsNumBatch", "messageIndexSafe", "haListenPort", "haSendHeartbeatInterval",
    "haHousekeepingInterval", "haTransferBatchSize", "haMasterAddress", "haSlaveFallbehindMax",
    "flushDelayOffsetInterval", "cleanFileForciblyEnable", "warmMapedFileEnable",
    "offsetCheckInSlave", "debugLockEnable", "duplicationEnable", "diskFallRecorded",
    "osPageCacheBusyTimeOutMills", "defaultQueryMaxNum", "transientStorePoolEnable",
    "transientStorePoolSize", "fastFailIfNoBufferInStorePool", "enableDLegerCommitLog",
    "dLegerGroup", "dLegerPeers", "dLegerSelfId", "preferredLeaderId", "isEnableBatchPush",
    "enableScheduleMessageStats", "storePathConsumeQueue", "storePathIndex", "storeCheckpoint",
    "abortFile",
    // NettyServerConfig (listenPort is mapped) and NettyClientConfig.
    "serverWorkerThreads", "serverCallbackExecutorThreads", "serverSelectorThreads",
    "serverOnewaySemaphoreValue", "serverAsyncSemaphoreValue", "serverChannelMaxIdleTimeSeconds",
    "serverSocketSndBufSize", "serverSocketRcvBufSize", "serverPooledByteBufAllocatorEnable",
    "useEpollNativeSelector", "clientWorkerThreads", "clientCallbackExecutorThreads",
    "clientOnewaySemaphoreValue", "clientAsyncSemaphoreValue", "connectTimeoutMillis",
    "channelNotActiveInterval", "clientChannelMaxIdleTimeSeconds", "clientSocketSndBufSize",
    "clientSocketRcvBufSize", "clientPooledByteBufAllocatorEnable", "clientCloseSocketIfTimeout",
    "useTLS"};

const MappedKey* FindMapped(std::string_view key) {
  for (const MappedKey& m : kMappedKeys) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

bool IsUnsupported(std::string_view key) {
  return std::find(std::begin(kUnsupportedKeys), std::end(kUnsupportedKeys), key) !=
         std::end(kUnsupportedKeys);
}

std::string WithoutTrailingSlashes(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::string CommitLogDir(const BrokerConfig& c) {
  return WithoutTrailingSlashes(c.store_root) + "/commitlog";
}

// The checks that span keys, after the last one was applied.
Status Finish(Load& x) {
  if (x.commit_log_path != nullptr) {
    const PropertyEntry& e = *x.commit_log_path;
    if (WithoutTrailingSlashes(e.value) != CommitLogDir(x.c)) {
      x.Warn(e, fmt::format("storePathCommitLog '{}' ignored (not supported): Apogee keeps the "
                            "commit log in storePathRootDir, at '{}'",
                            e.value, CommitLogDir(x.c)));
    }
  }
  if (x.role == Role::kSlave) {
    // As in mqbroker, a slave keeps its brokerId, which must not be the master's.
    if (x.c.broker_id <= 0) {
      return Status(ErrorCode::kInvalidArgument, "brokerRole SLAVE needs a brokerId above 0");
    }
    return Status::Ok();
  }
  if (x.c.broker_id != 0) {
    std::string text =
        fmt::format("brokerId {} taken as 0: a master's brokerId is 0", x.c.broker_id);
    if (x.broker_id != nullptr) {
      x.Warn(*x.broker_id, text);
    } else {
      x.warnings.emplace_back(kNoLine, text);
    }
    x.c.broker_id = 0;
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<io::Address>> ParseNamesrvAddrList(std::string_view text) {
  std::vector<io::Address> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = std::min(text.find(';', pos), text.size());
    std::string_view entry = text.substr(pos, end - pos);
    pos = end + 1;
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
      entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
    if (entry.empty()) continue;
    APOGEE_ASSIGN_OR_RETURN(io::Address addr, io::Address::Parse(entry));
    if (addr.host.empty() || addr.port == 0) {
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("address '{}' is not host:port", entry));
    }
    out.push_back(std::move(addr));
  }
  return out;
}

Result<BrokerConfigLoad> ParseBrokerConfig(std::string_view text, BrokerConfig base) {
  APOGEE_ASSIGN_OR_RETURN(Properties props, ParseProperties(text));
  Load x;
  x.c = std::move(base);
  for (const PropertyDuplicate& d : props.duplicates) {
    x.warnings.emplace_back(d.line, fmt::format("line {}: '{}' set again, replacing line {}",
                                                d.line, d.key, d.earlier_line));
  }
  for (const PropertyEntry& e : props.entries) {
    if (const MappedKey* m = FindMapped(e.key)) {
      APOGEE_RETURN_IF_ERROR(m->apply(e, x));
    } else if (IsUnsupported(e.key)) {
      x.Warn(e, fmt::format("key '{}' ignored (not supported)", e.key));
    } else {
      x.Warn(e, fmt::format("unknown key '{}' ignored", e.key));
    }
  }
  APOGEE_RETURN_IF_ERROR(Finish(x));
  std::stable_sort(x.warnings.begin(), x.warnings.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  BrokerConfigLoad out{std::move(x.c), {}};
  for (auto& [line, warning] : x.warnings) out.warnings.push_back(std::move(warning));
  return out;
}

Result<BrokerConfigLoad> LoadBrokerConfig(const BrokerCommandLine& cl, std::string_view file_text,
                                          BrokerConfig base) {
  APOGEE_ASSIGN_OR_RETURN(BrokerConfigLoad load, ParseBrokerConfig(file_text, std::move(base)));
  if (cl.namesrv_addr) {
    Result<std::vector<io::Address>> list = ParseNamesrvAddrList(*cl.namesrv_addr);
    if (!list.ok()) {
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("-n '{}': {}", *cl.namesrv_addr, list.status().message()));
    }
    load.config.namesrv_addrs = std::move(list).value();
  }
  return load;
}

std::string RenderBrokerConfig(const BrokerConfig& c, bool important_only) {
  auto ms = [](Duration d) {
    return fmt::format("{}", std::chrono::duration_cast<milliseconds>(d).count());
  };
  std::string namesrv;
  for (const io::Address& a : c.namesrv_addrs) {
    if (!namesrv.empty()) namesrv += ';';
    namesrv += a.ToString();
  }
  const store::StoreConfig& s = c.store;
  // (key, value, important): mqbroker -m prints the important ones.
  const std::tuple<std::string_view, std::string, bool> lines[] = {
      {"brokerClusterName", c.cluster_name, true},
      {"brokerName", c.broker_name, true},
      {"brokerId", fmt::format("{}", c.broker_id), true},
      {"brokerIP1", c.announce_host, true},
      {"listenPort", fmt::format("{}", c.listen.port), true},
      {"namesrvAddr", namesrv, true},
      {"storePathRootDir", c.store_root, true},
      {"storePathCommitLog", CommitLogDir(c), true},
      {"brokerRole", "ASYNC_MASTER", true},
      {"flushDiskType", s.flush_type == store::FlushType::kSync ? "SYNC_FLUSH" : "ASYNC_FLUSH",
       true},
      {"autoCreateTopicEnable", c.auto_create_topic ? "true" : "false", true},
      {"autoCreateSubscriptionGroup", c.auto_create_subscription_group ? "true" : "false", true},
      {"defaultTopicQueueNums", fmt::format("{}", c.default_topic_queue_nums), false},
      {"brokerPermission", fmt::format("{}", c.broker_permission), false},
      {"deleteWhen", fmt::format("{:02}", s.delete_when_hour), true},
      {"fileReservedTime",
       fmt::format("{}", std::chrono::duration_cast<hours>(s.file_reserved_time).count()), true},
      {"mappedFileSizeCommitLog", fmt::format("{}", s.segment_bytes), false},
      {"mappedFileSizeConsumeQueue", fmt::format("{}", uint64_t{s.cq_entries_per_file} * 20),
       false},
      {"maxMessageSize", fmt::format("{}", s.message_bytes_max), false},
      {"flushIntervalCommitLog", ms(s.async_flush_interval), true},
      {"flushIntervalConsumeQueue", ms(s.cq_flush_interval), false},
      {"syncFlushTimeout", ms(s.sync_flush_timeout), false},
      {"cleanResourceInterval", ms(s.clean_interval), false},
      {"diskMaxUsedSpaceRatio",
       fmt::format("{}", static_cast<int64_t>(s.disk_clean_ratio * 100.0 + 0.5)), false},
      {"maxHashSlotNum", fmt::format("{}", s.index_slots), false},
      {"maxIndexNum", fmt::format("{}", s.index_entries_max), false},
      {"messageDelayLevel", c.message_delay_level, false},
      {"longPollingEnable", c.long_polling ? "true" : "false", false},
      {"registerNameServerPeriod", ms(c.register_period), false},
      {"registerBrokerTimeoutMills", ms(c.register_timeout), false},
      {"rebalanceLockMaxLiveTime", ms(c.lock_expiry), false},
      {"flushConsumerOffsetInterval", ms(c.offset_flush_interval), false},
      {"channelExpiredTimeout", ms(c.client_expiry), false},
      {"maxTransferBytesOnMessageInMemory", fmt::format("{}", c.pull_bytes_max), true},
      {"maxTransferCountOnMessageInMemory", fmt::format("{}", c.pull_messages_max), true},
      {"transactionTimeOut", ms(c.transaction_timeout), false},
      {"transactionCheckInterval", ms(c.transaction_check_interval), false},
      {"transactionCheckMax", fmt::format("{}", c.transaction_check_max), false},
      {"rejectTransactionMessage", c.reject_transaction_message ? "true" : "false", false},
  };
  std::string out;
  for (const auto& [key, value, important] : lines) {
    APOGEE_ASSERT(FindMapped(key) != nullptr, "rendered key {} is not read back", key);
    if (important_only && !important) continue;
    out += fmt::format("{}={}\n", key, EscapePropertyValue(value));
  }
  return out;
}

}  // namespace apogee::broker
