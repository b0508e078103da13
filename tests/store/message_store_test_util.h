#pragma once

// Helpers shared by the MessageStore suites: a small config, messages that own their bytes,
// and decoding of what Get and ReadRecordAt return.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/store/message_store.h"

namespace apogee::store::testing {

// Small enough that a few dozen messages roll several segments and queue files.
inline StoreConfig SmallStoreConfig(FlushType type = FlushType::kAsync) {
  using namespace std::chrono_literals;
  StoreConfig c;
  c.flush_type = type;
  c.segment_bytes = 4096;
  c.message_bytes_max = 2048;
  c.cq_entries_per_file = 8;
  c.index_slots = 64;
  c.index_entries_max = 256;
  c.sync_flush_timeout = 200ms;
  c.async_flush_interval = 20ms;
  c.cq_flush_interval = 30ms;
  c.write_buffer_bytes_max = 64u << 10;
  c.delete_when_hour = -1;
  c.file_reserved_time = std::chrono::hours(24 * 365);
  c.clean_interval = std::chrono::hours(24);  // retention runs when a test asks for it
  return c;
}

// A message that owns its bytes; view() is valid while it lives.
struct Msg {
  std::string topic = "T";
  int32_t queue_id = 0;
  std::string body;
  std::string props;
  int32_t sys_flag = 0;
  MessageToStore view() const {
    MessageToStore m;
    m.topic = topic;
    m.queue_id = queue_id;
    m.body = std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size());
    m.properties = props;
    m.sys_flag = sys_flag;
    return m;
  }
};

// Message `i` of a queue: a recognisable body and a UNIQ_KEY, plus any extra properties.
inline Msg Numbered(int i, size_t body_bytes = 200, int32_t queue_id = 0,
                    std::vector<std::pair<std::string, std::string>> extra = {}) {
  Msg m;
  m.queue_id = queue_id;
  m.body = fmt::format("m{}:{}", i, std::string(body_bytes, static_cast<char>('a' + i % 26)));
  extra.insert(extra.begin(), {"UNIQ_KEY", fmt::format("u{}-{}", queue_id, i)});
  m.props = EncodeProperties(extra);
  return m;
}

// What a served record decodes to (with both CRCs checked), owning its strings.
struct Decoded {
  bool valid = false;
  std::string error;
  std::string topic;
  int32_t queue_id = -1;
  int64_t queue_offset = -1;
  int64_t physical_offset = -1;
  int64_t store_timestamp_ms = 0;
  std::string body;
  std::string props;
};

inline Decoded DecodeServed(std::span<const uint8_t> bytes, int64_t physical_offset,
                            uint32_t message_bytes_max = 2048) {
  DecodedRecord d = DecodeRecord(bytes, physical_offset, message_bytes_max, /*verify_crc=*/true);
  Decoded out;
  out.valid = d.kind == RecordKind::kMessage && d.size == bytes.size();
  out.error = d.error;
  if (d.kind != RecordKind::kMessage) return out;
  out.topic = std::string(d.view.topic);
  out.queue_id = d.view.queue_id;
  out.queue_offset = d.view.queue_offset;
  out.physical_offset = d.view.physical_offset;
  out.store_timestamp_ms = d.view.store_timestamp_ms;
  out.body = std::string(d.view.body.begin(), d.view.body.end());
  out.props = std::string(d.view.properties);
  return out;
}

inline Decoded DecodeMessage(const GetResult& g, size_t i) {
  const GetResult::Message& m = g.messages.at(i);
  return DecodeServed(std::span(g.records).subspan(m.at, m.size), m.physical_offset);
}

// Opens a store and expects it to open; nullptr if it did not.
inline std::shared_ptr<MessageStore> MustOpen(io::Env& env, const StoreConfig& config) {
  auto store = MessageStore::Open(env, config);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? *store : nullptr;
}

// Puts `m` and expects kOk.
inline PutResult MustPut(MessageStore& store, const Msg& m) {
  PutResult r = store.Put(m.view());
  EXPECT_EQ(r.status, PutStatus::kOk) << PutStatusName(r.status) << ": " << r.error;
  return r;
}

// Shuts the store down when the body returns early (a failed ASSERT), so a POSIX run ends.
struct ShutdownOnExit {
  std::shared_ptr<MessageStore> store;
  ~ShutdownOnExit() {
    if (store) store->Shutdown().IgnoreError();
  }
};

}  // namespace apogee::store::testing
