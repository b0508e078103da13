#pragma once

// Typed access to a command's extFields, the string map every RocketMQ request header travels in.
//
// Reading: a FieldReader records the first problem (a required field missing, a number that does
// not parse) and keeps answering defaults after it, so a header decoder reads every field in a
// row and checks status() once. Numbers may carry surrounding whitespace; booleans are "true" or
// "false" in any case, as Java's Boolean.parseBoolean reads them (anything else is false).
// Unknown fields are ignored (clients add signatures and other extras).
//
// Writing: every value becomes its decimal or literal text, as the Java client's reflection does.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/status.h"
#include "core/remoting/ext_fields.h"

namespace apogee::protocol {

using ExtFields = ::apogee::ExtFields;

class FieldReader {
 public:
  explicit FieldReader(const ExtFields& fields) : fields_(fields) {}

  // Required fields: a missing one makes status() kInvalidArgument naming it.
  std::string String(std::string_view key);
  int64_t Int64(std::string_view key);
  int32_t Int32(std::string_view key);
  bool Bool(std::string_view key);

  // Optional fields: absent (or, for numbers, empty) gives nullopt; present but malformed still
  // sets status().
  std::optional<std::string> OptString(std::string_view key);
  std::optional<int64_t> OptInt64(std::string_view key);
  std::optional<int32_t> OptInt32(std::string_view key);
  std::optional<bool> OptBool(std::string_view key);

  // OK, or the first problem met: "the request header lacks field 'topic'",
  // "field 'queueId' is not an int32: 'x'".
  const Status& status() const { return status_; }

 private:
  const std::string* Find(std::string_view key, bool required);
  std::optional<int64_t> ParseInt(std::string_view key, const std::string& text, int64_t min,
                                  int64_t max);

  const ExtFields& fields_;
  Status status_;
};

// Parses a decimal integer (optional sign, surrounding whitespace) that fits [min, max].
std::optional<int64_t> ParseDecimal(std::string_view text, int64_t min, int64_t max);

inline void SetField(ExtFields& f, std::string key, std::string value) {
  f.Set(std::move(key), std::move(value));
}
void SetField(ExtFields& f, std::string key, int64_t value);
inline void SetField(ExtFields& f, std::string key, int32_t value) {
  SetField(f, std::move(key), static_cast<int64_t>(value));
}
void SetField(ExtFields& f, std::string key, bool value);
inline void SetField(ExtFields& f, std::string key, const char* value) {
  f.Set(std::move(key), value);
}
// Sets the field only when `value` holds one.
template <typename T>
void SetOptField(ExtFields& f, std::string key, const std::optional<T>& value) {
  if (value.has_value()) SetField(f, std::move(key), *value);
}

}  // namespace apogee::protocol
