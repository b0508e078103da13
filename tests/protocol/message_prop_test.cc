// Properties of the binary message bodies: batch round trips, and decoders that never crash on
// any bytes and never let a changed byte of a pull answer through.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "core/protocol/message.h"
#include "tests/protocol/message_test_util.h"

namespace apogee::protocol {
namespace {

// Property names and values as clients make them: no \x01 or \x02 inside.
rc::Gen<std::string> PropertyText() {
  return rc::gen::container<std::string>(
      rc::gen::suchThat(rc::gen::arbitrary<char>(), [](char c) { return c != 1 && c != 2; }));
}

std::map<std::string, std::string> GenProperties() {
  auto p = *rc::gen::container<std::map<std::string, std::string>>(
      rc::gen::nonEmpty(PropertyText()), PropertyText());
  // Keep the encoded form within the int16 length.
  while (EncodeMessageProperties(p).size() > kBatchPropertiesBytesMax) p.erase(p.begin());
  return p;
}

Message GenMessage() {
  Message m;
  m.flag = *rc::gen::arbitrary<int32_t>();
  m.body = *rc::gen::arbitrary<std::vector<uint8_t>>();
  m.properties = GenProperties();
  return m;
}

std::vector<uint8_t> GenStoredBody(int count) {
  std::vector<uint8_t> body;
  for (int i = 0; i < count; ++i) {
    StoredSpec s;
    s.topic = *rc::gen::resize(
        100, rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::inRange<char>('A', 'z'))));
    s.queue_id = *rc::gen::inRange<int32_t>(0, 64);
    s.flag = *rc::gen::arbitrary<int32_t>();
    s.body = *rc::gen::arbitrary<std::vector<uint8_t>>();
    s.properties = GenProperties();
    if (EncodeMessageProperties(s.properties).size() > 30'000) s.properties.clear();
    s.queue_offset = *rc::gen::inRange<int64_t>(0, int64_t{1} << 40);
    s.physical_offset = static_cast<int64_t>(body.size()) + 4096;
    AppendStoredRecord(s, &body);
  }
  return body;
}

// Proves DecodeBatch(EncodeBatch(ms)) gives back every flag, body and property.
RC_GTEST_PROP(MessagePropTest, BatchRoundTrips, ()) {
  auto messages = *rc::gen::resize(
      20, rc::gen::container<std::vector<Message>>(rc::gen::exec([] { return GenMessage(); })));
  std::vector<uint8_t> bytes = EncodeBatch(messages);
  Result<std::vector<Message>> back = DecodeBatch(bytes);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == messages);
}

// Proves random bytes never crash DecodeBatch; what it accepts re-encodes to the same length.
RC_GTEST_PROP(MessagePropTest, DecodeBatchNeverCrashes, (std::vector<uint8_t> bytes)) {
  if (*rc::gen::arbitrary<bool>() && bytes.size() >= 4) {
    // Make the first total plausible so decoding goes past the first check.
    uint32_t total = *rc::gen::inRange<uint32_t>(0, static_cast<uint32_t>(bytes.size()) + 2);
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(total >> (24 - 8 * i));
  }
  Result<std::vector<Message>> r = DecodeBatch(bytes);
  if (!r.ok()) {
    RC_ASSERT(r.code() == ErrorCode::kMalformed);
  } else {
    size_t payload = 0;
    for (const Message& m : *r) payload += kBatchItemFixedBytes + m.body.size();
    RC_ASSERT(payload <= bytes.size());
  }
}

// Proves random mutations of a valid batch are either refused as kMalformed or decode.
RC_GTEST_PROP(MessagePropTest, MutatedBatchIsRefusedOrDecodes, ()) {
  std::vector<Message> messages = {GenMessage(), GenMessage()};
  std::vector<uint8_t> bytes = EncodeBatch(messages);
  int edits = *rc::gen::inRange(1, 4);
  for (int i = 0; i < edits && !bytes.empty(); ++i) {
    size_t at = *rc::gen::inRange<size_t>(0, bytes.size());
    switch (*rc::gen::inRange(0, 3)) {
      case 0:
        bytes[at] = *rc::gen::arbitrary<uint8_t>();
        break;
      case 1:
        bytes.resize(at);
        break;
      default:
        bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                     *rc::gen::arbitrary<uint8_t>());
        break;
    }
  }
  Result<std::vector<Message>> r = DecodeBatch(bytes);
  RC_ASSERT(r.ok() || r.code() == ErrorCode::kMalformed);
}

// Proves random bytes never crash DecodeMessages, and failures are kCorruption.
RC_GTEST_PROP(MessagePropTest, DecodeMessagesNeverCrashes, (std::vector<uint8_t> bytes)) {
  if (*rc::gen::arbitrary<bool>() && bytes.size() >= 8) {
    // A plausible size and the real magic, so decoding reaches the deeper checks.
    uint32_t total = *rc::gen::inRange<uint32_t>(0, static_cast<uint32_t>(bytes.size()) + 2);
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(total >> (24 - 8 * i));
    const uint8_t magic[4] = {0xDA, 0xA3, 0x20, 0xA7};
    for (int i = 0; i < 4; ++i) bytes[4 + i] = magic[i];
  }
  Result<std::vector<MessageExt>> r = DecodeMessages(bytes);
  RC_ASSERT(r.ok() || r.code() == ErrorCode::kCorruption);
}

// Proves every record of a generated pull body decodes back to what was stored.
RC_GTEST_PROP(MessagePropTest, StoredRecordsDecode, ()) {
  int count = *rc::gen::inRange(0, 5);
  std::vector<uint8_t> body = GenStoredBody(count);
  Result<std::vector<MessageExt>> r = DecodeMessages(body);
  RC_ASSERT(r.ok());
  RC_ASSERT(r->size() == static_cast<size_t>(count));
  size_t sum = 0;
  for (const MessageExt& m : *r) {
    sum += static_cast<size_t>(m.store_size);
    RC_ASSERT(m.properties.count("__CRC32#") == 0u);
  }
  RC_ASSERT(sum == body.size());
}

// Proves one changed byte anywhere in a pull body is always caught (the record CRC covers
// every byte), and heavier mutations are caught or decode, never crash.
RC_GTEST_PROP(MessagePropTest, MutatedPullBodyIsCaught, ()) {
  std::vector<uint8_t> body = GenStoredBody(*rc::gen::inRange(1, 4));
  std::vector<uint8_t> one = body;
  size_t at = *rc::gen::inRange<size_t>(0, one.size());
  one[at] ^= *rc::gen::inRange<uint8_t>(1, 255);
  Result<std::vector<MessageExt>> r = DecodeMessages(one);
  RC_ASSERT(!r.ok());
  RC_ASSERT(r.code() == ErrorCode::kCorruption);

  std::vector<uint8_t> many = body;
  int edits = *rc::gen::inRange(1, 5);
  for (int i = 0; i < edits && !many.empty(); ++i) {
    size_t pos = *rc::gen::inRange<size_t>(0, many.size());
    if (*rc::gen::arbitrary<bool>()) {
      many[pos] = *rc::gen::arbitrary<uint8_t>();
    } else {
      many.resize(pos);
    }
  }
  Result<std::vector<MessageExt>> m = DecodeMessages(many);
  RC_ASSERT(m.ok() || m.code() == ErrorCode::kCorruption);
}

}  // namespace
}  // namespace apogee::protocol
