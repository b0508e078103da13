// The JSON header codec of RemotingCommand (see command.h).

#include <fmt/format.h>

#include <limits>
#include <optional>
#include <string>

#include "core/remoting/command.h"
#include "core/remoting/json.h"

namespace apogee {
namespace {

Status HeaderError(std::string_view what) {
  return Status(ErrorCode::kMalformed, fmt::format("json header: {}", what));
}

// An int32 field: an integral JSON number in range; null leaves the default.
Status ReadInt32(const JsonValue& obj, std::string_view key, int32_t* out) {
  const JsonValue* v = obj.Find(key);
  if (v == nullptr || v->is_null()) return Status::Ok();
  if (!v->is_number() || !v->int64().has_value()) {
    return HeaderError(fmt::format("{} is not an integer", key));
  }
  int64_t i = *v->int64();
  if (i < std::numeric_limits<int32_t>::min() || i > std::numeric_limits<int32_t>::max()) {
    return HeaderError(fmt::format("{} out of int32 range", key));
  }
  *out = static_cast<int32_t>(i);
  return Status::Ok();
}

// A repeated key keeps its last value.
Status ReadExtFields(const JsonValue& ext, ExtFields* out) {
  if (!ext.is_object()) return HeaderError("extFields is not an object");
  std::vector<ExtFields::Entry> entries;
  entries.reserve(ext.members().size());
  for (const JsonMember& m : ext.members()) {
    const JsonValue& v = m.value;
    switch (v.kind()) {
      case JsonValue::Kind::kNull:
        break;  // Java's map would hold null; nothing to keep.
      case JsonValue::Kind::kString:
        entries.emplace_back(m.key, v.string_value());
        break;
      case JsonValue::Kind::kNumber:
        entries.emplace_back(m.key, v.number_text());
        break;
      case JsonValue::Kind::kBool:
        entries.emplace_back(m.key, v.bool_value() ? "true" : "false");
        break;
      default:
        return HeaderError(fmt::format("extFields.{} is an array or object", m.key));
    }
  }
  *out = ExtFields::FromEntries(std::move(entries));
  return Status::Ok();
}

// The fast path of DecodeJsonHeader: one pass over the header shape every RocketMQ client sends
// (the known top-level keys, an extFields object of strings, integers and booleans), straight
// into the fields, without a JsonValue tree. It only ever accepts text that is valid JSON and
// decodes it as the tree decoder does; anything else (a null, a fraction, an unknown key, an
// error) makes it give up, and the tree decoder takes over and has the last word, errors
// included. A property test holds the two to the same results.
class FastHeaderCursor {
 public:
  explicit FastHeaderCursor(std::string_view in) : in_(in) {}

  // Skips whitespace, then consumes `c` if it is next.
  bool Take(char c) {
    SkipSpace();
    if (pos_ < in_.size() && in_[pos_] == c) {
      pos_++;
      return true;
    }
    return false;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ == in_.size();
  }
  // A string. One without escapes is a view into the input; one with escapes is decoded into
  // *scratch and viewed there (valid until the next call with the same scratch).
  bool String(std::string_view* out, std::string* scratch) {
    if (!Take('"')) return false;
    size_t start = pos_;
    while (pos_ < in_.size()) {
      char c = in_[pos_];
      if (c == '"') {
        *out = in_.substr(start, pos_ - start);
        pos_++;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c == '\\') {
        // Escapes (RocketMQ's property separators \u0001 and \u0002 in every send) are rare
        // enough per string to hand to the reader's own decoder.
        size_t at = start - 1;
        Result<std::string> decoded = ReadJsonString(in_, &at);
        if (!decoded.ok()) return false;
        *scratch = std::move(decoded).value();
        *out = *scratch;
        pos_ = at;
        return true;
      }
      pos_++;
    }
    return false;
  }
  // -?(0|[1-9][0-9]{0,17}), not followed by a fraction or an exponent.
  bool Integer(std::string_view* text, int64_t* value) {
    SkipSpace();
    size_t start = pos_;
    bool negative = pos_ < in_.size() && in_[pos_] == '-';
    if (negative) pos_++;
    size_t digits_start = pos_;
    int64_t v = 0;
    while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') {
      v = v * 10 + (in_[pos_] - '0');
      pos_++;
      if (pos_ - digits_start > 18) return false;  // leaves the range question to the tree
    }
    size_t digits = pos_ - digits_start;
    if (digits == 0 || (digits > 1 && in_[digits_start] == '0')) return false;
    if (pos_ < in_.size() && (in_[pos_] == '.' || in_[pos_] == 'e' || in_[pos_] == 'E')) {
      return false;
    }
    *text = in_.substr(start, pos_ - start);
    *value = negative ? -v : v;
    return true;
  }
  bool Int32(int32_t* out) {
    std::string_view text;
    int64_t v = 0;
    if (!Integer(&text, &v)) return false;
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
      return false;
    }
    *out = static_cast<int32_t>(v);
    return true;
  }
  // An extFields value as its text: a string, an integer, true or false.
  bool ExtValue(std::string_view* out, std::string* scratch) {
    SkipSpace();
    if (pos_ >= in_.size()) return false;
    char c = in_[pos_];
    if (c == '"') return String(out, scratch);
    if (c == 't' || c == 'f') {
      std::string_view word = c == 't' ? "true" : "false";
      if (in_.substr(pos_, word.size()) != word) return false;
      pos_ += word.size();
      *out = word;
      return true;
    }
    int64_t ignored = 0;
    return Integer(out, &ignored);
  }

 private:
  void SkipSpace() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
      pos_++;
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
};

// Reads an extFields object into `ext` (cleared first: the last extFields wins, as in the tree).
bool FastExtFields(FastHeaderCursor& c, ExtFields* ext) {
  ext->clear();
  if (!c.Take('{')) return false;
  if (c.Take('}')) return true;
  std::vector<ExtFields::Entry> entries;
  entries.reserve(16);
  for (;;) {
    std::string_view key;
    std::string_view value;
    std::string key_scratch;
    std::string value_scratch;
    if (!c.String(&key, &key_scratch) || !c.Take(':') || !c.ExtValue(&value, &value_scratch)) {
      return false;
    }
    entries.emplace_back(std::string(key), std::string(value));
    if (c.Take(',')) continue;
    if (!c.Take('}')) return false;
    // A repeated key keeps the last value, as in the tree decoder.
    *ext = ExtFields::FromEntries(std::move(entries));
    return true;
  }
}

// True when the fast path decoded `header` into *cmd; false leaves *cmd untouched.
bool DecodeJsonHeaderFast(std::string_view header, RemotingCommand* cmd) {
  if (header.size() > kJsonBytesMax) return false;
  FastHeaderCursor c(header);
  int32_t code = cmd->code;
  int32_t version = cmd->version;
  int32_t opaque = cmd->opaque;
  int32_t flag = cmd->flag;
  LanguageCode language = cmd->language;
  std::optional<std::string> remark;
  ExtFields ext;
  std::string scratch;
  if (!c.Take('{')) return false;
  if (!c.Take('}')) {
    for (;;) {
      std::string_view key;
      std::string key_scratch;
      if (!c.String(&key, &key_scratch) || !c.Take(':')) return false;
      bool ok = false;
      if (key == "code") {
        ok = c.Int32(&code);
      } else if (key == "opaque") {
        ok = c.Int32(&opaque);
      } else if (key == "flag") {
        ok = c.Int32(&flag);
      } else if (key == "version") {
        ok = c.Int32(&version);
      } else if (key == "extFields") {
        ok = FastExtFields(c, &ext);
      } else if (key == "language") {
        std::string_view name;
        ok = c.String(&name, &scratch);
        if (ok) language = LanguageFromName(name);
      } else if (key == "remark") {
        std::string_view text;
        ok = c.String(&text, &scratch);
        if (ok) remark.emplace(text);
      } else if (key == "serializeTypeCurrentRPC") {
        std::string_view ignored;
        ok = c.String(&ignored, &scratch);
      }
      if (!ok) return false;
      if (c.Take(',')) continue;
      if (c.Take('}')) break;
      return false;
    }
  }
  if (!c.AtEnd()) return false;
  cmd->code = code;
  cmd->version = version;
  cmd->opaque = opaque;
  cmd->flag = flag;
  cmd->language = language;
  cmd->remark = std::move(remark);
  cmd->ext_fields = std::move(ext);
  return true;
}

}  // namespace

std::string EncodeJsonHeader(const RemotingCommand& cmd) {
  // Sorted keys, as fastjson writes them, so the doc's example header comes out byte for byte.
  // Built by appends into one reservation: this runs for every request and response.
  size_t estimate = 128 + (cmd.remark.has_value() ? cmd.remark->size() : 0);
  for (const auto& [k, v] : cmd.ext_fields) estimate += k.size() + v.size() + 6;
  std::string out;
  out.reserve(estimate);
  auto append_int = [&out](int32_t v) {
    fmt::format_int text(v);
    out.append(text.data(), text.size());
  };
  out.append("{\"code\":");
  append_int(cmd.code);
  if (!cmd.ext_fields.empty()) {
    out.append(",\"extFields\":{");
    bool first = true;
    for (const auto& [k, v] : cmd.ext_fields) {
      if (!first) out.push_back(',');
      first = false;
      WriteJsonString(k, &out);
      out.push_back(':');
      WriteJsonString(v, &out);
    }
    out.push_back('}');
  }
  out.append(",\"flag\":");
  append_int(cmd.flag);
  out.append(",\"language\":\"");
  out.append(LanguageName(cmd.language));
  out.append("\",\"opaque\":");
  append_int(cmd.opaque);
  if (cmd.remark.has_value()) {
    out.append(",\"remark\":");
    WriteJsonString(*cmd.remark, &out);
  }
  out.append(",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
  append_int(cmd.version);
  out.push_back('}');
  APOGEE_ASSERT(out.front() == '{');
  APOGEE_ASSERT(out.back() == '}');
  return out;
}

Status DecodeJsonHeader(std::string_view header, RemotingCommand* cmd) {
  APOGEE_ASSERT(cmd != nullptr);
  if (DecodeJsonHeaderFast(header, cmd)) return Status::Ok();
  return DecodeJsonHeaderReference(header, cmd);
}

Status DecodeJsonHeaderReference(std::string_view header, RemotingCommand* cmd) {
  APOGEE_ASSERT(cmd != nullptr);
  Result<JsonValue> parsed = ParseJson(header);
  if (!parsed.ok()) return HeaderError(parsed.status().message());
  const JsonValue& obj = parsed.value();
  if (!obj.is_object()) return HeaderError("not an object");

  APOGEE_RETURN_IF_ERROR(ReadInt32(obj, "code", &cmd->code));
  APOGEE_RETURN_IF_ERROR(ReadInt32(obj, "version", &cmd->version));
  APOGEE_RETURN_IF_ERROR(ReadInt32(obj, "opaque", &cmd->opaque));
  APOGEE_RETURN_IF_ERROR(ReadInt32(obj, "flag", &cmd->flag));

  if (const JsonValue* lang = obj.Find("language"); lang != nullptr && !lang->is_null()) {
    if (!lang->is_string()) return HeaderError("language is not a string");
    cmd->language = LanguageFromName(lang->string_value());
  }
  cmd->remark.reset();
  if (const JsonValue* remark = obj.Find("remark"); remark != nullptr && !remark->is_null()) {
    if (!remark->is_string()) return HeaderError("remark is not a string");
    cmd->remark = remark->string_value();
  }
  cmd->ext_fields.clear();
  if (const JsonValue* ext = obj.Find("extFields"); ext != nullptr && !ext->is_null()) {
    APOGEE_RETURN_IF_ERROR(ReadExtFields(*ext, &cmd->ext_fields));
  }
  return Status::Ok();
}

}  // namespace apogee
