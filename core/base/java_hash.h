#pragma once

// Java's String.hashCode(), which RocketMQ stores as the tag hash code of a consume-queue
// entry: s[0]*31^(n-1) + ... + s[n-1] over the UTF-16 code units of the string, in 32-bit
// two's-complement arithmetic. Input is UTF-8; characters outside the Basic Multilingual Plane
// count as two code units (a surrogate pair), exactly as in Java. Invalid UTF-8 bytes count as
// U+FFFD, as Java's decoder would replace them.

#include <cstdint>
#include <string_view>

namespace apogee {

int32_t JavaStringHash(std::string_view utf8);

}  // namespace apogee
