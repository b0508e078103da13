#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
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

// Proves commands fed through PrepareFeed/CommitFeed in reads of random sizes (each read given
// more room than it fills, as a socket read is) decode as they were sent.
RC_GTEST_PROP(RemotingFramePropTest, RoundTripsThroughPreparedReads, ()) {
  std::vector<RemotingCommand> sent;
  std::vector<uint8_t> stream;
  const int count = *rc::gen::inRange(1, 4);
  for (int i = 0; i < count; i++) {
    sent.push_back(RandomCommand(*rc::gen::arbitrary<bool>() ? SerializeType::kRocketmq
                                                             : SerializeType::kJson));
    EncodeFrameTo(sent.back(), &stream);
  }
  FrameDecoder d;
  std::vector<RemotingCommand> got;
  size_t at = 0;
  while (at < stream.size()) {
    const size_t room = *rc::gen::inRange<size_t>(1, 300);
    // Zero-byte reads (a failed read commits nothing) now and then, but never forever.
    const bool empty_read = *rc::gen::inRange(0, 8) == 7;
    const size_t n =
        empty_read ? 0 : std::min(stream.size() - at, *rc::gen::inRange<size_t>(1, room + 1));
    std::span<uint8_t> into = d.PrepareFeed(room);
    RC_ASSERT(into.size() == room);
    std::copy_n(stream.begin() + static_cast<ptrdiff_t>(at), n, into.begin());
    d.CommitFeed(n);
    at += n;
    for (;;) {
      auto r = d.Next();
      RC_ASSERT(r.ok());
      if (!r->has_value()) break;
      got.push_back(std::move(**r));
    }
  }
  RC_ASSERT(got == sent);
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
