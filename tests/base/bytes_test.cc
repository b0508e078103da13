#include "core/base/bytes.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace apogee {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(BytesTest, PutWritesBigEndian) {
  // Proves the Put helpers write the most significant byte first (network order).
  uint8_t b[8] = {};
  PutU16(b, 0x1234);
  EXPECT_EQ(Bytes(b, b + 2), (Bytes{0x12, 0x34}));
  PutU32(b, 0x89ABCDEFu);
  EXPECT_EQ(Bytes(b, b + 4), (Bytes{0x89, 0xAB, 0xCD, 0xEF}));
  PutU64(b, 0x0102030405060708ull);
  EXPECT_EQ(Bytes(b, b + 8), (Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(BytesTest, GetReadsBigEndian) {
  // Proves the Get helpers read the most significant byte first, including high-bit bytes that
  // must not sign-extend.
  const uint8_t b[8] = {0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10};
  EXPECT_EQ(GetU16(b), 0xFEDC);
  EXPECT_EQ(GetU32(b), 0xFEDCBA98u);
  EXPECT_EQ(GetU64(b), 0xFEDCBA9876543210ull);
}

TEST(ByteWriterTest, AppendsInOrder) {
  // Proves the writer appends each value big-endian after what is already in the buffer, and
  // that signed values are written in two's complement as Java's DataOutput does.
  Bytes out = {0xAA};
  ByteWriter w(&out);
  w.U8(0x01);
  w.U16(0x0203);
  w.U32(0x04050607);
  w.I32(-1);
  w.I64(-2);
  w.Bytes(std::string_view("hi"));
  const uint8_t raw[] = {0x7F};
  w.Bytes(std::span<const uint8_t>(raw));
  EXPECT_EQ(w.size(), out.size());
  EXPECT_EQ(out, (Bytes{0xAA, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0xFF, 0xFF, 0xFF, 0xFF,
                        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 'h',  'i',  0x7F}));
}

TEST(ByteReaderTest, ReadsWhatTheWriterWrote) {
  // Proves a reader decodes each field of a writer's output and tracks its position.
  Bytes buf;
  buf.reserve(64);  // GCC 12 -O3 warns falsely (-Wstringop-overflow) on the regrowth path
  ByteWriter w(&buf);
  w.U8(9);
  w.U16(65535);
  w.U32(0xDEADBEEF);
  w.U64(0x0123456789ABCDEFull);
  w.I32(-7);
  w.I64(INT64_MIN);
  w.Bytes(std::string_view("topic"));
  ByteReader r(buf);
  EXPECT_EQ(r.U8(), 9);
  EXPECT_EQ(r.U16(), 65535);
  EXPECT_EQ(r.U32(), 0xDEADBEEFu);
  EXPECT_EQ(r.U64(), 0x0123456789ABCDEFull);
  EXPECT_EQ(r.I32(), -7);
  EXPECT_EQ(r.I64(), INT64_MIN);
  EXPECT_EQ(r.position(), buf.size() - 5);
  EXPECT_EQ(r.remaining(), 5u);
  EXPECT_EQ(r.String(5), "topic");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(ByteReaderTest, ShortReadFailsSoftlyAndStaysFailed) {
  // Proves a read past the end returns zero and clears ok(), and that every later read also
  // returns zero even where bytes remain, so a decoder may check once after a whole header.
  const Bytes buf = {0x11, 0x22, 0x33};
  ByteReader r(buf);
  EXPECT_EQ(r.U32(), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.position(), 0u);
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(r.U8(), 0u);  // 0x11 is there, but the reader has failed
  EXPECT_EQ(r.U16(), 0u);
  EXPECT_EQ(r.I64(), 0);
  EXPECT_TRUE(r.Bytes(1).empty());
  EXPECT_EQ(r.String(1), "");
  EXPECT_FALSE(r.ok());
}

TEST(ByteReaderTest, ExactLengthReadSucceeds) {
  // Proves reading exactly the remaining bytes is not a short read (no off-by-one at the end).
  const Bytes buf = {0, 0, 0, 5, 'a', 'b'};
  ByteReader r(buf);
  EXPECT_EQ(r.U32(), 5u);
  auto rest = r.Bytes(2);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0], 'a');
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.U8(), 0u);
  EXPECT_FALSE(r.ok());
}

TEST(ByteReaderTest, HugeLengthDoesNotOverflow) {
  // Proves a length field near SIZE_MAX (as a hostile frame could carry) fails cleanly instead
  // of wrapping the bounds check around.
  const Bytes buf = {1, 2, 3, 4};
  ByteReader r(buf);
  EXPECT_EQ(r.U8(), 1);
  EXPECT_TRUE(r.Bytes(SIZE_MAX).empty());
  EXPECT_FALSE(r.ok());
}

TEST(ByteReaderTest, EmptyInput) {
  // Proves a reader over nothing fails on its first read but a zero-length read succeeds.
  ByteReader r(std::span<const uint8_t>{});
  EXPECT_TRUE(r.Bytes(0).empty());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.U8(), 0);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace apogee
