// Properties of ParseProperties over generated text: it never crashes, its invariants hold on any
// input, and key=value lines written with EscapePropertyValue (and keys escaped alike) read back
// exactly.

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/base/properties_file.h"

namespace apogee {
namespace {

// Text built from the characters that matter to the grammar, so odd combinations are common.
rc::Gen<std::string> GrammarText() {
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(rc::gen::element<std::string>(
                          "a", "b", "key", "=", ":", " ", "\t", "\f", "\\", "\n", "\r", "\r\n", "#",
                          "!", "\\u", "00e9", "D83D", "\\uDE00", "g", "\xEF\xBB\xBF", "\xC3")),
                      [](const std::vector<std::string>& parts) {
                        std::string s;
                        for (const std::string& p : parts) s += p;
                        return s;
                      });
}

void CheckInvariants(const Properties& p, size_t text_size) {
  std::map<std::string, int> seen;
  for (const PropertyEntry& e : p.entries) {
    RC_ASSERT(seen.emplace(e.key, e.line).second);  // each key once
    RC_ASSERT(e.line >= 1);
    RC_ASSERT(static_cast<size_t>(e.line) <= text_size + 1);
    RC_ASSERT(p.Find(e.key) == &e);
  }
  for (const PropertyDuplicate& d : p.duplicates) {
    RC_ASSERT(d.earlier_line < d.line);
    RC_ASSERT(p.Find(d.key) != nullptr);
  }
}

RC_GTEST_PROP(PropertiesFileProp, NeverCrashesOnRandomBytes, (const std::string& text)) {
  Result<Properties> r = ParseProperties(text);
  if (r.ok()) CheckInvariants(*r, text.size());
}

RC_GTEST_PROP(PropertiesFileProp, NeverCrashesOnGrammarText, ()) {
  std::string text = *GrammarText();
  Result<Properties> r = ParseProperties(text);
  if (r.ok()) {
    CheckInvariants(*r, text.size());
  } else {
    RC_ASSERT(r.status().message().find("malformed") != std::string::npos);
  }
}

// Writes key `s` so that the parser reads it back as exactly `s`.
std::string EscapeKey(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
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
      case '\\':
      case '=':
      case ':':
      case '#':
      case '!':
        out += '\\';
        out += c;
        break;
      case ' ':
        out += "\\ ";  // a blank ends a key
        break;
      default:
        out += c;
    }
  }
  return out;
}

RC_GTEST_PROP(PropertiesFileProp, EscapedEntriesReadBack, ()) {
  auto pairs = *rc::gen::container<std::vector<std::pair<std::string, std::string>>>(
      rc::gen::pair(rc::gen::string<std::string>(), rc::gen::string<std::string>()));
  std::string text;
  std::map<std::string, std::string> want;
  for (const auto& [k, v] : pairs) {
    // A line that starts a comment needs its key escaped; Escape does that for '#' and '!'.
    text += EscapeKey(k) + (v.empty() ? " = " : "=") + EscapePropertyValue(v) + "\r\n";
    want[k] = v;
  }
  Result<Properties> r = ParseProperties(text);
  RC_ASSERT(r.ok());
  RC_ASSERT(r->entries.size() == want.size());
  for (const auto& [k, v] : want) {
    const PropertyEntry* e = r->Find(k);
    RC_ASSERT(e != nullptr);
    RC_ASSERT(e->value == v);
  }
}

}  // namespace
}  // namespace apogee
