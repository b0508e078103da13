#pragma once

// BrokerConfig: every knob of a broker node, with RocketMQ 4.x's defaults (the broker.conf key
// in brackets). The store's own knobs are in `store` (core/store/store_config.h). The daemon
// fills it from a RocketMQ config file (core/broker/broker_config_file.h); tests and the
// simulator set fields directly.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/time.h"
#include "core/io/network.h"
#include "core/store/store_config.h"

namespace apogee::broker {

struct BrokerConfig {
  std::string cluster_name = "DefaultCluster";  // [brokerClusterName]
  std::string broker_name = "broker-a";         // [brokerName]
  int64_t broker_id = 0;                        // [brokerId] 0 = master
  // The address this broker announces to nameservers and writes into offsetMsgIds
  // [brokerIP1 + listenPort]. The listen address is `listen`.
  std::string announce_host = "127.0.0.1";  // [brokerIP1]
  io::Address listen{"0.0.0.0", 10911};     // [listenPort]
  std::vector<io::Address> namesrv_addrs;   // [namesrvAddr] "a:9876;b:9876"
  std::string store_root = "store";         // [storePathRootDir]

  // Topics.
  bool auto_create_topic = true;               // [autoCreateTopicEnable]
  int32_t default_topic_queue_nums = 8;        // [defaultTopicQueueNums]
  int32_t broker_permission = 6;               // [brokerPermission] READ|WRITE
  bool auto_create_subscription_group = true;  // [autoCreateSubscriptionGroup]

  // Registration with nameservers every 30 s [registerNameServerPeriod], each call waiting
  // at most register_timeout [registerBrokerTimeoutMills 6 s].
  Duration register_period = std::chrono::seconds(30);
  Duration register_timeout = std::chrono::seconds(6);

  // Long polling [longPollingEnable]: a parked pull is re-checked at least this often
  // [shortPollingTimeMills for short polling; the hold service checks every 5 s].
  bool long_polling = true;
  Duration long_polling_check = std::chrono::seconds(5);
  // Without long polling a SUSPEND pull is held this long instead [shortPollingTimeMills 1 s].
  Duration short_polling_time = std::chrono::seconds(1);
  // Requests of one connection handled at once; beyond it they are answered SYSTEM_BUSY. Pulls
  // parked for long polling count against the same limit (Netty has no such limit; Apogee
  // bounds every queue).
  size_t connection_requests_max = 256;
  // Most bytes and messages one pull may return [maxTransferBytesOnMessageInMemory 256 KiB,
  // maxTransferCountOnMessageInMemory 32].
  uint32_t pull_bytes_max = 256 * 1024;
  int32_t pull_messages_max = 32;

  // Consumer offsets are persisted this often [flushConsumerOffsetInterval 5 s], and at
  // shutdown. The delay service's progress is persisted with them.
  Duration offset_flush_interval = std::chrono::seconds(5);

  // Consumers and producers silent for this long are dropped [channelExpiredTimeout 120 s];
  // checked every 10 s.
  Duration client_expiry = std::chrono::seconds(120);
  Duration client_scan_interval = std::chrono::seconds(10);

  // Orderly consumers' queue locks [rebalanceLockMaxLiveTime 60 s].
  Duration lock_expiry = std::chrono::seconds(60);

  // Retries: a message sent back more than this many times goes to the DLQ
  // [maxReconsumeTimes of the subscription group, 16].
  int32_t max_reconsume_times = 16;
  // Delay levels [messageDelayLevel]: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h".
  std::string message_delay_level = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

  // Transactional messages: a half message without an outcome older than transaction_timeout
  // [transactionTimeOut 6 s] is checked with its producer group by a pass every
  // transaction_check_interval [transactionCheckInterval 60 s], at most transaction_check_max
  // times [transactionCheckMax 15], then given up. reject_transaction_message
  // [rejectTransactionMessage] refuses half messages with NO_PERMISSION.
  Duration transaction_check_interval = std::chrono::seconds(60);
  Duration transaction_timeout = std::chrono::seconds(6);
  int32_t transaction_check_max = 15;
  bool reject_transaction_message = false;

  store::StoreConfig store;
};

}  // namespace apogee::broker
