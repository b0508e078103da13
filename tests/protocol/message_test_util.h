#pragma once

// Builds stored records the way the store writes them, to make pull answer bodies in tests.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/base/assert.h"
#include "core/store/message_record.h"

namespace apogee::protocol {

struct StoredSpec {
  std::string topic = "T";
  int32_t queue_id = 0;
  int32_t flag = 0;
  std::vector<uint8_t> body = {'x'};
  std::map<std::string, std::string> properties;
  int64_t queue_offset = 0;
  int64_t physical_offset = 0;
  int32_t reconsume_times = 0;
};

// Appends the record the store would write for `spec` (hosts 192.168.0.7:50000 born,
// 10.0.0.1:10911 stored; timestamps 1700000000000 and +100 ms).
inline void AppendStoredRecord(const StoredSpec& spec, std::vector<uint8_t>* out) {
  std::vector<std::pair<std::string, std::string>> pairs(spec.properties.begin(),
                                                         spec.properties.end());
  std::string props = store::EncodeProperties(pairs);
  store::MessageToStore m;
  m.topic = spec.topic;
  m.queue_id = spec.queue_id;
  m.flag = spec.flag;
  m.body = spec.body;
  m.properties = props;
  m.born_timestamp_ms = 1700000000000;
  m.born_ipv4 = (192u << 24) | (168u << 16) | 7u;
  m.born_port = 50000;
  m.reconsume_times = spec.reconsume_times;
  APOGEE_ASSERT(store::ValidateMessage(m, 4u << 20).ok());
  store::RecordPlacement at;
  at.queue_offset = spec.queue_offset;
  at.physical_offset = spec.physical_offset;
  at.store_timestamp_ms = 1700000000100;
  at.store_ipv4 = (10u << 24) | 1u;
  at.store_port = 10911;
  size_t start = out->size();
  out->resize(start + store::RecordSizeOf(m));
  store::EncodeRecord(m, at, std::span<uint8_t>(out->data() + start, out->size() - start));
}

}  // namespace apogee::protocol
