// The JSON header codec of RemotingCommand (see command.h).

#include <fmt/format.h>

#include <limits>

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

Status ReadExtFields(const JsonValue& ext, std::map<std::string, std::string>* out) {
  if (!ext.is_object()) return HeaderError("extFields is not an object");
  for (const JsonMember& m : ext.members()) {
    const JsonValue& v = m.value;
    switch (v.kind()) {
      case JsonValue::Kind::kNull:
        break;  // Java's map would hold null; nothing to keep.
      case JsonValue::Kind::kString:
        (*out)[m.key] = v.string_value();
        break;
      case JsonValue::Kind::kNumber:
        (*out)[m.key] = v.number_text();
        break;
      case JsonValue::Kind::kBool:
        (*out)[m.key] = v.bool_value() ? "true" : "false";
        break;
      default:
        return HeaderError(fmt::format("extFields.{} is an array or object", m.key));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeJsonHeader(const RemotingCommand& cmd) {
  // Sorted keys, as fastjson writes them, so the doc's example header comes out byte for byte.
  std::string out = fmt::format("{{\"code\":{}", cmd.code);
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
  out.append(fmt::format(",\"flag\":{},\"language\":\"{}\",\"opaque\":{}", cmd.flag,
                         LanguageName(cmd.language), cmd.opaque));
  if (cmd.remark.has_value()) {
    out.append(",\"remark\":");
    WriteJsonString(*cmd.remark, &out);
  }
  out.append(fmt::format(",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":{}}}", cmd.version));
  APOGEE_ASSERT(out.front() == '{');
  APOGEE_ASSERT(out.back() == '}');
  return out;
}

Status DecodeJsonHeader(std::string_view header, RemotingCommand* cmd) {
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
