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

}  // namespace

std::vector<uint8_t> EncodeFrame(const RemotingCommand& cmd) {
  std::vector<uint8_t> out;
  EncodeFrameTo(cmd, &out);
  return out;
}

size_t EncodeFrameTo(const RemotingCommand& cmd, std::vector<uint8_t>* out) {
  // The header is encoded on its own (its length goes in front of it), then copied once.
  std::string json;
  std::vector<uint8_t> binary;
  std::span<const uint8_t> header;
  if (cmd.serialize_type == SerializeType::kJson) {
    json = EncodeJsonHeader(cmd);
    header = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(json.data()), json.size());
  } else {
    APOGEE_ASSERT(cmd.serialize_type == SerializeType::kRocketmq);
    binary = EncodeBinaryHeader(cmd);
    header = std::span<const uint8_t>(binary);
  }
  APOGEE_ASSERT(header.size() <= kHeaderLenMask, "header of {} bytes", header.size());
  const size_t frame_len = 4 + header.size() + cmd.body.size();
  APOGEE_ASSERT(frame_len <= kFrameBytesMax, "frame_len {}", frame_len);

  const size_t start = out->size();
  // Grows geometrically: a connection's output buffer takes many frames in a row.
  const size_t needed = start + 4 + frame_len;
  if (out->capacity() < needed) out->reserve(std::max(needed, 2 * out->capacity()));
  ByteWriter w(out);
  w.U32(static_cast<uint32_t>(frame_len));
  w.U32((static_cast<uint32_t>(cmd.serialize_type) << 24) | static_cast<uint32_t>(header.size()));
  w.Bytes(header);
  w.Bytes(std::span<const uint8_t>(cmd.body));
  APOGEE_ASSERT(out->size() == start + 4 + frame_len);
  return 4 + frame_len;
}

void FrameDecoder::Feed(std::span<const uint8_t> bytes) {
  if (failed()) return;
  // Drop consumed bytes once they are the larger part, so the buffer stays near one frame.
  if (read_pos_ > 0 && read_pos_ >= buffer_.size() / 2) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(read_pos_));
    read_pos_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
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
