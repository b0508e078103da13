#pragma once

// RemotingCommand: one RocketMQ request or response, and the two header codecs of the remoting
// protocol (docs: /work/shared/rocketmq-protocol.md section 1).
//
// JSON header: an object with code, language, version, opaque, flag, remark, extFields and
// serializeTypeCurrentRPC, keys in sorted order as fastjson writes them, absent remark omitted.
// ROCKETMQ header, big-endian: int16 code | uint8 language | int16 version | int32 opaque |
// int32 flag | int32 remark_len | remark | int32 ext_len | ext, where ext is repeated
// int16 key_len, key, int32 val_len, val; remark_len 0 means no remark.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/remoting/ext_fields.h"

namespace apogee {

// The client's language; the values are the Java enum's ordinals (the binary header's byte).
enum class LanguageCode : uint8_t {
  kJava = 0,
  kCpp = 1,
  kDotnet = 2,
  kPython = 3,
  kDelphi = 4,
  kErlang = 5,
  kRuby = 6,
  kOther = 7,
  kHttp = 8,
  kGo = 9,
  kPhp = 10,
  kOms = 11,
  kRust = 12,
};

// "JAVA", "CPP", ... as the JSON header spells them.
std::string_view LanguageName(LanguageCode language);
// The language with that name; unknown names give kOther.
LanguageCode LanguageFromName(std::string_view name);
// The language with that ordinal; unknown ordinals give kOther.
LanguageCode LanguageFromByte(uint8_t b);

enum class SerializeType : uint8_t { kJson = 0, kRocketmq = 1 };

inline constexpr int32_t kFlagResponse = 1 << 0;
inline constexpr int32_t kFlagOneway = 1 << 1;

struct RemotingCommand {
  int32_t code = 0;
  LanguageCode language = LanguageCode::kJava;
  int32_t version = 0;
  int32_t opaque = 0;
  int32_t flag = 0;
  std::optional<std::string> remark;
  ExtFields ext_fields;
  std::vector<uint8_t> body;
  SerializeType serialize_type = SerializeType::kJson;

  bool is_response() const { return (flag & kFlagResponse) != 0; }
  bool is_oneway() const { return (flag & kFlagOneway) != 0; }
  bool operator==(const RemotingCommand& other) const = default;
};

// The JSON header of `cmd` (body and serialize_type are not part of it; the field
// serializeTypeCurrentRPC is written as "JSON").
std::string EncodeJsonHeader(const RemotingCommand& cmd);

// Fills every header field of `*cmd` from a JSON header; leaves body and serialize_type alone.
// Tolerates unknown top-level keys, null values (skipped), and extFields values sent as numbers
// or booleans (kept as their text: "0", "false"). On failure returns kMalformed.
Status DecodeJsonHeader(std::string_view header, RemotingCommand* cmd);
// The same decoder without its fast path (one pass straight into the fields for the headers
// real clients send): it parses the JsonValue tree and reads the fields from it. Every input
// decodes the same way, or fails with the same error, through either; exposed for the property
// test that holds them to it.
Status DecodeJsonHeaderReference(std::string_view header, RemotingCommand* cmd);

// The ROCKETMQ binary header of `cmd`.
// REQUIRES: code and version fit in int16; every ext key is at most 32767 bytes.
std::vector<uint8_t> EncodeBinaryHeader(const RemotingCommand& cmd);
// The same header appended to `*out`; returns its size. REQUIRES: as EncodeBinaryHeader.
size_t EncodeBinaryHeaderTo(const RemotingCommand& cmd, std::vector<uint8_t>* out);

// Fills every header field of `*cmd` from a binary header that spans all of `header`. Every
// length is checked against what remains; a negative length, an overrun, ext entries that do not
// exactly fill ext_len, or bytes after the ext area give kMalformed. An ext key that comes twice
// keeps its last value (as the JSON decoder does).
Status DecodeBinaryHeader(std::span<const uint8_t> header, RemotingCommand* cmd);

}  // namespace apogee
