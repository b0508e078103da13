#include "core/base/crc32.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace apogee {
namespace {

// CRC-32 one bit at a time, straight from the definition (reflected polynomial 0xEDB88320):
// slow and obviously right, the reference the table-driven code is checked against.
uint32_t BitwiseCrc32(std::span<const uint8_t> data, uint32_t crc = 0) {
  uint32_t c = ~crc;
  for (uint8_t byte : data) {
    c ^= byte;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
  }
  return ~c;
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Crc32Test, MatchesJavaCrc32Goldens) {
  // Proves Crc32 equals java.util.zip.CRC32 on known inputs (values printed by OpenJDK 17).
  EXPECT_EQ(Crc32(std::string_view("")), 0u);
  EXPECT_EQ(Crc32(std::string_view("123456789")), 0xCBF43926u);
  EXPECT_EQ(Crc32(std::string_view("The quick brown fox jumps over the lazy dog")), 0x414FA339u);
}

TEST(Crc32Test, MatchesJavaCrc32OnAllByteValues) {
  // Proves the 0x00..0xFF sequence (which crosses many 8-byte blocks) and each single byte
  // value give java.util.zip.CRC32's results; single bytes go through the byte-wise tail loop.
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; i++) all[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Crc32(all), 0x29058C73u);  // new CRC32().update(bytes 0..255) in Java
  // Java: CRC32 c = new CRC32(); c.update(b) for b = 0x00, 0x01, 0x80, 0xFF.
  const uint8_t b00[] = {0x00}, b01[] = {0x01}, b80[] = {0x80}, bff[] = {0xFF};
  EXPECT_EQ(Crc32(b00), 0xD202EF8Du);
  EXPECT_EQ(Crc32(b01), 0xA505DF1Bu);
  EXPECT_EQ(Crc32(b80), 0x3FBA6CADu);
  EXPECT_EQ(Crc32(bff), 0xFF000000u);
  for (int i = 0; i < 256; i++) {
    const uint8_t one[] = {static_cast<uint8_t>(i)};
    EXPECT_EQ(Crc32(one), BitwiseCrc32(one)) << "byte " << i;
  }
}

TEST(Crc32Test, StringAndSpanOverloadsAgree) {
  // Proves the string_view convenience overload hashes the same bytes as the span one,
  // including bytes above 0x7F (char may be signed).
  const std::string s = "caf\xC3\xA9 \xFF\x80";
  EXPECT_EQ(Crc32(s), Crc32(AsBytes(s)));
  EXPECT_EQ(Crc32(s), BitwiseCrc32(AsBytes(s)));
}

TEST(Crc32Test, EveryLengthAndAlignmentMatchesReference) {
  // Proves the slicing-by-8 loop and its byte-wise tail agree with the reference for every
  // length 0..64 at every starting alignment 0..7 (unaligned loads, partial blocks).
  std::vector<uint8_t> buf(80);
  for (size_t i = 0; i < buf.size(); i++) buf[i] = static_cast<uint8_t>(i * 151 + 7);
  for (size_t offset = 0; offset < 8; offset++) {
    for (size_t len = 0; len <= 64; len++) {
      std::span<const uint8_t> s(buf.data() + offset, len);
      ASSERT_EQ(Crc32(s), BitwiseCrc32(s)) << "offset " << offset << " len " << len;
    }
  }
}

TEST(Crc32Test, MaskedCrc32ClearsTheTopBit) {
  // Proves MaskedCrc32 is the CRC with bit 31 cleared (RocketMQ's crc & 0x7FFFFFFF), using an
  // input whose CRC has the top bit set.
  const auto digits = AsBytes("123456789");
  ASSERT_NE(Crc32(digits) & 0x80000000u, 0u);
  EXPECT_EQ(MaskedCrc32(digits), 0x4BF43926u);
  const auto fox = AsBytes("The quick brown fox jumps over the lazy dog");
  EXPECT_EQ(MaskedCrc32(fox), 0x414FA339u);  // top bit already clear: unchanged
}

// Proves the slicing-by-8 implementation equals the bitwise reference on arbitrary data.
RC_GTEST_PROP(Crc32Prop, SlicingEqualsBitwiseReference, (const std::vector<uint8_t>& data)) {
  RC_ASSERT(Crc32(data) == BitwiseCrc32(data));
}

// Proves continuation: Crc32(b, Crc32(a)) == Crc32(a + b), so a record can be checksummed in
// pieces.
RC_GTEST_PROP(Crc32Prop, ContinuationEqualsConcatenation,
              (const std::vector<uint8_t>& a, const std::vector<uint8_t>& b)) {
  std::vector<uint8_t> ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  RC_ASSERT(Crc32(b, Crc32(a)) == Crc32(ab));
}

// Proves MaskedCrc32 is exactly Crc32 with the sign bit cleared, so it always fits a positive
// Java int.
RC_GTEST_PROP(Crc32Prop, MaskedIsCrcWithoutTopBit, (const std::vector<uint8_t>& data)) {
  RC_ASSERT(MaskedCrc32(data) == (Crc32(data) & 0x7FFFFFFFu));
  RC_ASSERT((MaskedCrc32(data) & 0x80000000u) == 0u);
}

}  // namespace
}  // namespace apogee
