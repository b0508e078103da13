#include "core/protocol/json_fields.h"

#include <fmt/format.h>

#include <limits>

#include "core/protocol/fields.h"

namespace apogee::protocol {

namespace {

// Errors quote at most this many bytes of the offending value.
constexpr size_t kQuotedBytesMax = 64;

std::string Describe(const JsonValue& v) {
  switch (v.kind()) {
    case JsonValue::Kind::kNull:
      return "null";
    case JsonValue::Kind::kBool:
      return v.bool_value() ? "true" : "false";
    case JsonValue::Kind::kNumber:
      return fmt::format("number {}", v.number_text().substr(0, kQuotedBytesMax));
    case JsonValue::Kind::kString:
      return fmt::format("string '{}'", v.string_value().substr(0, kQuotedBytesMax));
    case JsonValue::Kind::kArray:
      return "an array";
    case JsonValue::Kind::kObject:
      return "an object";
  }
  return "?";
}

bool EqualsIgnoreCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (c != lower[i]) return false;
  }
  return true;
}

}  // namespace

Status JsonError(std::string_view path, std::string_view detail) {
  return Status(ErrorCode::kMalformed, fmt::format("{}: {}", path, detail));
}

Result<int64_t> JsonToInt(const JsonValue& v, std::string_view path, int64_t min, int64_t max) {
  APOGEE_ASSERT(min <= max);
  std::optional<int64_t> n;
  if (v.is_number()) {
    n = v.int64();
  } else if (v.is_string()) {
    n = ParseDecimal(v.string_value(), std::numeric_limits<int64_t>::min(),
                     std::numeric_limits<int64_t>::max());
  }
  const char* type = max == std::numeric_limits<int32_t>::max() ? "an int32" : "an integer";
  if (!n.has_value()) {
    return JsonError(path, fmt::format("{} was expected, got {}", type, Describe(v)));
  }
  if (*n < min || *n > max) {
    return JsonError(path, fmt::format("{} is outside [{}, {}]", *n, min, max));
  }
  return *n;
}

Result<int32_t> JsonToInt32(const JsonValue& v, std::string_view path) {
  APOGEE_ASSIGN_OR_RETURN(int64_t n, JsonToInt(v, path, std::numeric_limits<int32_t>::min(),
                                               std::numeric_limits<int32_t>::max()));
  return static_cast<int32_t>(n);
}

Result<int64_t> JsonToInt64(const JsonValue& v, std::string_view path) {
  return JsonToInt(v, path, std::numeric_limits<int64_t>::min(),
                   std::numeric_limits<int64_t>::max());
}

Result<std::string> JsonToString(const JsonValue& v, std::string_view path) {
  if (v.is_string()) return v.string_value();
  if (v.is_number()) return v.number_text();
  if (v.is_bool()) return std::string(v.bool_value() ? "true" : "false");
  return JsonError(path, fmt::format("a string was expected, got {}", Describe(v)));
}

Result<bool> JsonToBool(const JsonValue& v, std::string_view path) {
  if (v.is_bool()) return v.bool_value();
  if (v.is_string()) {
    if (EqualsIgnoreCase(v.string_value(), "true")) return true;
    if (EqualsIgnoreCase(v.string_value(), "false")) return false;
  }
  if (v.is_number()) {
    std::optional<int64_t> n = v.int64();
    if (n == 0) return false;
    if (n == 1) return true;
  }
  return JsonError(path, fmt::format("a boolean was expected, got {}", Describe(v)));
}

JsonObjectReader::JsonObjectReader(const JsonValue& v, std::string path)
    : value_(v), path_(std::move(path)) {
  if (!v.is_object()) {
    status_ = JsonError(path_, fmt::format("an object was expected, got {}", Describe(v)));
  }
}

std::string JsonObjectReader::PathOf(std::string_view key) const {
  return fmt::format("{}.{}", path_, key);
}

std::string JsonObjectReader::ItemPath(std::string_view key, size_t index) const {
  return fmt::format("{}.{}[{}]", path_, key, index);
}

void JsonObjectReader::Fail(Status s) {
  APOGEE_ASSERT(!s.ok());
  if (status_.ok()) status_ = std::move(s);
}

const JsonValue* JsonObjectReader::Member(std::string_view key) const {
  if (!value_.is_object()) return nullptr;
  const JsonValue* m = value_.Find(key);
  if (m == nullptr || m->is_null()) return nullptr;
  return m;
}

const JsonValue* JsonObjectReader::Required(std::string_view key) {
  const JsonValue* m = Member(key);
  if (m == nullptr && value_.is_object()) Fail(JsonError(PathOf(key), "the member is missing"));
  return m;
}

template <typename T>
T JsonObjectReader::Take(Result<T> r, T fallback) {
  if (!r.ok()) {
    Fail(r.status());
    return fallback;
  }
  return std::move(r).value();
}

std::string JsonObjectReader::String(std::string_view key) {
  const JsonValue* m = Required(key);
  return m == nullptr ? std::string() : Take(JsonToString(*m, PathOf(key)), std::string());
}

int32_t JsonObjectReader::Int32(std::string_view key) {
  const JsonValue* m = Required(key);
  return m == nullptr ? 0 : Take(JsonToInt32(*m, PathOf(key)), 0);
}

int64_t JsonObjectReader::Int64(std::string_view key) {
  const JsonValue* m = Required(key);
  return m == nullptr ? 0 : Take(JsonToInt64(*m, PathOf(key)), int64_t{0});
}

bool JsonObjectReader::Bool(std::string_view key) {
  const JsonValue* m = Required(key);
  return m == nullptr ? false : Take(JsonToBool(*m, PathOf(key)), false);
}

std::string JsonObjectReader::String(std::string_view key, std::string_view fallback) {
  const JsonValue* m = Member(key);
  if (m == nullptr) return std::string(fallback);
  return Take(JsonToString(*m, PathOf(key)), std::string(fallback));
}

int32_t JsonObjectReader::Int32(std::string_view key, int32_t fallback) {
  const JsonValue* m = Member(key);
  return m == nullptr ? fallback : Take(JsonToInt32(*m, PathOf(key)), fallback);
}

int64_t JsonObjectReader::Int64(std::string_view key, int64_t fallback) {
  const JsonValue* m = Member(key);
  return m == nullptr ? fallback : Take(JsonToInt64(*m, PathOf(key)), fallback);
}

bool JsonObjectReader::Bool(std::string_view key, bool fallback) {
  const JsonValue* m = Member(key);
  return m == nullptr ? fallback : Take(JsonToBool(*m, PathOf(key)), fallback);
}

std::optional<std::string> JsonObjectReader::OptString(std::string_view key) {
  const JsonValue* m = Member(key);
  if (m == nullptr) return std::nullopt;
  Result<std::string> r = JsonToString(*m, PathOf(key));
  if (!r.ok()) {
    Fail(r.status());
    return std::nullopt;
  }
  return std::move(r).value();
}

const JsonValue* JsonObjectReader::Array(std::string_view key) {
  const JsonValue* m = Member(key);
  if (m == nullptr || m->is_array()) return m;
  Fail(JsonError(PathOf(key), fmt::format("an array was expected, got {}", Describe(*m))));
  return nullptr;
}

const JsonValue* JsonObjectReader::Object(std::string_view key) {
  const JsonValue* m = Member(key);
  if (m == nullptr || m->is_object()) return m;
  Fail(JsonError(PathOf(key), fmt::format("an object was expected, got {}", Describe(*m))));
  return nullptr;
}

std::vector<std::string> JsonObjectReader::StringArray(std::string_view key) {
  std::vector<std::string> out;
  const JsonValue* a = Array(key);
  if (a == nullptr) return out;
  out.reserve(a->items().size());
  for (size_t i = 0; i < a->items().size(); ++i) {
    Result<std::string> r = JsonToString(a->items()[i], fmt::format("{}[{}]", PathOf(key), i));
    if (!r.ok()) {
      Fail(r.status());
      return {};
    }
    out.push_back(std::move(r).value());
  }
  return out;
}

Result<JsonValue> ParseJsonObject(std::string_view text, std::string_view what) {
  Result<JsonValue> v = ParseJson(text);
  if (!v.ok()) return JsonError(what, v.status().message());
  if (!v->is_object()) return JsonError(what, "the body is not a JSON object");
  return v;
}

}  // namespace apogee::protocol
