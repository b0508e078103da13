#pragma once

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), bit-for-bit equal to
// java.util.zip.CRC32, which RocketMQ uses for message bodies. RocketMQ stores
// `crc & 0x7FFFFFFF` (see MaskedCrc32) so the value fits a positive Java int.

#include <cstdint>
#include <span>
#include <string_view>

namespace apogee {

// Continues a CRC: Crc32(b, Crc32(a)) == Crc32(a + b). Start with 0.
uint32_t Crc32(std::span<const uint8_t> data, uint32_t crc = 0);
inline uint32_t Crc32(std::string_view s, uint32_t crc = 0) {
  return Crc32(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()), crc);
}
inline uint32_t MaskedCrc32(std::span<const uint8_t> data) { return Crc32(data) & 0x7FFFFFFFu; }

}  // namespace apogee
