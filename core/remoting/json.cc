#include "core/remoting/json.h"

#include <fmt/format.h>

#include <charconv>
#include <utility>

namespace apogee {

JsonValue JsonValue::Bool(bool b) {
  JsonValue v;
  v.kind_ = Kind::kBool;
  v.bool_ = b;
  return v;
}

JsonValue JsonValue::Int(int64_t i) {
  JsonValue v;
  v.kind_ = Kind::kNumber;
  v.int_ = i;
  v.text_ = fmt::format("{}", i);
  return v;
}

JsonValue JsonValue::Number(std::string text) {
  APOGEE_ASSERT(!text.empty());
  JsonValue v;
  v.kind_ = Kind::kNumber;
  int64_t i = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, i);
  if (ec == std::errc() && ptr == end) v.int_ = i;
  v.text_ = std::move(text);
  return v;
}

JsonValue JsonValue::String(std::string s) {
  JsonValue v;
  v.kind_ = Kind::kString;
  v.text_ = std::move(s);
  return v;
}

JsonValue JsonValue::Array() {
  JsonValue v;
  v.kind_ = Kind::kArray;
  return v;
}

JsonValue JsonValue::Object() {
  JsonValue v;
  v.kind_ = Kind::kObject;
  return v;
}

bool JsonValue::bool_value() const {
  APOGEE_ASSERT(is_bool());
  return bool_;
}
const std::string& JsonValue::number_text() const {
  APOGEE_ASSERT(is_number());
  return text_;
}
std::optional<int64_t> JsonValue::int64() const {
  APOGEE_ASSERT(is_number());
  return int_;
}
const std::string& JsonValue::string_value() const {
  APOGEE_ASSERT(is_string());
  return text_;
}
const std::vector<JsonValue>& JsonValue::items() const {
  APOGEE_ASSERT(is_array());
  return items_;
}
const std::vector<JsonMember>& JsonValue::members() const {
  APOGEE_ASSERT(is_object());
  return members_;
}

void JsonValue::Append(JsonValue v) {
  APOGEE_ASSERT(is_array());
  items_.push_back(std::move(v));
}

void JsonValue::Add(std::string key, JsonValue v) {
  APOGEE_ASSERT(is_object());
  members_.push_back(JsonMember{std::move(key), std::move(v)});
}

const JsonValue* JsonValue::Find(std::string_view key) const {
  APOGEE_ASSERT(is_object());
  for (auto it = members_.rbegin(); it != members_.rend(); ++it) {
    if (it->key == key) return &it->value;
  }
  return nullptr;
}

bool JsonValue::operator==(const JsonValue& other) const {
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::kNull:
      return true;
    case Kind::kBool:
      return bool_ == other.bool_;
    case Kind::kNumber:
    case Kind::kString:
      return text_ == other.text_;
    case Kind::kArray:
      return items_ == other.items_;
    case Kind::kObject:
      return members_ == other.members_;
  }
  return false;
}

// --- Writer ---

void WriteJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  // Runs of characters that need no escape (nearly all of them) are appended whole.
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (static_cast<unsigned char>(c) >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        out->append(fmt::format("\\u{:04x}", static_cast<unsigned>(c)));
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

namespace {

void WriteValue(const JsonValue& v, std::string* out) {
  switch (v.kind()) {
    case JsonValue::Kind::kNull:
      out->append("null");
      return;
    case JsonValue::Kind::kBool:
      out->append(v.bool_value() ? "true" : "false");
      return;
    case JsonValue::Kind::kNumber:
      out->append(v.number_text());
      return;
    case JsonValue::Kind::kString:
      WriteJsonString(v.string_value(), out);
      return;
    case JsonValue::Kind::kArray: {
      out->push_back('[');
      bool first = true;
      for (const JsonValue& item : v.items()) {
        if (!first) out->push_back(',');
        first = false;
        WriteValue(item, out);
      }
      out->push_back(']');
      return;
    }
    case JsonValue::Kind::kObject: {
      out->push_back('{');
      bool first = true;
      for (const JsonMember& m : v.members()) {
        if (!first) out->push_back(',');
        first = false;
        WriteJsonString(m.key, out);
        out->push_back(':');
        WriteValue(m.value, out);
      }
      out->push_back('}');
      return;
    }
  }
}

}  // namespace

std::string WriteJson(const JsonValue& v) {
  std::string out;
  WriteValue(v, &out);
  return out;
}

}  // namespace apogee
