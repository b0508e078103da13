// The ROCKETMQ binary header codec of RemotingCommand (see command.h).

#include <fmt/format.h>

#include <cstring>
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
  std::vector<uint8_t> out;
  EncodeBinaryHeaderTo(cmd, &out);
  return out;
}

size_t EncodeBinaryHeaderTo(const RemotingCommand& cmd, std::vector<uint8_t>* out) {
  APOGEE_ASSERT(FitsInt16(cmd.code), "code {}", cmd.code);
  APOGEE_ASSERT(FitsInt16(cmd.version), "version {}", cmd.version);
  const std::string_view remark =
      cmd.remark.has_value() ? std::string_view(*cmd.remark) : std::string_view();
  size_t ext_bytes = 0;
  for (const auto& [k, v] : cmd.ext_fields) {
    APOGEE_ASSERT(k.size() <= static_cast<size_t>(std::numeric_limits<int16_t>::max()));
    ext_bytes += 2 + k.size() + 4 + v.size();
  }
  const size_t header_bytes = kBinaryHeaderFixedBytes + remark.size() + ext_bytes;
  // One resize, then the fields go straight into place: this runs for every command sent.
  const size_t start = out->size();
  out->resize(start + header_bytes);
  uint8_t* p = out->data() + start;
  auto put_bytes = [&p](std::string_view b) {
    if (!b.empty()) std::memcpy(p, b.data(), b.size());
    p += b.size();
  };
  PutU16(p, static_cast<uint16_t>(static_cast<int16_t>(cmd.code)));
  p[2] = static_cast<uint8_t>(cmd.language);
  PutU16(p + 3, static_cast<uint16_t>(static_cast<int16_t>(cmd.version)));
  PutU32(p + 5, static_cast<uint32_t>(cmd.opaque));
  PutU32(p + 9, static_cast<uint32_t>(cmd.flag));
  PutU32(p + 13, static_cast<uint32_t>(remark.size()));
  p += 17;
  put_bytes(remark);
  PutU32(p, static_cast<uint32_t>(ext_bytes));
  p += 4;
  for (const auto& [k, v] : cmd.ext_fields) {
    PutU16(p, static_cast<uint16_t>(k.size()));
    p += 2;
    put_bytes(k);
    PutU32(p, static_cast<uint32_t>(v.size()));
    p += 4;
    put_bytes(v);
  }
  APOGEE_ASSERT(p == out->data() + out->size());
  APOGEE_ASSERT(out->size() - start == header_bytes);
  return header_bytes;
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
  // Collected in arrival order, then made a map in one step: a sorted header (what encoders
  // write) costs one pass, and a hostile unsorted one n log n rather than n^2.
  std::vector<ExtFields::Entry> entries;
  entries.reserve(16);
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
    entries.emplace_back(std::move(key), r.String(static_cast<size_t>(val_len)));
  }
  // A key that comes twice keeps its last value.
  cmd->ext_fields = ExtFields::FromEntries(std::move(entries));
  APOGEE_ASSERT(r.ok());
  APOGEE_ASSERT(r.position() == header.size());
  return Status::Ok();
}

}  // namespace apogee
