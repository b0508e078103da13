#pragma once

// The remoting frame (rocketmq-protocol.md section 1):
//
//   int32 BE frame_len = 4 + header_len + body_len   (does not count itself)
//   int32 BE (serialize_type << 24) | header_len     (header_len in the low 24 bits)
//   byte[header_len] header                          (JSON or ROCKETMQ binary, see command.h)
//   byte[body_len] body
//
// A pure codec: bytes in, commands out. The connection that owns a FrameDecoder closes itself
// when the decoder fails.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/remoting/command.h"

namespace apogee {

// The largest frame_len accepted or produced (Netty's frame limit in NettyDecoder.java).
inline constexpr size_t kFrameBytesMax = 16 * 1024 * 1024;
// The two int32 words in front of the header.
inline constexpr size_t kFramePrefixBytes = 8;

// The whole frame of `cmd`, length field included, with the header kind of cmd.serialize_type.
// REQUIRES: the frame_len fits in kFrameBytesMax; a ROCKETMQ header's code and version fit int16.
std::vector<uint8_t> EncodeFrame(const RemotingCommand& cmd);
// The same frame appended to `*out`; returns its size. REQUIRES: as EncodeFrame.
size_t EncodeFrameTo(const RemotingCommand& cmd, std::vector<uint8_t>* out);

// An allocator whose value-less construct leaves bytes uninitialized, so that growing a buffer
// a read is about to fill does not zero it first.
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  template <typename U>
  UninitializedAllocator(const UninitializedAllocator<U>&) {}  // NOLINT: rebinding converts
  template <typename U>
  void construct(U* p) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

// Splits a byte stream into commands. Bytes may arrive split at any point.
//
// Invariants: once Next() has returned an error the decoder is failed for good: Next() returns
// the same error again and Feed() discards its input.
class FrameDecoder {
 public:
  // Appends received bytes.
  void Feed(std::span<const uint8_t> bytes);
  // The same without a copy: room for up to `n` bytes at the end of the buffer, for a read to
  // fill; CommitFeed(m) then keeps the first m of them (m <= n, 0 for a failed read). The span
  // is valid until CommitFeed, and nothing else may be called in between.
  // REQUIRES: n > 0; every PrepareFeed is followed by one CommitFeed.
  std::span<uint8_t> PrepareFeed(size_t n);
  void CommitFeed(size_t n);

  // The next complete command, nullopt when more bytes are needed, or an error:
  // kFrameTooLarge when frame_len exceeds kFrameBytesMax; kMalformed when frame_len is negative
  // or under 4, header_len exceeds frame_len - 4, the serialize type is unknown, or the header
  // does not decode. Errors about the prefix are reported as soon as its 8 bytes are in.
  Result<std::optional<RemotingCommand>> Next();

  bool failed() const { return !error_.ok(); }
  // Bytes fed and not yet returned as commands.
  size_t buffered_bytes() const { return buffer_.size() - prepared_ - read_pos_; }

 private:
  Status Fail(Status s);
  // Drops the consumed bytes at the front when that is cheap or they are the larger part.
  void Compact();

  std::vector<uint8_t, UninitializedAllocator<uint8_t>> buffer_;
  size_t read_pos_ = 0;
  size_t prepared_ = 0;  // bytes at the end of buffer_ handed out by PrepareFeed
  Status error_;
};

// The response to `request`: same opaque and serialize type, the response flag set, the given
// code and remark, language and version of this server.
RemotingCommand MakeResponse(const RemotingCommand& request, int32_t code,
                             std::optional<std::string> remark = std::nullopt);

}  // namespace apogee
