// Properties of the broker.conf reader: any config Apogee can express renders (-p) to text that
// reads back to the same config, and text of known keys with arbitrary values never crashes
// the reader (each line is either applied, warned about or an error naming its line).

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "core/broker/broker_config_file.h"

namespace apogee::broker {
namespace {

using std::chrono::milliseconds;

rc::Gen<std::string> Name() {
  return rc::gen::nonEmpty(rc::gen::container<std::string>(
      rc::gen::element('a', 'b', 'z', 'A', '0', '9', '-', '_', '.', ' ', '/', '\\', '#', ':')));
}

Duration Ms(int64_t lo, int64_t hi) { return milliseconds(*rc::gen::inRange<int64_t>(lo, hi)); }

RC_GTEST_PROP(BrokerConfigFileProp, RenderedConfigReadsBack, ()) {
  BrokerConfig c;
  c.cluster_name = *Name();
  c.broker_name = *Name();
  c.store_root = *Name();
  uint32_t ip = *rc::gen::arbitrary<uint32_t>();
  c.announce_host =
      fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  c.store.store_ipv4 = ip;
  c.listen.port = *rc::gen::inRange<uint16_t>(1, 65535);
  c.store.store_port = c.listen.port;
  int n = *rc::gen::inRange(0, 4);
  for (int i = 0; i < n; ++i) {
    c.namesrv_addrs.push_back(
        io::Address{fmt::format("10.0.0.{}", i), *rc::gen::inRange<uint16_t>(1, 65535)});
  }
  c.auto_create_topic = *rc::gen::arbitrary<bool>();
  c.auto_create_subscription_group = *rc::gen::arbitrary<bool>();
  c.long_polling = *rc::gen::arbitrary<bool>();
  c.default_topic_queue_nums = *rc::gen::inRange(1, 1024);
  c.broker_permission = *rc::gen::inRange(0, 16);
  c.store.delete_when_hour = *rc::gen::inRange(0, 24);
  c.store.file_reserved_time = std::chrono::hours(*rc::gen::inRange(0, 10'000));
  c.store.segment_bytes = *rc::gen::inRange<uint64_t>(1, uint64_t{1} << 31);
  c.store.cq_entries_per_file = *rc::gen::inRange<uint32_t>(1, 100'000'000);
  c.store.message_bytes_max = *rc::gen::inRange<uint32_t>(1, 1u << 31);
  c.store.flush_type = *rc::gen::element(store::FlushType::kAsync, store::FlushType::kSync);
  c.store.async_flush_interval = Ms(1, 100'000);
  c.store.cq_flush_interval = Ms(1, 100'000);
  c.store.sync_flush_timeout = Ms(1, 100'000);
  c.store.clean_interval = Ms(1, 100'000);
  c.store.disk_clean_ratio = *rc::gen::inRange(10, 96) / 100.0;
  c.store.index_slots = *rc::gen::inRange<uint32_t>(1, 1u << 31);
  c.store.index_entries_max = *rc::gen::inRange<uint32_t>(1, 1u << 31);
  c.register_period = Ms(10'000, 60'001);
  c.register_timeout = Ms(1, 100'000);
  c.lock_expiry = Ms(1, 1'000'000);
  c.offset_flush_interval = Ms(1, 100'000);
  c.client_expiry = Ms(1, 1'000'000);
  c.pull_bytes_max = *rc::gen::inRange<uint32_t>(1, 1u << 31);
  c.pull_messages_max = *rc::gen::inRange(1, 100'000);

  std::string text = RenderBrokerConfig(c);
  Result<BrokerConfigLoad> load = ParseBrokerConfig(text, BrokerConfig());
  RC_ASSERT(load.ok());
  RC_ASSERT(RenderBrokerConfig(load->config) == text);
  const BrokerConfig& d = load->config;
  RC_ASSERT(d.cluster_name == c.cluster_name);
  RC_ASSERT(d.store_root == c.store_root);
  RC_ASSERT(d.namesrv_addrs == c.namesrv_addrs);
  RC_ASSERT(d.store.store_ipv4 == c.store.store_ipv4);
  RC_ASSERT(d.store.cq_entries_per_file == c.store.cq_entries_per_file);
  RC_ASSERT(d.store.disk_clean_ratio == c.store.disk_clean_ratio);
  RC_ASSERT(d.lock_expiry == c.lock_expiry);
  RC_ASSERT(load->warnings.size() == 1u);  // the deleteWhen time zone note
}

RC_GTEST_PROP(BrokerConfigFileProp, KnownKeysWithAnyValueNeverCrash, ()) {
  auto keys = rc::gen::element<std::string>(
      "brokerName", "brokerId", "listenPort", "namesrvAddr", "brokerIP1", "deleteWhen",
      "flushDiskType", "brokerRole", "messageDelayLevel", "diskMaxUsedSpaceRatio",
      "mapedFileSizeConsumeQueue", "registerNameServerPeriod", "storePathCommitLog",
      "autoCreateTopicEnable", "haListenPort", "fooBar");
  auto values = rc::gen::oneOf(
      rc::gen::string<std::string>(),
      rc::gen::map(rc::gen::arbitrary<int64_t>(), [](int64_t v) { return fmt::format("{}", v); }),
      rc::gen::element<std::string>("04;16", "1.2.3.4", "a:1;b:2", "SLAVE", "SYNC_FLUSH", "1s 2m",
                                    "true", "0", "-1"));
  auto lines = *rc::gen::container<std::vector<std::pair<std::string, std::string>>>(
      rc::gen::pair(keys, values));
  std::string text;
  for (const auto& [k, v] : lines) text += k + "=" + v + "\n";
  Result<BrokerConfigLoad> load = ParseBrokerConfig(text, BrokerConfig());
  if (!load.ok()) {
    RC_ASSERT(load.status().message().starts_with("line ") ||
              load.status().message().starts_with("brokerRole SLAVE"));
  } else {
    for (const std::string& w : load->warnings) {
      RC_ASSERT(w.starts_with("line ") || w.starts_with("brokerId"));
    }
  }
}

}  // namespace
}  // namespace apogee::broker
