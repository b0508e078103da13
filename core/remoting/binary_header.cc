// The ROCKETMQ binary header codec of RemotingCommand (see command.h).

#include <fmt/format.h>

#include <limits>

#include "core/base/bytes.h"
#include "core/remoting/command.h"

namespace apogee {
namespace {

// code, language, version, opaque, flag, remark_len, ext_len.
constexpr size_t kBinaryHeaderFixedBytes = 2 + 1 + 2 + 4 + 4 + 4 + 4;

Status HeaderError(std::string_view what, size_t at) {
  return Status(ErrorCode::kMalformed, fmt::format("binary header: {} at byte {}", what, at));
}

bool FitsInt16(int32_t v) {
  return v >= std::numeric_limits<int16_t>::min() && v <= std::numeric_limits<int16_t>::max();
}

}  // namespace

std::vector<uint8_t> EncodeBinaryHeader(const RemotingCommand& cmd) {
  APOGEE_ASSERT(FitsInt16(cmd.code), "code {}", cmd.code);
  APOGEE_ASSERT(FitsInt16(cmd.version), "version {}", cmd.version);
  size_t ext_bytes = 0;
  for (const auto& [k, v] : cmd.ext_fields) ext_bytes += 2 + k.size() + 4 + v.size();
  std::vector<uint8_t> ext;
  ext.reserve(ext_bytes);
  ByteWriter e(&ext);
  for (const auto& [k, v] : cmd.ext_fields) {
    APOGEE_ASSERT(k.size() <= static_cast<size_t>(std::numeric_limits<int16_t>::max()));
    e.U16(static_cast<uint16_t>(k.size()));
    e.Bytes(std::string_view(k));
    e.U32(static_cast<uint32_t>(v.size()));
    e.Bytes(std::string_view(v));
  }
  std::vector<uint8_t> out;
  out.reserve(kBinaryHeaderFixedBytes + (cmd.remark.has_value() ? cmd.remark->size() : 0) +
              ext_bytes);
  ByteWriter w(&out);
  w.U16(static_cast<uint16_t>(static_cast<int16_t>(cmd.code)));
  w.U8(static_cast<uint8_t>(cmd.language));
  w.U16(static_cast<uint16_t>(static_cast<int16_t>(cmd.version)));
  w.I32(cmd.opaque);
  w.I32(cmd.flag);
  const std::string_view remark =
      cmd.remark.has_value() ? std::string_view(*cmd.remark) : std::string_view();
  w.U32(static_cast<uint32_t>(remark.size()));
  w.Bytes(std::string_view(remark));
  w.U32(static_cast<uint32_t>(ext.size()));
  w.Bytes(std::span<const uint8_t>(ext));
  APOGEE_ASSERT(out.size() == kBinaryHeaderFixedBytes + remark.size() + ext.size());
  return out;
}

Status DecodeBinaryHeader(std::span<const uint8_t> header, RemotingCommand* cmd) {
  APOGEE_ASSERT(cmd != nullptr);
  if (header.size() < kBinaryHeaderFixedBytes) return HeaderError("too short", header.size());
  ByteReader r(header);
  cmd->code = static_cast<int16_t>(r.U16());
  cmd->language = LanguageFromByte(r.U8());
  cmd->version = static_cast<int16_t>(r.U16());
  cmd->opaque = r.I32();
  cmd->flag = r.I32();

  int32_t remark_len = r.I32();
  if (remark_len < 0 || static_cast<size_t>(remark_len) > r.remaining()) {
    return HeaderError(fmt::format("bad remark length {}", remark_len), r.position());
  }
  cmd->remark.reset();
  if (remark_len > 0) cmd->remark = r.String(static_cast<size_t>(remark_len));

  if (r.remaining() < 4) return HeaderError("short ext length", r.position());
  int32_t ext_len = r.I32();
  if (ext_len < 0 || static_cast<size_t>(ext_len) != r.remaining()) {
    return HeaderError(fmt::format("ext length {} does not fill the header", ext_len),
                       r.position());
  }
  cmd->ext_fields.clear();
  while (r.remaining() > 0) {
    if (r.remaining() < 2) return HeaderError("short ext key length", r.position());
    int16_t key_len = static_cast<int16_t>(r.U16());
    if (key_len < 0 || static_cast<size_t>(key_len) > r.remaining()) {
      return HeaderError(fmt::format("bad ext key length {}", key_len), r.position());
    }
    std::string key = r.String(static_cast<size_t>(key_len));
    if (r.remaining() < 4) return HeaderError("short ext value length", r.position());
    int32_t val_len = r.I32();
    if (val_len < 0 || static_cast<size_t>(val_len) > r.remaining()) {
      return HeaderError(fmt::format("bad ext value length {}", val_len), r.position());
    }
    // Encoders write the keys in order, so the hint makes each insert constant time; a key
    // that comes twice keeps its last value.
    auto it = cmd->ext_fields.try_emplace(cmd->ext_fields.end(), std::move(key));
    it->second = r.String(static_cast<size_t>(val_len));
  }
  APOGEE_ASSERT(r.ok());
  APOGEE_ASSERT(r.position() == header.size());
  return Status::Ok();
}

}  // namespace apogee
