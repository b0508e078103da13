#include "core/remoting/frame.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "core/base/bytes.h"

namespace apogee {
namespace {

constexpr uint32_t kHeaderLenMask = 0xFFFFFF;
// The version this server announces in its responses (RocketMQ 4.9.7 sends 407).
constexpr int32_t kServerVersion = 407;

// Makes room for `needed` bytes in all, growing geometrically: a connection's output buffer takes
// many frames in a row.
void Reserve(std::vector<uint8_t>* out, size_t needed) {
  if (out->capacity() < needed) out->reserve(std::max(needed, 2 * out->capacity()));
}

}  // namespace

std::vector<uint8_t> EncodeFrame(const RemotingCommand& cmd) {
  std::vector<uint8_t> out;
  EncodeFrameTo(cmd, &out);
  return out;
}

size_t EncodeFrameTo(const RemotingCommand& cmd, std::vector<uint8_t>* out) {
  const size_t start = out->size();
  // The prefix is written once the header's length is known; a binary header goes straight
  // into place behind it, a JSON one (built as text) is copied in once.
  out->resize(start + kFramePrefixBytes);
  size_t header_len = 0;
  if (cmd.serialize_type == SerializeType::kJson) {
    const std::string json = EncodeJsonHeader(cmd);
    header_len = json.size();
    Reserve(out, start + kFramePrefixBytes + header_len + cmd.body.size());
    out->insert(out->end(), json.begin(), json.end());
  } else {
    APOGEE_ASSERT(cmd.serialize_type == SerializeType::kRocketmq);
    header_len = EncodeBinaryHeaderTo(cmd, out);
    Reserve(out, out->size() + cmd.body.size());
  }
  APOGEE_ASSERT(header_len <= kHeaderLenMask, "header of {} bytes", header_len);
  const size_t frame_len = 4 + header_len + cmd.body.size();
  APOGEE_ASSERT(frame_len <= kFrameBytesMax, "frame_len {}", frame_len);
  PutU32(out->data() + start, static_cast<uint32_t>(frame_len));
  PutU32(out->data() + start + 4,
         (static_cast<uint32_t>(cmd.serialize_type) << 24) | static_cast<uint32_t>(header_len));
  out->insert(out->end(), cmd.body.begin(), cmd.body.end());
  APOGEE_ASSERT(out->size() == start + 4 + frame_len);
  return 4 + frame_len;
}

void FrameDecoder::Compact() {
  // Drop consumed bytes once they are the larger part, so the buffer stays near one frame. All
  // of it consumed (the usual case between reads) costs nothing to drop.
  if (read_pos_ == buffer_.size()) {
    buffer_.clear();
    read_pos_ = 0;
  } else if (read_pos_ > 0 && read_pos_ >= buffer_.size() / 2) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(read_pos_));
    read_pos_ = 0;
  }
}

void FrameDecoder::Feed(std::span<const uint8_t> bytes) {
  if (failed()) return;
  Compact();
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

std::span<uint8_t> FrameDecoder::PrepareFeed(size_t n) {
  APOGEE_ASSERT(n > 0);
  APOGEE_ASSERT(prepared_ == 0, "PrepareFeed twice without CommitFeed");
  Compact();
  const size_t at = buffer_.size();
  // resize() would zero the bytes the read is about to overwrite; the capacity is kept between
  // reads, so this is a bounds move in the steady state.
  buffer_.resize(at + n);
  prepared_ = n;
  return std::span<uint8_t>(buffer_.data() + at, n);
}

void FrameDecoder::CommitFeed(size_t n) {
  APOGEE_ASSERT(n <= prepared_, "committed {} of {} prepared bytes", n, prepared_);
  APOGEE_ASSERT(buffer_.size() >= prepared_);
  buffer_.resize(buffer_.size() - (prepared_ - n));
  prepared_ = 0;
  if (failed()) {
    buffer_.clear();
    read_pos_ = 0;
  }
}

Status FrameDecoder::Fail(Status s) {
  APOGEE_ASSERT(!s.ok());
  error_ = s;
  buffer_.clear();
  read_pos_ = 0;
  return s;
}

Result<std::optional<RemotingCommand>> FrameDecoder::Next() {
  if (failed()) return error_;
  APOGEE_ASSERT(prepared_ == 0, "Next between PrepareFeed and CommitFeed");
  APOGEE_ASSERT(read_pos_ <= buffer_.size());
  const size_t available = buffer_.size() - read_pos_;
  if (available < kFramePrefixBytes) return std::optional<RemotingCommand>();
  const uint8_t* p = buffer_.data() + read_pos_;

  const int32_t frame_len = static_cast<int32_t>(GetU32(p));
  if (frame_len < 4) {
    return Fail(Status(ErrorCode::kMalformed, fmt::format("frame: frame_len {}", frame_len)));
  }
  if (static_cast<size_t>(frame_len) > kFrameBytesMax) {
    return Fail(Status(ErrorCode::kFrameTooLarge,
                       fmt::format("frame: frame_len {} exceeds {}", frame_len, kFrameBytesMax)));
  }
  const uint32_t type_and_len = GetU32(p + 4);
  const uint32_t type = type_and_len >> 24;
  const size_t header_len = type_and_len & kHeaderLenMask;
  if (type != static_cast<uint32_t>(SerializeType::kJson) &&
      type != static_cast<uint32_t>(SerializeType::kRocketmq)) {
    return Fail(Status(ErrorCode::kMalformed, fmt::format("frame: serialize type {}", type)));
  }
  if (header_len > static_cast<size_t>(frame_len) - 4) {
    return Fail(Status(ErrorCode::kMalformed, fmt::format("frame: header_len {} > frame_len {} - 4",
                                                          header_len, frame_len)));
  }
  if (available < 4 + static_cast<size_t>(frame_len)) return std::optional<RemotingCommand>();

  RemotingCommand cmd;
  cmd.serialize_type = static_cast<SerializeType>(type);
  std::span<const uint8_t> header(p + kFramePrefixBytes, header_len);
  Status s =
      cmd.serialize_type == SerializeType::kJson
          ? DecodeJsonHeader(
                std::string_view(reinterpret_cast<const char*>(header.data()), header.size()), &cmd)
          : DecodeBinaryHeader(header, &cmd);
  if (!s.ok()) return Fail(std::move(s));
  const uint8_t* body = p + kFramePrefixBytes + header_len;
  const size_t body_len = static_cast<size_t>(frame_len) - 4 - header_len;
  cmd.body.assign(body, body + body_len);
  read_pos_ += 4 + static_cast<size_t>(frame_len);
  APOGEE_ASSERT(read_pos_ <= buffer_.size());
  return std::optional<RemotingCommand>(std::move(cmd));
}

RemotingCommand MakeResponse(const RemotingCommand& request, int32_t code,
                             std::optional<std::string> remark) {
  RemotingCommand response;
  response.code = code;
  response.language = LanguageCode::kJava;
  response.version = kServerVersion;
  response.opaque = request.opaque;
  response.flag = kFlagResponse;
  response.remark = std::move(remark);
  response.serialize_type = request.serialize_type;
  APOGEE_ASSERT(response.is_response());
  return response;
}

}  // namespace apogee
