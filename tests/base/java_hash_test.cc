#include "core/base/java_hash.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace apogee {
namespace {

// Every expected value below was printed by OpenJDK 17 as
// new String(bytes, StandardCharsets.UTF_8).hashCode() for the same bytes.

TEST(JavaHashTest, AsciiGoldens) {
  // Proves the hash equals Java's String.hashCode() on ASCII strings.
  EXPECT_EQ(JavaStringHash(""), 0);
  EXPECT_EQ(JavaStringHash("a"), 97);
  // "TagA" = 'T'*31^3 + 'a'*31^2 + 'g'*31 + 'A'
  //        = 84*29791 + 97*961 + 103*31 + 65 = 2502444 + 93217 + 3193 + 65 = 2598919.
  EXPECT_EQ(JavaStringHash("TagA"), 2598919);
  EXPECT_EQ(JavaStringHash("hello"), 99162322);
  EXPECT_EQ(JavaStringHash("TagA||TagB"), 1789476431);
}

TEST(JavaHashTest, KnownCollision) {
  // Proves the textbook Java collision holds: "Aa" and "BB" both hash to 2112.
  EXPECT_EQ(JavaStringHash("Aa"), 2112);
  EXPECT_EQ(JavaStringHash("BB"), 2112);
}

TEST(JavaHashTest, OverflowWrapsLikeJavaInt) {
  // Proves 32-bit two's-complement wrap-around: these strings overflow many times, and
  // "polygenelubricants" famously lands exactly on Integer.MIN_VALUE.
  EXPECT_EQ(JavaStringHash("Hello World"), -862545276);
  EXPECT_EQ(JavaStringHash("The quick brown fox jumps over the lazy dog"), -609428141);
  EXPECT_EQ(JavaStringHash("polygenelubricants"), INT32_MIN);
}

TEST(JavaHashTest, NonAsciiBmpCharacterIsOneCodeUnit) {
  // Proves a two-byte UTF-8 character counts as its single UTF-16 code unit: "é" is U+00E9.
  EXPECT_EQ(JavaStringHash("\xC3\xA9"), 233);
  // "aé" = 97*31 + 233.
  EXPECT_EQ(JavaStringHash("a\xC3\xA9"), 97 * 31 + 233);
  // "€" (U+20AC, three UTF-8 bytes) is one code unit too.
  EXPECT_EQ(JavaStringHash("\xE2\x82\xAC"), 0x20AC);
}

TEST(JavaHashTest, SupplementaryCharacterIsASurrogatePair) {
  // Proves a character outside the BMP counts as two UTF-16 code units, as in Java: U+1F600 is
  // the pair D83D DE00, so its hash is 31*0xD83D + 0xDE00 = 1772899.
  EXPECT_EQ(JavaStringHash("\xF0\x9F\x98\x80"), 31 * 0xD83D + 0xDE00);
  EXPECT_EQ(JavaStringHash("\xF0\x9F\x98\x80"), 1772899);
}

struct Golden {
  std::string_view utf8;
  int32_t java_hash;
  const char* what;
};

void ExpectGoldens(std::initializer_list<Golden> goldens) {
  for (const Golden& g : goldens) EXPECT_EQ(JavaStringHash(g.utf8), g.java_hash) << g.what;
}

TEST(JavaHashTest, InvalidBytesBecomeReplacementCharacters) {
  // Proves invalid UTF-8 hashes as Java's decoder reads it, with U+FFFD (65533) in place of
  // each malformed sequence.
  ExpectGoldens({
      {"\xFF", 65533, "FF is never valid in UTF-8"},
      {"\x80", 65533, "stray continuation byte"},
      {"a\xFF\x62", (97 * 31 + 65533) * 31 + 98, "a FFFD b"},
      {"a\xFF\x62", 2124838, "a FFFD b, as Java printed it"},
      {"\xC3", 65533, "truncated two-byte form"},
      {"\xC2\x41", 2031588, "FFFD then 'A' (65533*31 + 65)"},
      {"\xC0\x80", 2097056, "overlong NUL: FFFD FFFD"},
      {"\xE0\x80\x80", 65074269, "overlong three-byte form: FFFD x3"},
      {"\xF4\x90\x80\x80", 2017367872, "above U+10FFFF: FFFD x4"},
      {"\xF5\x80", 2097056, "F5 is never valid: FFFD x2"},
  });
}

TEST(JavaHashTest, TruncatedSequenceIsOneReplacementCharacter) {
  // Proves a well-formed prefix of a multi-byte character that is cut short counts as a single
  // U+FFFD, as in Java, not one per byte.
  ExpectGoldens({
      {"\xE2\x82", 65533, "the euro sign without its last byte"},
      {"\xE2\x82\x41", 2031588, "the same, then 'A': 65533*31 + 65"},
      {"\xF0\x9F\x98", 65533, "U+1F600 without its last byte"},
      {"\xF0\x9F\x98\x41", 2031588, "the same, then 'A'"},
  });
}

TEST(JavaHashTest, EncodedSurrogateIsOneReplacementCharacter) {
  // Proves a surrogate code point encoded in UTF-8 (CESU-style ED A0 80 = U+D800) is replaced
  // by one U+FFFD, as Java's decoder does.
  EXPECT_EQ(JavaStringHash("\xED\xA0\x80"), 65533);
}

}  // namespace
}  // namespace apogee
