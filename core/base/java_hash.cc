#include "core/base/java_hash.h"

namespace apogee {
namespace {

// Decodes one UTF-8 sequence at s[i], advancing i. A malformed sequence yields one U+FFFD and
// skips exactly the bytes Java's UTF-8 decoder replaces with it: the longest prefix of a
// well-formed sequence (at least one byte), except that an encoded surrogate (ED A0..BF xx) is
// replaced as a whole. Checked against OpenJDK 17's new String(bytes, UTF_8).
uint32_t NextCodePoint(std::string_view s, size_t& i) {
  constexpr uint32_t kReplacement = 0xFFFD;
  size_t left = s.size() - i;
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  auto continuation = [&](size_t k) { return k < left && (byte(k) & 0xC0) == 0x80; };
  uint8_t b0 = byte(0);
  if (b0 < 0x80) {
    i += 1;
    return b0;
  }
  size_t len;
  uint8_t second_lo = 0x80;  // the range of the second byte (Unicode table 3-7)
  uint8_t second_hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) second_lo = 0xA0;  // shorter forms are overlong
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) second_lo = 0x90;  // overlong
    if (b0 == 0xF4) second_hi = 0x8F;  // beyond U+10FFFF
  } else {
    i += 1;  // C0, C1, F5..FF or a stray continuation byte
    return kReplacement;
  }
  if (!continuation(1) || byte(1) < second_lo || byte(1) > second_hi) {
    i += 1;
    return kReplacement;
  }
  uint32_t cp = b0 & (0x7F >> len);
  for (size_t k = 1; k < len; k++) {
    if (!continuation(k)) {
      i += k;  // the well-formed prefix, truncated or cut short, counts as one character
      return kReplacement;
    }
    cp = (cp << 6) | (byte(k) & 0x3F);
  }
  i += len;
  if (cp >= 0xD800 && cp <= 0xDFFF) return kReplacement;
  return cp;
}

}  // namespace

int32_t JavaStringHash(std::string_view utf8) {
  uint32_t h = 0;  // unsigned: Java's int overflow wraps, C++'s signed overflow is undefined
  size_t i = 0;
  while (i < utf8.size()) {
    uint32_t cp = NextCodePoint(utf8, i);
    if (cp >= 0x10000) {
      uint32_t v = cp - 0x10000;
      h = 31 * h + (0xD800 + (v >> 10));
      h = 31 * h + (0xDC00 + (v & 0x3FF));
    } else {
      h = 31 * h + cp;
    }
  }
  return static_cast<int32_t>(h);
}

}  // namespace apogee
