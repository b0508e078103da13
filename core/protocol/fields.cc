#include "core/protocol/fields.h"

#include <fmt/format.h>

#include <charconv>
#include <limits>

namespace apogee::protocol {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<int64_t> ParseDecimal(std::string_view text, int64_t min, int64_t max) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  if (v < min || v > max) return std::nullopt;
  return v;
}

const std::string* FieldReader::Find(std::string_view key, bool required) {
  const std::string* value = fields_.Get(key);
  if (value == nullptr) {
    if (required && status_.ok()) {
      status_ = Status(ErrorCode::kInvalidArgument,
                       fmt::format("the request header lacks field '{}'", key));
    }
    return nullptr;
  }
  return value;
}

std::optional<int64_t> FieldReader::ParseInt(std::string_view key, const std::string& text,
                                             int64_t min, int64_t max) {
  std::optional<int64_t> v = ParseDecimal(text, min, max);
  if (!v.has_value() && status_.ok()) {
    status_ = Status(ErrorCode::kInvalidArgument,
                     fmt::format("field '{}' is not an {}: '{}'", key,
                                 max == std::numeric_limits<int32_t>::max() ? "int32" : "int64",
                                 text.substr(0, 64)));
  }
  return v;
}

std::string FieldReader::String(std::string_view key) {
  const std::string* v = Find(key, true);
  return v != nullptr ? *v : std::string();
}

int64_t FieldReader::Int64(std::string_view key) {
  const std::string* v = Find(key, true);
  if (v == nullptr) return 0;
  return ParseInt(key, *v, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max())
      .value_or(0);
}

int32_t FieldReader::Int32(std::string_view key) {
  const std::string* v = Find(key, true);
  if (v == nullptr) return 0;
  return static_cast<int32_t>(
      ParseInt(key, *v, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max())
          .value_or(0));
}

bool FieldReader::Bool(std::string_view key) {
  const std::string* v = Find(key, true);
  return v != nullptr && EqualsIgnoreCase(Trim(*v), "true");
}

std::optional<std::string> FieldReader::OptString(std::string_view key) {
  const std::string* v = Find(key, false);
  if (v == nullptr) return std::nullopt;
  return *v;
}

std::optional<int64_t> FieldReader::OptInt64(std::string_view key) {
  const std::string* v = Find(key, false);
  if (v == nullptr || Trim(*v).empty()) return std::nullopt;
  return ParseInt(key, *v, std::numeric_limits<int64_t>::min(),
                  std::numeric_limits<int64_t>::max());
}

std::optional<int32_t> FieldReader::OptInt32(std::string_view key) {
  const std::string* v = Find(key, false);
  if (v == nullptr || Trim(*v).empty()) return std::nullopt;
  std::optional<int64_t> r =
      ParseInt(key, *v, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
  if (!r.has_value()) return std::nullopt;
  return static_cast<int32_t>(*r);
}

std::optional<bool> FieldReader::OptBool(std::string_view key) {
  const std::string* v = Find(key, false);
  if (v == nullptr) return std::nullopt;
  return EqualsIgnoreCase(Trim(*v), "true");
}

void SetField(ExtFields& f, std::string key, int64_t value) {
  const fmt::format_int text(value);
  f.Set(std::move(key), std::string(text.data(), text.size()));
}

void SetField(ExtFields& f, std::string key, bool value) {
  f.Set(std::move(key), value ? "true" : "false");
}

}  // namespace apogee::protocol
