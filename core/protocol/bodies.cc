// Topic, registration, route and cluster bodies (bodies.h). The client bodies (heartbeats, queue
// locks, name lists) are in bodies_client.cc.

#include "core/protocol/bodies.h"

#include <fmt/format.h>

#include <limits>

#include "core/protocol/fields.h"

namespace apogee::protocol {

// --- TopicConfig ---

JsonValue TopicConfig::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  o.Add("topicName", JsonStr(topic_name));
  o.Add("readQueueNums", JsonInt(read_queue_nums));
  o.Add("writeQueueNums", JsonInt(write_queue_nums));
  o.Add("perm", JsonInt(perm));
  o.Add("topicFilterType", JsonStr(topic_filter_type));
  o.Add("topicSysFlag", JsonInt(topic_sys_flag));
  o.Add("order", JsonBool(order));
  return o;
}

Result<TopicConfig> TopicConfig::FromJsonValue(const JsonValue& v, const std::string& path) {
  JsonObjectReader r(v, path);
  TopicConfig t;
  t.topic_name = r.String("topicName", "");
  t.read_queue_nums = r.Int32("readQueueNums", kDefaultReadQueueNums);
  t.write_queue_nums = r.Int32("writeQueueNums", kDefaultWriteQueueNums);
  t.perm = r.Int32("perm", kPermRead | kPermWrite);
  t.topic_filter_type = r.String("topicFilterType", kTopicFilterSingleTag);
  t.topic_sys_flag = r.Int32("topicSysFlag", 0);
  t.order = r.Bool("order", false);
  if (!r.ok()) return r.status();
  return t;
}

// --- DataVersion ---

JsonValue DataVersion::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  o.Add("timestamp", JsonInt(timestamp));
  o.Add("counter", JsonInt(counter));
  return o;
}

Result<DataVersion> DataVersion::FromJsonValue(const JsonValue& v, const std::string& path) {
  JsonObjectReader r(v, path);
  DataVersion d;
  d.timestamp = r.Int64("timestamp", 0);
  d.counter = r.Int64("counter", 0);
  if (!r.ok()) return r.status();
  return d;
}

// --- TopicConfigSerializeWrapper ---

JsonValue TopicConfigSerializeWrapper::ToJsonValue() const {
  JsonValue table = JsonValue::Object();
  for (const auto& [name, config] : topic_config_table) table.Add(name, config.ToJsonValue());
  JsonValue o = JsonValue::Object();
  o.Add("topicConfigTable", std::move(table));
  o.Add("dataVersion", data_version.ToJsonValue());
  return o;
}

Result<TopicConfigSerializeWrapper> TopicConfigSerializeWrapper::FromJsonValue(
    const JsonValue& v, const std::string& path) {
  JsonObjectReader r(v, path);
  TopicConfigSerializeWrapper w;
  r.ForEachMember(
      "topicConfigTable",
      [&](const std::string& name, const JsonValue& item, const std::string& item_path) -> Status {
        APOGEE_ASSIGN_OR_RETURN(TopicConfig config, TopicConfig::FromJsonValue(item, item_path));
        if (config.topic_name.empty()) config.topic_name = name;
        w.topic_config_table.insert_or_assign(name, std::move(config));
        return Status::Ok();
      });
  if (const JsonValue* dv = r.Member("dataVersion"); dv != nullptr && r.ok()) {
    Result<DataVersion> d = DataVersion::FromJsonValue(*dv, r.PathOf("dataVersion"));
    if (d.ok()) {
      w.data_version = *d;
    } else {
      r.Fail(d.status());
    }
  }
  if (!r.ok()) return r.status();
  return w;
}

// --- RegisterBrokerBody ---

JsonValue RegisterBrokerBody::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  o.Add("topicConfigSerializeWrapper", topic_config_serialize_wrapper.ToJsonValue());
  o.Add("filterServerList", JsonStringArray(filter_server_list));
  return o;
}

Result<RegisterBrokerBody> RegisterBrokerBody::FromJsonValue(const JsonValue& v,
                                                             const std::string& path) {
  JsonObjectReader r(v, path);
  RegisterBrokerBody b;
  if (const JsonValue* w = r.Member("topicConfigSerializeWrapper"); w != nullptr) {
    Result<TopicConfigSerializeWrapper> wrapper =
        TopicConfigSerializeWrapper::FromJsonValue(*w, r.PathOf("topicConfigSerializeWrapper"));
    if (wrapper.ok()) {
      b.topic_config_serialize_wrapper = std::move(wrapper).value();
    } else {
      r.Fail(wrapper.status());
    }
  }
  b.filter_server_list = r.StringArray("filterServerList");
  if (!r.ok()) return r.status();
  return b;
}

// --- QueueData ---

JsonValue QueueData::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  o.Add("brokerName", JsonStr(broker_name));
  o.Add("readQueueNums", JsonInt(read_queue_nums));
  o.Add("writeQueueNums", JsonInt(write_queue_nums));
  o.Add("perm", JsonInt(perm));
  o.Add("topicSynFlag", JsonInt(topic_sys_flag));
  return o;
}

Result<QueueData> QueueData::FromJsonValue(const JsonValue& v, const std::string& path) {
  JsonObjectReader r(v, path);
  QueueData q;
  q.broker_name = r.String("brokerName");
  q.read_queue_nums = r.Int32("readQueueNums", 0);
  q.write_queue_nums = r.Int32("writeQueueNums", 0);
  q.perm = r.Int32("perm", 0);
  q.topic_sys_flag = r.Int32("topicSynFlag", r.Int32("topicSysFlag", 0));
  if (!r.ok()) return r.status();
  return q;
}

// --- BrokerData ---

std::optional<std::string> BrokerData::MasterAddr() const {
  auto it = broker_addrs.find(kMasterId);
  if (it == broker_addrs.end()) return std::nullopt;
  return it->second;
}

JsonValue BrokerData::ToJsonValue() const {
  JsonValue addrs = JsonValue::Object();
  for (const auto& [id, addr] : broker_addrs) addrs.Add(fmt::format("{}", id), JsonStr(addr));
  JsonValue o = JsonValue::Object();
  o.Add("cluster", JsonStr(cluster));
  o.Add("brokerName", JsonStr(broker_name));
  o.Add("brokerAddrs", std::move(addrs));
  return o;
}

Result<BrokerData> BrokerData::FromJsonValue(const JsonValue& v, const std::string& path) {
  JsonObjectReader r(v, path);
  BrokerData b;
  b.cluster = r.String("cluster", "");
  b.broker_name = r.String("brokerName");
  r.ForEachMember(
      "brokerAddrs",
      [&](const std::string& key, const JsonValue& addr, const std::string& item_path) -> Status {
        std::optional<int64_t> id = ParseDecimal(key, std::numeric_limits<int64_t>::min(),
                                                 std::numeric_limits<int64_t>::max());
        if (!id.has_value()) return JsonError(item_path, "the key is not a broker id");
        APOGEE_ASSIGN_OR_RETURN(std::string a, JsonToString(addr, item_path));
        b.broker_addrs.insert_or_assign(*id, std::move(a));
        return Status::Ok();
      });
  if (!r.ok()) return r.status();
  return b;
}

// --- TopicRouteData ---

JsonValue TopicRouteData::ToJsonValue() const {
  JsonValue o = JsonValue::Object();
  if (order_topic_conf.has_value()) o.Add("orderTopicConf", JsonStr(*order_topic_conf));
  JsonValue queues = JsonValue::Array();
  for (const QueueData& q : queue_datas) queues.Append(q.ToJsonValue());
  o.Add("queueDatas", std::move(queues));
  JsonValue brokers = JsonValue::Array();
  for (const BrokerData& b : broker_datas) brokers.Append(b.ToJsonValue());
  o.Add("brokerDatas", std::move(brokers));
  JsonValue filters = JsonValue::Object();
  for (const auto& [addr, servers] : filter_server_table) {
    filters.Add(addr, JsonStringArray(servers));
  }
  o.Add("filterServerTable", std::move(filters));
  return o;
}

Result<TopicRouteData> TopicRouteData::FromJsonValue(const JsonValue& v, const std::string& path) {
  JsonObjectReader r(v, path);
  TopicRouteData t;
  t.order_topic_conf = r.OptString("orderTopicConf");
  r.ReadEach<QueueData>("queueDatas", [&](QueueData q) { t.queue_datas.push_back(std::move(q)); });
  r.ReadEach<BrokerData>("brokerDatas",
                         [&](BrokerData b) { t.broker_datas.push_back(std::move(b)); });
  r.ForEachMember("filterServerTable",
                  [&](const std::string& addr, const JsonValue& servers,
                      const std::string& item_path) -> Status {
                    if (!servers.is_array()) return JsonError(item_path, "an array was expected");
                    std::vector<std::string>& list = t.filter_server_table[addr];
                    list.clear();
                    for (size_t i = 0; i < servers.items().size(); ++i) {
                      APOGEE_ASSIGN_OR_RETURN(
                          std::string s,
                          JsonToString(servers.items()[i], fmt::format("{}[{}]", item_path, i)));
                      list.push_back(std::move(s));
                    }
                    return Status::Ok();
                  });
  if (!r.ok()) return r.status();
  return t;
}

// --- ClusterInfo ---

JsonValue ClusterInfo::ToJsonValue() const {
  JsonValue brokers = JsonValue::Object();
  for (const auto& [name, data] : broker_addr_table) brokers.Add(name, data.ToJsonValue());
  JsonValue clusters = JsonValue::Object();
  for (const auto& [name, members] : cluster_addr_table) {
    clusters.Add(name, JsonStringArray(members));
  }
  JsonValue o = JsonValue::Object();
  o.Add("brokerAddrTable", std::move(brokers));
  o.Add("clusterAddrTable", std::move(clusters));
  return o;
}

Result<ClusterInfo> ClusterInfo::FromJsonValue(const JsonValue& v, const std::string& path) {
  JsonObjectReader r(v, path);
  ClusterInfo c;
  r.ForEachMember(
      "brokerAddrTable",
      [&](const std::string& name, const JsonValue& item, const std::string& item_path) -> Status {
        APOGEE_ASSIGN_OR_RETURN(BrokerData b, BrokerData::FromJsonValue(item, item_path));
        c.broker_addr_table.insert_or_assign(name, std::move(b));
        return Status::Ok();
      });
  r.ForEachMember(
      "clusterAddrTable",
      [&](const std::string& name, const JsonValue& item, const std::string& item_path) -> Status {
        if (!item.is_array()) return JsonError(item_path, "an array was expected");
        std::set<std::string>& names = c.cluster_addr_table[name];
        for (size_t i = 0; i < item.items().size(); ++i) {
          APOGEE_ASSIGN_OR_RETURN(
              std::string s, JsonToString(item.items()[i], fmt::format("{}[{}]", item_path, i)));
          names.insert(std::move(s));
        }
        return Status::Ok();
      });
  if (!r.ok()) return r.status();
  return c;
}

}  // namespace apogee::protocol
