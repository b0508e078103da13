#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/remoting/frame.h"

namespace apogee {
namespace {

RemotingCommand RandomCommand(SerializeType type) {
  RemotingCommand c;
  c.serialize_type = type;
  c.code = *rc::gen::arbitrary<int16_t>();
  c.version = *rc::gen::arbitrary<int16_t>();
  c.language = static_cast<LanguageCode>(*rc::gen::inRange(0, 13));
  c.opaque = *rc::gen::arbitrary<int32_t>();
  c.flag = *rc::gen::arbitrary<int32_t>();
  // The binary header cannot tell an empty remark from none, so it only gets non-empty ones.
  if (*rc::gen::arbitrary<bool>()) {
    c.remark = *rc::gen::nonEmpty(rc::gen::arbitrary<std::string>());
  }
  const auto fields = *rc::gen::arbitrary<std::map<std::string, std::string>>();
  c.ext_fields = ExtFields::FromEntries({fields.begin(), fields.end()});
  c.body = *rc::gen::arbitrary<std::vector<uint8_t>>();
  return c;
}

// Proves any command survives EncodeFrame then FrameDecoder with both header kinds, including
// arbitrary bytes (control characters, non-UTF-8) in remark and extFields.
RC_GTEST_PROP(RemotingFramePropTest, RoundTripsThroughBothHeaderKinds, (bool binary)) {
  RemotingCommand c = RandomCommand(binary ? SerializeType::kRocketmq : SerializeType::kJson);
  FrameDecoder d;
  d.Feed(EncodeFrame(c));
  auto r = d.Next();
  RC_ASSERT(r.ok());
  RC_ASSERT(r->has_value());
  RC_ASSERT(**r == c);
  RC_ASSERT(d.buffered_bytes() == 0u);
}

// Proves random bytes, fed in random pieces, never crash the decoder and a failure is sticky.
RC_GTEST_PROP(RemotingFramePropTest, RandomBytesNeverCrashTheDecoder,
              (std::vector<uint8_t> bytes)) {
  const bool plausible = *rc::gen::arbitrary<bool>();
  if (plausible && bytes.size() >= 8) {
    // Aim at the interesting paths: a small frame_len and a known type.
    bytes[0] = bytes[1] = 0;
    bytes[4] = bytes[4] & 1;
    bytes[5] = bytes[6] = 0;
  }
  FrameDecoder d;
  size_t at = 0;
  while (at < bytes.size()) {
    size_t n = *rc::gen::inRange<size_t>(1, bytes.size() - at + 1);
    d.Feed(std::span(bytes).subspan(at, n));
    at += n;
    while (true) {
      auto r = d.Next();
      if (!r.ok()) {
        RC_ASSERT(d.failed());
        RC_ASSERT(d.Next().code() == r.code());
        return;
      }
      if (!r->has_value()) break;
    }
  }
}

}  // namespace
}  // namespace apogee
