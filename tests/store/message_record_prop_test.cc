// Round-trip properties of the stored record, up to the largest message the store accepts.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "core/store/message_record.h"

namespace apogee::store {
namespace {

constexpr uint32_t kMaxBytes = 4u << 20;

struct Generated {
  std::string topic;
  std::vector<uint8_t> body;
  std::string properties;
  MessageToStore message;
  RecordPlacement placement;
};

Generated Generate(bool largest) {
  Generated g;
  g.topic = *rc::gen::resize(
      127, rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::inRange<char>('A', 'z'))));
  if (g.topic.size() > kTopicBytesMax) g.topic.resize(kTopicBytesMax);
  g.properties = *rc::gen::container<std::string>(rc::gen::arbitrary<char>());
  if (g.properties.size() > kPropertiesBytesMax - kRecordCrcPropertyBytesMax) {
    g.properties.resize(kPropertiesBytesMax - kRecordCrcPropertyBytesMax);
  }
  if (largest) {
    // Exactly the limit: the largest record the store takes.
    size_t body = kMaxBytes - kRecordFixedBytes - g.topic.size() - g.properties.size() -
                  RecordCrcPropertyBytes(g.properties.size());
    g.body.assign(body, static_cast<uint8_t>(*rc::gen::arbitrary<uint8_t>()));
    g.body[*rc::gen::inRange<size_t>(0, body)] ^= 0x5A;
  } else {
    g.body = *rc::gen::container<std::vector<uint8_t>>(rc::gen::arbitrary<uint8_t>());
  }
  MessageToStore& m = g.message;
  m.topic = g.topic;
  m.body = g.body;
  m.properties = g.properties;
  m.queue_id = *rc::gen::arbitrary<int32_t>();
  m.flag = *rc::gen::arbitrary<int32_t>();
  m.sys_flag = *rc::gen::arbitrary<int32_t>() & ~(kSysFlagBornHostV6 | kSysFlagStoreHostV6);
  m.born_timestamp_ms = *rc::gen::arbitrary<int64_t>();
  m.born_ipv4 = *rc::gen::arbitrary<uint32_t>();
  m.born_port = *rc::gen::arbitrary<int32_t>();
  m.reconsume_times = *rc::gen::arbitrary<int32_t>();
  m.prepared_transaction_offset = *rc::gen::arbitrary<int64_t>();
  g.placement.queue_offset = *rc::gen::inRange<int64_t>(0, INT64_MAX);
  g.placement.physical_offset = *rc::gen::inRange<int64_t>(0, INT64_MAX);
  g.placement.store_timestamp_ms = *rc::gen::arbitrary<int64_t>();
  g.placement.store_ipv4 = *rc::gen::arbitrary<uint32_t>();
  g.placement.store_port = *rc::gen::arbitrary<int32_t>();
  return g;
}

void CheckRoundTrip(const Generated& g) {
  const MessageToStore& m = g.message;
  RC_ASSERT(ValidateMessage(m, kMaxBytes).ok());
  std::vector<uint8_t> rec(RecordSizeOf(m));
  RC_ASSERT(rec.size() <= kMaxBytes);
  EncodeRecord(m, g.placement, rec);
  DecodedRecord d = DecodeRecord(rec, g.placement.physical_offset, kMaxBytes, true);
  RC_ASSERT(d.kind == RecordKind::kMessage);
  RC_ASSERT(d.size == rec.size());
  const RecordView& v = d.view;
  RC_ASSERT(v.topic == m.topic);
  RC_ASSERT(std::vector<uint8_t>(v.body.begin(), v.body.end()) == g.body);
  RC_ASSERT(v.properties == m.properties);
  RC_ASSERT(v.queue_id == m.queue_id);
  RC_ASSERT(v.flag == m.flag);
  RC_ASSERT(v.sys_flag == m.sys_flag);
  RC_ASSERT(v.born_timestamp_ms == m.born_timestamp_ms);
  RC_ASSERT(v.born_ipv4 == m.born_ipv4);
  RC_ASSERT(v.born_port == m.born_port);
  RC_ASSERT(v.reconsume_times == m.reconsume_times);
  RC_ASSERT(v.prepared_transaction_offset == m.prepared_transaction_offset);
  RC_ASSERT(v.queue_offset == g.placement.queue_offset);
  RC_ASSERT(v.physical_offset == g.placement.physical_offset);
  RC_ASSERT(v.store_timestamp_ms == g.placement.store_timestamp_ms);
  RC_ASSERT(v.store_ipv4 == g.placement.store_ipv4);
  RC_ASSERT(v.store_port == g.placement.store_port);
  // Read from any other offset, the same bytes are refused.
  RC_ASSERT(DecodeRecord(rec, g.placement.physical_offset ^ 1, kMaxBytes, true).kind ==
            RecordKind::kCorrupt);
}

RC_GTEST_PROP(MessageRecordProp, EncodeDecodeRoundTrips, ()) { CheckRoundTrip(Generate(false)); }

RC_GTEST_PROP(MessageRecordProp, LargestMessageRoundTrips, ()) { CheckRoundTrip(Generate(true)); }

RC_GTEST_PROP(MessageRecordProp, PropertiesRoundTrip, ()) {
  // Keys and values without the two separator characters survive encode and parse.
  auto no_separators = rc::gen::container<std::string>(
      rc::gen::suchThat(rc::gen::arbitrary<char>(), [](char c) { return c != 1 && c != 2; }));
  auto pairs = *rc::gen::container<std::vector<std::pair<std::string, std::string>>>(
      rc::gen::pair(rc::gen::nonEmpty(no_separators), no_separators));
  std::string encoded = EncodeProperties(pairs);
  auto parsed = ParseProperties(encoded);
  RC_ASSERT(parsed.size() == pairs.size());
  for (size_t i = 0; i < pairs.size(); i++) {
    RC_ASSERT(parsed[i].first == pairs[i].first);
    RC_ASSERT(parsed[i].second == pairs[i].second);
  }
}

}  // namespace
}  // namespace apogee::store
