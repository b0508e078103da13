#pragma once

// A small JSON value with a reader and a writer, for the headers and bodies RocketMQ sends.
//
// The reader accepts standard JSON (RFC 8259) plus one extension that old fastjson emits: bare
// numeric object keys (`{0:"10.0.0.1:10911"}`). It is strict everywhere else: no trailing commas,
// no comments, no raw control characters in strings, no lone surrogates, nothing but whitespace
// after the value. It limits nesting depth and input size, and never aborts on any input: every
// error is kMalformed with the byte position in the message.
//
// The writer emits standard JSON: keys always quoted, `"`, `\` and control characters escaped,
// other bytes (UTF-8) passed through unchanged, numbers written as their original text.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace apogee {

// Nesting deeper than this (arrays and objects inside each other) is rejected by the reader.
inline constexpr int kJsonDepthMax = 64;
// Inputs longer than this are rejected by the reader; the largest frame is 16 MiB.
inline constexpr size_t kJsonBytesMax = 16 * 1024 * 1024;

struct JsonMember;

// Invariants: only the accessors of the value's kind may be called (asserted); a number's text
// is valid JSON number syntax, and int64() is set exactly when that text is an integer that fits.
class JsonValue {
 public:
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

  JsonValue() = default;  // null
  static JsonValue Bool(bool b);
  static JsonValue Int(int64_t v);
  // REQUIRES: `text` is a JSON number (as the reader checks).
  static JsonValue Number(std::string text);
  static JsonValue String(std::string s);
  static JsonValue Array();
  static JsonValue Object();

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_number() const { return kind_ == Kind::kNumber; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }

  bool bool_value() const;
  // The number as written ("407", "-1.5e3").
  const std::string& number_text() const;
  // The number when it is an integer that fits in int64, else nullopt.
  std::optional<int64_t> int64() const;
  const std::string& string_value() const;
  const std::vector<JsonValue>& items() const;
  // Members in the order they were read or added.
  const std::vector<JsonMember>& members() const;

  // Array: appends. Object: appends a member (duplicates are kept; Find returns the last).
  void Append(JsonValue v);
  void Add(std::string key, JsonValue v);
  // Object: the value of the last member named `key`, or nullptr.
  const JsonValue* Find(std::string_view key) const;

  bool operator==(const JsonValue& other) const;

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  std::optional<int64_t> int_;
  std::string text_;  // number text or string value
  std::vector<JsonValue> items_;
  std::vector<JsonMember> members_;
};

struct JsonMember {
  std::string key;
  JsonValue value;
  bool operator==(const JsonMember& other) const = default;
};

// Parses one JSON value that spans all of `text` (surrounding whitespace allowed).
// On failure returns kMalformed ("json: <what> at byte <n>"); never aborts.
Result<JsonValue> ParseJson(std::string_view text);

// Reads the string token that starts at text[*pos] (its opening quote), escapes decoded as
// ParseJson decodes them, and moves *pos past its closing quote. On failure returns kMalformed
// (as ParseJson would word it) and leaves *pos alone. REQUIRES: text[*pos] == '"'.
Result<std::string> ReadJsonString(std::string_view text, size_t* pos);

// Standard JSON for `v`, without any whitespace between tokens.
std::string WriteJson(const JsonValue& v);
// Appends the quoted, escaped form of `s` to `out`.
void WriteJsonString(std::string_view s, std::string* out);

}  // namespace apogee
