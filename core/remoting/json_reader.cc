// The JSON reader (see json.h): a recursive-descent parser over a string_view whose recursion is
// bounded by kJsonDepthMax, so no input can exhaust the stack.

#include <fmt/format.h>

#include <utility>

#include "core/remoting/json.h"

namespace apogee {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

class Reader {
 public:
  explicit Reader(std::string_view in, size_t pos = 0) : in_(in), pos_(pos) {}

  Result<JsonValue> ParseDocument() {
    SkipSpace();
    APOGEE_ASSIGN_OR_RETURN(JsonValue v, ParseValue(0));
    SkipSpace();
    if (pos_ != in_.size()) return Error("trailing characters after the value");
    APOGEE_ASSERT(pos_ == in_.size());
    return v;
  }

 private:
  Status Error(std::string_view what) const {
    return Status(ErrorCode::kMalformed, fmt::format("json: {} at byte {}", what, pos_));
  }
  bool AtEnd() const { return pos_ >= in_.size(); }
  char Peek() const { return AtEnd() ? '\0' : in_[pos_]; }
  void SkipSpace() {
    while (!AtEnd()) {
      char c = in_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
      pos_++;
    }
  }
  bool Literal(std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Result<JsonValue> ParseValue(int depth) {
    APOGEE_ASSERT(depth <= kJsonDepthMax);
    if (AtEnd()) return Error("unexpected end of input");
    char c = Peek();
    switch (c) {
      case '{':
        return ParseObject(depth + 1);
      case '[':
        return ParseArray(depth + 1);
      case '"': {
        APOGEE_ASSIGN_OR_RETURN(std::string s, ParseString());
        return JsonValue::String(std::move(s));
      }
      case 't':
        if (Literal("true")) return JsonValue::Bool(true);
        return Error("bad literal");
      case 'f':
        if (Literal("false")) return JsonValue::Bool(false);
        return Error("bad literal");
      case 'n':
        if (Literal("null")) return JsonValue();
        return Error("bad literal");
      default:
        if (c == '-' || IsDigit(c)) return ParseNumber();
        return Error("unexpected character");
    }
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  Result<JsonValue> ParseNumber() {
    size_t start = pos_;
    if (Peek() == '-') pos_++;
    if (Peek() == '0') {
      pos_++;
    } else if (IsDigit(Peek())) {
      while (IsDigit(Peek())) pos_++;
    } else {
      return Error("digit expected");
    }
    if (Peek() == '.') {
      pos_++;
      if (!IsDigit(Peek())) return Error("digit expected after '.'");
      while (IsDigit(Peek())) pos_++;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      pos_++;
      if (Peek() == '+' || Peek() == '-') pos_++;
      if (!IsDigit(Peek())) return Error("digit expected in exponent");
      while (IsDigit(Peek())) pos_++;
    }
    APOGEE_ASSERT(pos_ > start);
    return JsonValue::Number(std::string(in_.substr(start, pos_ - start)));
  }

  Result<uint32_t> ParseHex4() {
    if (in_.size() - pos_ < 4) return Error("short \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
      char c = in_[pos_++];
      v <<= 4;
      if (IsDigit(c)) {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return Error("bad hex digit in \\u escape");
      }
    }
    return v;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    APOGEE_ASSERT(cp <= 0x10FFFF);
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // After the backslash and 'u': one code point, joining a surrogate pair.
  Status ParseUnicodeEscape(std::string* out) {
    APOGEE_ASSIGN_OR_RETURN(uint32_t cp, ParseHex4());
    if (cp >= 0xDC00 && cp <= 0xDFFF) return Error("lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (!Literal("\\u")) return Error("high surrogate without a low one");
      APOGEE_ASSIGN_OR_RETURN(uint32_t low, ParseHex4());
      if (low < 0xDC00 || low > 0xDFFF) return Error("high surrogate without a low one");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    AppendUtf8(cp, out);
    return Status::Ok();
  }

  // Public for ReadJsonString: a string token at the current position.
 public:
  size_t pos() const { return pos_; }

  Result<std::string> ParseString() {
    APOGEE_ASSERT(Peek() == '"');
    pos_++;
    std::string out;
    while (true) {
      if (AtEnd()) return Error("unterminated string");
      char c = in_[pos_];
      if (c == '"') {
        pos_++;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) return Error("control character in string");
      pos_++;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (AtEnd()) return Error("unterminated escape");
      char e = in_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.push_back(e);
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u':
          APOGEE_RETURN_IF_ERROR(ParseUnicodeEscape(&out));
          break;
        default:
          return Error("bad escape");
      }
    }
  }

 private:
  // A quoted key, or a bare run of digits (old fastjson writes integer map keys unquoted).
  Result<std::string> ParseKey() {
    if (Peek() == '"') return ParseString();
    size_t start = pos_;
    while (IsDigit(Peek())) pos_++;
    if (pos_ == start) return Error("object key expected");
    return std::string(in_.substr(start, pos_ - start));
  }

  Result<JsonValue> ParseObject(int depth) {
    if (depth > kJsonDepthMax) return Error("nesting too deep");
    APOGEE_ASSERT(Peek() == '{');
    pos_++;
    JsonValue obj = JsonValue::Object();
    SkipSpace();
    if (Peek() == '}') {
      pos_++;
      return obj;
    }
    while (true) {
      SkipSpace();
      APOGEE_ASSIGN_OR_RETURN(std::string key, ParseKey());
      SkipSpace();
      if (Peek() != ':') return Error("':' expected");
      pos_++;
      SkipSpace();
      APOGEE_ASSIGN_OR_RETURN(JsonValue v, ParseValue(depth));
      obj.Add(std::move(key), std::move(v));
      SkipSpace();
      if (Peek() == ',') {
        pos_++;
        continue;
      }
      if (Peek() == '}') {
        pos_++;
        return obj;
      }
      return Error("',' or '}' expected");
    }
  }

  Result<JsonValue> ParseArray(int depth) {
    if (depth > kJsonDepthMax) return Error("nesting too deep");
    APOGEE_ASSERT(Peek() == '[');
    pos_++;
    JsonValue arr = JsonValue::Array();
    SkipSpace();
    if (Peek() == ']') {
      pos_++;
      return arr;
    }
    while (true) {
      SkipSpace();
      APOGEE_ASSIGN_OR_RETURN(JsonValue v, ParseValue(depth));
      arr.Append(std::move(v));
      SkipSpace();
      if (Peek() == ',') {
        pos_++;
        continue;
      }
      if (Peek() == ']') {
        pos_++;
        return arr;
      }
      return Error("',' or ']' expected");
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::string> ReadJsonString(std::string_view text, size_t* pos) {
  APOGEE_ASSERT(*pos < text.size());
  APOGEE_ASSERT(text[*pos] == '"');
  Reader reader(text, *pos);
  Result<std::string> s = reader.ParseString();
  if (s.ok()) *pos = reader.pos();
  return s;
}

Result<JsonValue> ParseJson(std::string_view text) {
  if (text.size() > kJsonBytesMax) {
    return Status(ErrorCode::kMalformed, fmt::format("json: input of {} bytes exceeds {} at byte 0",
                                                     text.size(), kJsonBytesMax));
  }
  return Reader(text).ParseDocument();
}

}  // namespace apogee
