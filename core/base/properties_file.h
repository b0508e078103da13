#pragma once

// Java .properties text, read the way java.util.Properties.load reads it (RocketMQ's daemons
// load broker.conf and namesrv.conf with it), plus the typed readings RocketMQ's setters apply
// to a value. Pure functions over text: the caller reads the file.
//
// The grammar, per logical line:
// - Natural lines end at "\n", "\r" or "\r\n". A line whose first non-blank character is '#' or
//   '!' is a comment; blank lines are skipped. Blanks are space, tab and form feed.
// - A line ending in an odd number of backslashes continues on the next natural line, whose
//   leading blanks are dropped. A comment line never continues.
// - The key runs to the first unescaped '=', ':' or blank; blanks, then one '=' or ':', then
//   blanks separate it from the value. "key=value", "key: value" and "key value" are the same.
// - Escapes in keys and values: \t \n \r \f, \uXXXX (a surrogate pair joins into one code point,
//   written as UTF-8), and backslash before any other character stands for that character.
// - A later line with the same key replaces the earlier value.
//
// Where Apogee differs from Java, on purpose:
// - Trailing blanks of a value are dropped (Java keeps them, and RocketMQ then fails to read
//   "10911 " as a number and silently ignores the key). An escaped blank ("\ ") is kept.
// - Bytes are kept as they are (Java reads the file as ISO-8859-1), so UTF-8 text stays UTF-8;
//   a UTF-8 byte order mark at the very start is skipped.
// - A malformed \uXXXX escape is an error naming the line, as Java's IllegalArgumentException.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace apogee {

// Largest properties text ParseProperties accepts: a config file is a few KiB; anything near
// this is not a config file.
inline constexpr size_t kPropertiesTextBytesMax = size_t{4} << 20;

struct PropertyEntry {
  std::string key;
  std::string value;
  int line = 0;  // 1-based natural line where the logical line that set the value starts
};

// A key set again: `line` replaced the value set on `earlier_line`.
struct PropertyDuplicate {
  std::string key;
  int line = 0;
  int earlier_line = 0;
};

// Invariants: `entries` holds each key once, in the order keys first appear, with the value of
// the last line that set it; `duplicates` lists every replacement in file order.
struct Properties {
  std::vector<PropertyEntry> entries;
  std::vector<PropertyDuplicate> duplicates;

  // The entry for `key`, or nullptr.
  const PropertyEntry* Find(std::string_view key) const;

 private:
  friend Result<Properties> ParseProperties(std::string_view text);
  std::map<std::string, size_t, std::less<>> index_;  // key -> position in entries
};

// Parses .properties text. Fails (kInvalidArgument, naming the line) on a malformed \uXXXX
// escape, or when the text passes kPropertiesTextBytesMax. Never crashes on any input.
Result<Properties> ParseProperties(std::string_view text);

// --- Values as RocketMQ's setters read them (MixAll.properties2Object). Each error is
// kInvalidArgument and reads "line 7: bad value 'abc' for listenPort: not an integer". ---

// A decimal integer with an optional sign (Java Integer.parseInt / Long.parseLong), within
// [min, max].
Result<int64_t> PropertyInt(const PropertyEntry& e, int64_t min, int64_t max);
// "true" or "false", any case. (Java's Boolean.parseBoolean reads every other word as false;
// Apogee rejects it instead of guessing.)
Result<bool> PropertyBool(const PropertyEntry& e);
// The error for `e` with `why`, in the format above.
Status BadPropertyValue(const PropertyEntry& e, std::string_view why);

// `value` written so that ParseProperties reads it back unchanged after "key=": backslashes,
// line breaks, tabs, form feeds and leading or trailing blanks are escaped.
std::string EscapePropertyValue(std::string_view value);

}  // namespace apogee
