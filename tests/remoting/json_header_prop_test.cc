#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/remoting/command.h"
#include "core/remoting/json.h"

namespace apogee {
namespace {

// A command whose fields are not the defaults, so a decoder that leaves an absent field alone
// is told apart from one that resets it.
RemotingCommand Prior() {
  RemotingCommand c;
  c.code = 77;
  c.version = 5;
  c.opaque = 9;
  c.flag = 4;
  c.language = LanguageCode::kGo;
  c.remark = "prior";
  c.ext_fields = {{"prior", "1"}};
  return c;
}

// Both decoders on `header`, from the same prior command: same outcome, same error text, same
// fields.
void CheckSame(const std::string& header) {
  RemotingCommand fast = Prior();
  RemotingCommand reference = Prior();
  Status a = DecodeJsonHeader(header, &fast);
  Status b = DecodeJsonHeaderReference(header, &reference);
  RC_ASSERT(a.ok() == b.ok());
  if (!a.ok()) {
    RC_ASSERT(a.ToString() == b.ToString());
    return;
  }
  RC_ASSERT(fast == reference);
}

// A plain string value: printable ASCII without quotes or backslashes (what the fast path takes).
rc::Gen<std::string> PlainString() {
  return rc::gen::map(rc::gen::container<std::string>(rc::gen::inRange<char>(0x20, 0x7f)),
                      [](std::string s) {
                        for (char& c : s) {
                          if (c == '"' || c == '\\') c = '_';
                        }
                        return "\"" + s + "\"";
                      });
}

// Any string, escaped as the encoder escapes it (RocketMQ's properties carry \u0001 and \u0002).
rc::Gen<std::string> EscapedString() {
  return rc::gen::map(rc::gen::arbitrary<std::string>(), [](const std::string& s) {
    std::string out;
    WriteJsonString(s, &out);
    return out;
  });
}

// A JSON value of any kind a header might hold, well formed or nearly.
rc::Gen<std::string> Value() {
  return rc::gen::oneOf(
      rc::gen::map(rc::gen::arbitrary<int32_t>(), [](int32_t v) { return std::to_string(v); }),
      rc::gen::map(rc::gen::arbitrary<int64_t>(), [](int64_t v) { return std::to_string(v); }),
      rc::gen::element<std::string>("0", "-0", "01", "1.5", "1e3", "-", "2147483648", "-2147483649",
                                    "123456789012345678901234", "null", "true", "false", "tru",
                                    "[1]", "{}", "{\"a\":\"b\"}", "{\"a\":{}}", "\"\"", "\"JAVA\"",
                                    "\"CPP\"", "\"a\\\"b\"", "\"\\u00e9\"", "\"tab\there\"",
                                    "\"unterminated", "{\"a\":1,}"),
      rc::gen::map(rc::gen::arbitrary<std::string>(),
                   [](std::string s) { return "\"" + s + "\""; }));
}

rc::Gen<std::string> Key() {
  return rc::gen::weightedOneOf<std::string>(
      {{40, rc::gen::element<std::string>("code", "opaque", "flag", "version", "language", "remark",
                                          "extFields", "serializeTypeCurrentRPC")},
       {1, rc::gen::element<std::string>("unknown", "co\\u0064e", "")}});
}

// An extFields object: string, number and boolean members mostly, sometimes anything.
rc::Gen<std::string> ExtObject() {
  return rc::gen::map(
      rc::gen::container<std::vector<std::pair<std::string, std::string>>>(rc::gen::pair(
          rc::gen::weightedOneOf<std::string>(
              {{20, rc::gen::element<std::string>("a", "b", "topic", "queueId", "k", "0")},
               {1, rc::gen::just<std::string>("\\n")}}),
          rc::gen::weightedOneOf<std::string>(
              {{20, PlainString()}, {20, EscapedString()}, {1, Value()}}))),
      [](const std::vector<std::pair<std::string, std::string>>& members) {
        std::string out = "{";
        for (size_t i = 0; i < members.size(); ++i) {
          if (i > 0) out += ",";
          out += "\"" + members[i].first + "\":" + members[i].second;
        }
        return out + "}";
      });
}

// Integers around the edges of int32 and of the fast path's 18 digits.
rc::Gen<std::string> EdgeInteger() {
  return rc::gen::element<std::string>("2147483647", "-2147483648", "2147483648", "-2147483649",
                                       "1099511627776", "999999999999999999", "1000000000000000000",
                                       "-999999999999999999");
}

// What a well-behaved client sends for `key`, or now and then something odd.
rc::Gen<std::string> ValueFor(const std::string& key) {
  rc::Gen<std::string> good =
      (key == "code" || key == "opaque" || key == "flag" || key == "version")
          ? rc::gen::map(rc::gen::arbitrary<int32_t>(), [](int32_t v) { return std::to_string(v); })
      : key == "extFields" ? ExtObject()
      : key == "language"  ? rc::gen::element<std::string>("\"JAVA\"", "\"CPP\"", "\"NODE\"")
                           : EscapedString();
  return rc::gen::weightedOneOf<std::string>({{30, good}, {10, EdgeInteger()}, {1, Value()}});
}

// Proves the fast path changes nothing: on headers built from the keys and values real and
// broken clients send (duplicates, nulls, wrong types, escapes, out-of-range numbers, unknown
// keys, stray whitespace), DecodeJsonHeader and the tree decoder agree on every outcome. Most
// members are well formed, so the fast path decodes many of the headers itself.
RC_GTEST_PROP(JsonHeaderPropTest, FastPathAgreesWithTheTreeDecoder, ()) {
  const size_t count = *rc::gen::inRange<size_t>(0, 10);
  auto members = *rc::gen::container<std::vector<std::pair<std::string, std::string>>>(
      count, rc::gen::mapcat(Key(), [](const std::string& key) {
        return rc::gen::pair(rc::gen::just(key), ValueFor(key));
      }));
  const std::string space = *rc::gen::element<std::string>("", " ", "\n\t ");
  std::string header = space + "{";
  for (size_t i = 0; i < members.size(); ++i) {
    if (i > 0) header += "," + space;
    header += "\"" + members[i].first + "\"" + space + ":" + space + members[i].second;
  }
  header += "}" + space;
  if (*rc::gen::inRange(0, 20) == 0) header += "x";
  CheckSame(header);
}

// Proves the same on encoded commands with arbitrary text and on their one-byte corruptions.
RC_GTEST_PROP(JsonHeaderPropTest, FastPathAgreesOnEncodedAndCorruptedHeaders, ()) {
  RemotingCommand c;
  c.code = *rc::gen::arbitrary<int32_t>();
  c.version = *rc::gen::arbitrary<int32_t>();
  c.opaque = *rc::gen::arbitrary<int32_t>();
  c.flag = *rc::gen::arbitrary<int32_t>();
  c.language = static_cast<LanguageCode>(*rc::gen::inRange(0, 13));
  if (*rc::gen::arbitrary<bool>()) c.remark = *rc::gen::arbitrary<std::string>();
  const auto fields = *rc::gen::arbitrary<std::map<std::string, std::string>>();
  c.ext_fields = ExtFields::FromEntries({fields.begin(), fields.end()});
  std::string header = EncodeJsonHeader(c);
  RemotingCommand back;
  RC_ASSERT(DecodeJsonHeader(header, &back).ok());
  RC_ASSERT(back == c);
  CheckSame(header);
  if (!header.empty()) {
    size_t at = *rc::gen::inRange<size_t>(0, header.size());
    char byte = *rc::gen::element<char>('"', '\\', ',', ':', '{', '}', ' ', '0', '-', '.', 'e', 'n',
                                        '\x01');
    std::string replaced = header;
    replaced[at] = byte;
    CheckSame(replaced);
    std::string inserted = header;
    inserted.insert(at, 1, byte);
    CheckSame(inserted);
    CheckSame(header.substr(0, at));
  }
}

}  // namespace
}  // namespace apogee
