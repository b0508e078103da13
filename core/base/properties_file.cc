#include "core/base/properties_file.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>

namespace apogee {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

// One logical line: the natural lines it spans joined (continuation backslashes and the next
// lines' leading blanks removed), and the number of its first natural line.
struct LogicalLine {
  std::string text;
  int line = 0;
};

// Splits `text` into logical lines, dropping blank and comment lines.
std::vector<LogicalLine> SplitLogicalLines(std::string_view text) {
  std::vector<LogicalLine> out;
  std::optional<LogicalLine> open;  // a logical line that continues on the next natural line
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view natural = text.substr(pos, end - pos);
    pos = end;
    if (pos < text.size())
      pos += (text[pos] == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') ? 2 : 1;
    ++line_no;

    size_t first = 0;
    while (first < natural.size() && IsBlank(natural[first])) ++first;
    natural.remove_prefix(first);
    if (!open) {
      if (natural.empty()) continue;
      if (natural.front() == '#' || natural.front() == '!') continue;
      open = LogicalLine{std::string(), line_no};
    }
    size_t backslashes = 0;
    while (backslashes < natural.size() && natural[natural.size() - 1 - backslashes] == '\\') {
      ++backslashes;
    }
    bool continues = backslashes % 2 == 1;
    if (continues) natural.remove_suffix(1);
    open->text.append(natural);
    if (!continues) {
      out.push_back(std::move(*open));
      open.reset();
    }
  }
  // The text ended inside a continuation: the line ends there (the backslash is already gone).
  if (open) out.push_back(std::move(*open));
  return out;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    APOGEE_ASSERT(cp <= 0x10FFFF);
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Reads the 4 hex digits of a \u escape at s[i..i+4), or nullopt.
std::optional<uint32_t> HexQuad(std::string_view s, size_t i) {
  if (i + 4 > s.size()) return std::nullopt;
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data() + i, s.data() + i + 4, v, 16);
  if (ec != std::errc() || end != s.data() + i + 4) return std::nullopt;
  return v;
}

// Resolves the escapes of a key or value. With `trim_trailing`, blanks after the last escaped
// or non-blank character are dropped.
Result<std::string> Unescape(std::string_view s, int line, bool trim_trailing) {
  std::string out;
  out.reserve(s.size());
  size_t keep = 0;  // out's length up to its last escaped or non-blank character
  for (size_t i = 0; i < s.size();) {
    char c = s[i++];
    if (c != '\\') {
      out.push_back(c);
      if (!IsBlank(c)) keep = out.size();
      continue;
    }
    if (i == s.size()) break;  // a lone trailing backslash stands for nothing, as in Java
    char e = s[i++];
    switch (e) {
      case 't':
        out.push_back('\t');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'u': {
        std::optional<uint32_t> unit = HexQuad(s, i);
        if (!unit) {
          return Status(ErrorCode::kInvalidArgument,
                        fmt::format("line {}: malformed \\uXXXX escape", line));
        }
        i += 4;
        uint32_t cp = *unit;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          // A high surrogate joins a following \u low surrogate into one code point.
          std::optional<uint32_t> low;
          if (i + 1 < s.size() && s[i] == '\\' && s[i + 1] == 'u') low = HexQuad(s, i + 2);
          if (low && *low >= 0xDC00 && *low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (*low - 0xDC00);
            i += 6;
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD;  // a low surrogate alone is not a character
        }
        AppendUtf8(out, cp);
        break;
      }
      default:
        out.push_back(e);
        break;
    }
    keep = out.size();
  }
  if (trim_trailing) out.resize(keep);
  return out;
}

}  // namespace

const PropertyEntry* Properties::Find(std::string_view key) const {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  APOGEE_ASSERT(it->second < entries.size());
  return &entries[it->second];
}

Result<Properties> ParseProperties(std::string_view text) {
  if (text.size() > kPropertiesTextBytesMax) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("properties text of {} bytes passes the limit of {} bytes",
                              text.size(), kPropertiesTextBytesMax));
  }
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  Properties props;
  for (const LogicalLine& ll : SplitLogicalLines(text)) {
    std::string_view s = ll.text;
    // The key ends at the first unescaped '=', ':' or blank.
    size_t key_end = 0;
    bool escaped = false;
    bool has_separator = false;
    size_t value_start = s.size();
    for (; key_end < s.size(); ++key_end) {
      char c = s[key_end];
      if (!escaped && (c == '=' || c == ':' || IsBlank(c))) {
        has_separator = c == '=' || c == ':';
        value_start = key_end + 1;
        break;
      }
      escaped = c == '\\' && !escaped;
    }
    // Then blanks, at most one '=' or ':' (if the key did not end at one), and blanks.
    while (value_start < s.size()) {
      char c = s[value_start];
      if (!IsBlank(c)) {
        if (has_separator || (c != '=' && c != ':')) break;
        has_separator = true;
      }
      ++value_start;
    }
    APOGEE_ASSERT(key_end <= value_start);
    APOGEE_ASSERT(value_start <= s.size());
    APOGEE_ASSIGN_OR_RETURN(std::string key, Unescape(s.substr(0, key_end), ll.line, false));
    APOGEE_ASSIGN_OR_RETURN(std::string value, Unescape(s.substr(value_start), ll.line, true));

    auto it = props.index_.find(key);
    if (it != props.index_.end()) {
      PropertyEntry& old = props.entries[it->second];
      props.duplicates.push_back(PropertyDuplicate{key, ll.line, old.line});
      old.value = std::move(value);
      old.line = ll.line;
    } else {
      props.index_.emplace(key, props.entries.size());
      props.entries.push_back(PropertyEntry{std::move(key), std::move(value), ll.line});
    }
  }
  APOGEE_ASSERT(props.index_.size() == props.entries.size());
  return props;
}

Status BadPropertyValue(const PropertyEntry& e, std::string_view why) {
  return Status(ErrorCode::kInvalidArgument,
                fmt::format("line {}: bad value '{}' for {}: {}", e.line, e.value, e.key, why));
}

Result<int64_t> PropertyInt(const PropertyEntry& e, int64_t min, int64_t max) {
  APOGEE_ASSERT(min <= max);
  std::string_view s = e.value;
  // Java's parsers take a leading '+' too; from_chars does not.
  bool plus = !s.empty() && s.front() == '+';
  if (plus) s.remove_prefix(1);
  if (s.empty() || (plus && s.front() == '-')) return BadPropertyValue(e, "not an integer");
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (ec == std::errc::invalid_argument || end != s.data() + s.size()) {
    return BadPropertyValue(e, "not an integer");
  }
  if (ec == std::errc::result_out_of_range || v < min || v > max) {
    return BadPropertyValue(e, fmt::format("out of range [{}, {}]", min, max));
  }
  return v;
}

Result<bool> PropertyBool(const PropertyEntry& e) {
  std::string lower;
  for (char c : e.value) lower.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c);
  if (lower == "true") return true;
  if (lower == "false") return false;
  return BadPropertyValue(e, "not true or false");
}

std::string EscapePropertyValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\f':
        out += "\\f";
        break;
      case ' ':
        if (i == 0 || i + 1 == value.size()) out += '\\';
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace apogee
