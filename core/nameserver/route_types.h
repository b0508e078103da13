#pragma once

// The route types the nameserver keeps and answers with. TEMPORARY: these mirror, member for
// member, the JSON bodies of core/protocol/bodies.h that are being written on another branch;
// once those land this header becomes `using protocol::...` aliases.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/protocol/codes.h"

namespace apogee::nameserver {

struct TopicConfig {
  std::string topic_name;
  int32_t read_queue_nums = 16;
  int32_t write_queue_nums = 16;
  int32_t perm = protocol::kPermRead | protocol::kPermWrite;
  std::string topic_filter_type = "SINGLE_TAG";
  int32_t topic_sys_flag = 0;
  bool order = false;
  bool operator==(const TopicConfig& other) const = default;
};

struct DataVersion {
  int64_t timestamp = 0;
  int64_t counter = 0;
  bool operator==(const DataVersion& other) const = default;
};

struct TopicConfigSerializeWrapper {
  std::map<std::string, TopicConfig> topic_config_table;
  DataVersion data_version;
  bool operator==(const TopicConfigSerializeWrapper& other) const = default;
};

struct QueueData {
  std::string broker_name;
  int32_t read_queue_nums = 0;
  int32_t write_queue_nums = 0;
  int32_t perm = 0;
  int32_t topic_sys_flag = 0;
  bool operator==(const QueueData& other) const = default;
};

struct BrokerData {
  std::string cluster;
  std::string broker_name;
  std::map<int64_t, std::string> broker_addrs;
  bool operator==(const BrokerData& other) const = default;
};

struct TopicRouteData {
  std::optional<std::string> order_topic_conf;
  std::vector<QueueData> queue_datas;
  std::vector<BrokerData> broker_datas;
  std::map<std::string, std::vector<std::string>> filter_server_table;
  bool operator==(const TopicRouteData& other) const = default;
};

struct ClusterInfo {
  std::map<std::string, BrokerData> broker_addr_table;
  std::map<std::string, std::set<std::string>> cluster_addr_table;
  bool operator==(const ClusterInfo& other) const = default;
};

}  // namespace apogee::nameserver
