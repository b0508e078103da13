#pragma once

// Big-endian (network order) integer helpers, as RocketMQ's wire and store formats use.
// GetU* read from a raw pointer and do not check bounds: callers check lengths first, with the
// explicit limits of the format they decode. ByteReader checks every read and fails softly.

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/assert.h"

namespace apogee {

inline void PutU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
inline void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}
inline uint16_t GetU16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t GetU32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v = (v << 8) | p[i];
  return v;
}
inline uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

// Appends big-endian values to a growing buffer.
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(v); }
  void U16(uint16_t v) {
    Grow(2, [&](uint8_t* p) { PutU16(p, v); });
  }
  void U32(uint32_t v) {
    Grow(4, [&](uint8_t* p) { PutU32(p, v); });
  }
  void U64(uint64_t v) {
    Grow(8, [&](uint8_t* p) { PutU64(p, v); });
  }
  void I32(int32_t v) { U32(static_cast<uint32_t>(v)); }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Bytes(std::span<const uint8_t> b) { out_->insert(out_->end(), b.begin(), b.end()); }
  void Bytes(std::string_view s) { out_->insert(out_->end(), s.begin(), s.end()); }
  size_t size() const { return out_->size(); }

 private:
  template <typename F>
  void Grow(size_t n, F put) {
    size_t at = out_->size();
    out_->resize(at + n);
    put(out_->data() + at);
  }
  std::vector<uint8_t>* out_;
};

// Reads big-endian values from a span, failing softly: after any short read ok() is false and
// every further read returns zero, so a decoder can read a whole header and check once.
class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> in) : in_(in) {}
  uint8_t U8() { return Take(1) ? in_[pos_ - 1] : 0; }
  uint16_t U16() { return Take(2) ? GetU16(&in_[pos_ - 2]) : 0; }
  uint32_t U32() { return Take(4) ? GetU32(&in_[pos_ - 4]) : 0; }
  uint64_t U64() { return Take(8) ? GetU64(&in_[pos_ - 8]) : 0; }
  int32_t I32() { return static_cast<int32_t>(U32()); }
  int64_t I64() { return static_cast<int64_t>(U64()); }
  std::span<const uint8_t> Bytes(size_t n) {
    if (!Take(n)) return {};
    return in_.subspan(pos_ - n, n);
  }
  std::string String(size_t n) {
    auto b = Bytes(n);
    return std::string(b.begin(), b.end());
  }
  bool ok() const { return ok_; }
  size_t position() const { return pos_; }
  size_t remaining() const { return ok_ ? in_.size() - pos_ : 0; }

 private:
  bool Take(size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    pos_ += n;
    return true;
  }
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace apogee
