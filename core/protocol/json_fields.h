#pragma once

// Typed access to the members of a JSON object, for the bodies RocketMQ clients send, and small
// helpers to build such objects.
//
// Reading is tolerant the way fastjson is: an integer may arrive as a JSON number or as a string
// of digits ("16"), a string member may arrive as a number or a boolean (its text is used), a
// boolean as true/false, "true"/"false" (any case) or 0/1; a member whose value is null counts as
// absent; unknown members are ignored. Everything else is an error.
//
// A JsonObjectReader records the first problem (the value is not an object, a required member is
// missing, a member has the wrong type or is out of range) and keeps answering defaults after
// it, so a decoder reads every member in a row and checks status() once. Errors are kMalformed
// and name the member by its path from the body's root: "TopicRouteData.queueDatas[1].perm: an
// int32 was expected, got string 'x'".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/remoting/json.h"

namespace apogee::protocol {

// Conversions of one value; `path` names it in the error. Integers must be whole numbers within
// [min, max] (a string is read as a decimal, surrounding spaces allowed).
Result<int64_t> JsonToInt(const JsonValue& v, std::string_view path, int64_t min, int64_t max);
Result<int32_t> JsonToInt32(const JsonValue& v, std::string_view path);
Result<int64_t> JsonToInt64(const JsonValue& v, std::string_view path);
Result<std::string> JsonToString(const JsonValue& v, std::string_view path);
Result<bool> JsonToBool(const JsonValue& v, std::string_view path);

class JsonObjectReader {
 public:
  // `path` names the object in errors ("HeartbeatData", "TopicRouteData.brokerDatas[0]").
  // A value that is not an object makes status() an error at once.
  JsonObjectReader(const JsonValue& v, std::string path);

  // Required members: absent (or null) makes status() "<path>.<key>: the member is missing".
  std::string String(std::string_view key);
  int32_t Int32(std::string_view key);
  int64_t Int64(std::string_view key);
  bool Bool(std::string_view key);

  // Optional members: absent (or null) gives `fallback`; present but malformed sets status().
  std::string String(std::string_view key, std::string_view fallback);
  int32_t Int32(std::string_view key, int32_t fallback);
  int64_t Int64(std::string_view key, int64_t fallback);
  bool Bool(std::string_view key, bool fallback);
  std::optional<std::string> OptString(std::string_view key);

  // The member's value when present and not null, else nullptr (never an error).
  const JsonValue* Member(std::string_view key) const;
  // The member's value when it is an array (absent or null: nullptr, no error), or nullptr and
  // an error when it is something else.
  const JsonValue* Array(std::string_view key);
  // The same for an object member.
  const JsonValue* Object(std::string_view key);

  // An optional array of strings (each item converted as String does); absent gives {}.
  std::vector<std::string> StringArray(std::string_view key);

  // The path of a member, for nested readers and errors: "<path>.<key>".
  std::string PathOf(std::string_view key) const;
  // The path of item `index` of array member `key`: "<path>.<key>[<index>]".
  std::string ItemPath(std::string_view key, size_t index) const;

  // Decodes each item of the optional array member `key` with
  // T::FromJsonValue(item, item_path) and hands it to add(T&&); stops at the first error.
  template <typename T, typename Add>
  void ReadEach(std::string_view key, Add add);
  // Calls fn(member_key, value, path) for each member of the optional object member `key`
  // (null values skipped); fn returns a Status, and the first error stops the walk.
  template <typename F>
  void ForEachMember(std::string_view key, F fn);

  // Records `s` as the problem if none was recorded yet.
  void Fail(Status s);
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

 private:
  const JsonValue* Required(std::string_view key);
  template <typename T>
  T Take(Result<T> r, T fallback);

  const JsonValue& value_;
  std::string path_;
  Status status_;
};

template <typename T, typename Add>
void JsonObjectReader::ReadEach(std::string_view key, Add add) {
  const JsonValue* a = Array(key);
  if (a == nullptr || !ok()) return;
  for (size_t i = 0; i < a->items().size(); ++i) {
    Result<T> item = T::FromJsonValue(a->items()[i], ItemPath(key, i));
    if (!item.ok()) {
      Fail(item.status());
      return;
    }
    add(std::move(item).value());
  }
}

template <typename F>
void JsonObjectReader::ForEachMember(std::string_view key, F fn) {
  const JsonValue* o = Object(key);
  if (o == nullptr || !ok()) return;
  std::string prefix = PathOf(key);
  for (const JsonMember& m : o->members()) {
    if (m.value.is_null()) continue;
    Status s = fn(m.key, m.value, prefix + "." + m.key);
    if (!s.ok()) {
      Fail(std::move(s));
      return;
    }
  }
}

// "<what>: <detail>" as a kMalformed status.
Status JsonError(std::string_view path, std::string_view detail);

// Parses `text` and checks that it is an object; the error names `what` (the body's type).
Result<JsonValue> ParseJsonObject(std::string_view text, std::string_view what);

// Builders.
inline JsonValue JsonStr(std::string s) { return JsonValue::String(std::move(s)); }
inline JsonValue JsonInt(int64_t v) { return JsonValue::Int(v); }
inline JsonValue JsonBool(bool b) { return JsonValue::Bool(b); }
template <typename Range>
JsonValue JsonStringArray(const Range& items) {
  JsonValue a = JsonValue::Array();
  for (const auto& s : items) a.Append(JsonValue::String(std::string(s)));
  return a;
}

}  // namespace apogee::protocol
