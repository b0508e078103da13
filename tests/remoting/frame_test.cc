#include "core/remoting/frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base/bytes.h"

namespace apogee {
namespace {

const std::string kExampleHeader =
    R"({"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":1,"serializeTypeCurrentRPC":"JSON","version":407})";

std::vector<uint8_t> Prefix(uint32_t frame_len, uint32_t type_and_len) {
  std::vector<uint8_t> out;
  ByteWriter w(&out);
  w.U32(frame_len);
  w.U32(type_and_len);
  return out;
}

std::vector<uint8_t> ExampleFrame() {
  std::vector<uint8_t> f = Prefix(4 + 123, 123);
  f.insert(f.end(), kExampleHeader.begin(), kExampleHeader.end());
  return f;
}

Result<std::optional<RemotingCommand>> DecodeAll(const std::vector<uint8_t>& bytes) {
  FrameDecoder d;
  d.Feed(bytes);
  return d.Next();
}

TEST(RemotingFrameTest, DecodesTheDocExampleRequest) {
  // Proves the doc's example frame (123-byte JSON header, no body) decodes to the right fields
  // and re-encodes to the same bytes.
  ASSERT_EQ(kExampleHeader.size(), 123u);
  std::vector<uint8_t> frame = ExampleFrame();
  auto r = DecodeAll(frame);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value());
  const RemotingCommand& cmd = **r;
  EXPECT_EQ(cmd.code, 105);
  EXPECT_EQ(cmd.language, LanguageCode::kJava);
  EXPECT_EQ(cmd.version, 407);
  EXPECT_EQ(cmd.opaque, 1);
  EXPECT_EQ(cmd.flag, 0);
  EXPECT_FALSE(cmd.remark.has_value());
  EXPECT_EQ(cmd.ext_fields, (ExtFields{{"topic", "T"}}));
  EXPECT_TRUE(cmd.body.empty());
  EXPECT_EQ(cmd.serialize_type, SerializeType::kJson);
  EXPECT_EQ(EncodeFrame(cmd), frame);
}

// code 10, CPP, version 407, opaque 0x01020304, flag 2, remark "ok", ext {a: b}, body "xy".
const std::vector<uint8_t> kHandBuiltBinaryFrame = {
    0x00, 0x00, 0x00, 0x25,                         // frame_len 37 = 4 + 31 + 2
    0x01, 0x00, 0x00, 0x1F,                         // ROCKETMQ, header_len 31
    0x00, 0x0A,                                     // code
    0x01,                                           // language CPP
    0x01, 0x97,                                     // version 407
    0x01, 0x02, 0x03, 0x04,                         // opaque
    0x00, 0x00, 0x00, 0x02,                         // flag oneway
    0x00, 0x00, 0x00, 0x02, 'o',  'k',              // remark
    0x00, 0x00, 0x00, 0x08,                         // ext_len
    0x00, 0x01, 'a',  0x00, 0x00, 0x00, 0x01, 'b',  // a -> b
    'x',  'y',                                      // body
};

TEST(RemotingFrameTest, HandBuiltBinaryFrameRoundTrips) {
  // Proves a ROCKETMQ frame built byte by byte decodes field by field and re-encodes identically.
  auto r = DecodeAll(kHandBuiltBinaryFrame);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value());
  const RemotingCommand& cmd = **r;
  EXPECT_EQ(cmd.code, 10);
  EXPECT_EQ(cmd.language, LanguageCode::kCpp);
  EXPECT_EQ(cmd.version, 407);
  EXPECT_EQ(cmd.opaque, 0x01020304);
  EXPECT_TRUE(cmd.is_oneway());
  EXPECT_EQ(cmd.remark, "ok");
  EXPECT_EQ(cmd.ext_fields.at("a"), "b");
  EXPECT_EQ(cmd.body, (std::vector<uint8_t>{'x', 'y'}));
  EXPECT_EQ(cmd.serialize_type, SerializeType::kRocketmq);
  EXPECT_EQ(EncodeFrame(cmd), kHandBuiltBinaryFrame);
}

TEST(RemotingFrameTest, SplitAtEveryByteBoundary) {
  // Proves two back-to-back frames decode the same however the stream is cut in two.
  std::vector<uint8_t> stream = ExampleFrame();
  stream.insert(stream.end(), kHandBuiltBinaryFrame.begin(), kHandBuiltBinaryFrame.end());
  for (size_t cut = 0; cut <= stream.size(); cut++) {
    FrameDecoder d;
    std::vector<RemotingCommand> got;
    for (auto part : {std::span(stream).first(cut), std::span(stream).subspan(cut)}) {
      d.Feed(part);
      while (true) {
        auto r = d.Next();
        ASSERT_TRUE(r.ok()) << cut;
        if (!r->has_value()) break;
        got.push_back(std::move(**r));
      }
    }
    ASSERT_EQ(got.size(), 2u) << cut;
    EXPECT_EQ(got[0].code, 105);
    EXPECT_EQ(got[1].code, 10);
    EXPECT_EQ(d.buffered_bytes(), 0u);
  }
}

TEST(RemotingFrameTest, ByteAtATime) {
  // Proves feeding one byte at a time yields nothing until the last byte, then the command.
  FrameDecoder d;
  for (size_t i = 0; i < kHandBuiltBinaryFrame.size(); i++) {
    d.Feed(std::span(&kHandBuiltBinaryFrame[i], 1));
    auto r = d.Next();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->has_value(), i + 1 == kHandBuiltBinaryFrame.size()) << i;
  }
}

TEST(RemotingFrameTest, OversizeFrameIsTooLargeFromThePrefixAlone) {
  // Proves frame_len over 16 MiB fails with kFrameTooLarge before any body arrives, and the
  // decoder stays failed.
  FrameDecoder d;
  d.Feed(Prefix(kFrameBytesMax + 1, 10));
  EXPECT_EQ(d.Next().code(), ErrorCode::kFrameTooLarge);
  EXPECT_TRUE(d.failed());
  d.Feed(ExampleFrame());
  EXPECT_EQ(d.Next().code(), ErrorCode::kFrameTooLarge);
  // Exactly the limit is still waiting for bytes, not an error.
  FrameDecoder at_limit;
  at_limit.Feed(Prefix(kFrameBytesMax, 10));
  auto r = at_limit.Next();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST(RemotingFrameTest, MalformedPrefixes) {
  // Proves negative or short frame_len, header_len beyond the frame and unknown types are
  // kMalformed.
  EXPECT_EQ(DecodeAll(Prefix(0x80000000u, 0)).code(), ErrorCode::kMalformed);
  EXPECT_EQ(DecodeAll(Prefix(3, 0)).code(), ErrorCode::kMalformed);
  EXPECT_EQ(DecodeAll(Prefix(10, 7)).code(), ErrorCode::kMalformed);
  EXPECT_EQ(DecodeAll(Prefix(100, (2u << 24) | 10)).code(), ErrorCode::kMalformed);
  // A JSON header that is not JSON, complete in the buffer.
  std::vector<uint8_t> f = Prefix(4 + 3, 3);
  f.insert(f.end(), {'{', 'x', '}'});
  EXPECT_EQ(DecodeAll(f).code(), ErrorCode::kMalformed);
  // Header_len 0 with JSON type: an empty header is not an object.
  EXPECT_EQ(DecodeAll(Prefix(4, 0)).code(), ErrorCode::kMalformed);
}

TEST(RemotingFrameTest, MakeResponseEchoesOpaqueAndType) {
  // Proves a response keeps the request's opaque and serialize type and sets the response flag.
  auto r = DecodeAll(kHandBuiltBinaryFrame);
  ASSERT_TRUE(r.ok());
  RemotingCommand resp = MakeResponse(**r, 17, "topic not exist");
  EXPECT_EQ(resp.opaque, 0x01020304);
  EXPECT_EQ(resp.serialize_type, SerializeType::kRocketmq);
  EXPECT_TRUE(resp.is_response());
  EXPECT_EQ(resp.code, 17);
  EXPECT_EQ(resp.remark, "topic not exist");
  auto back = DecodeAll(EncodeFrame(resp));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(**back, resp);
}

}  // namespace
}  // namespace apogee
