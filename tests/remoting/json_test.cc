#include "core/remoting/json.h"

#include <gtest/gtest.h>

#include <string>

namespace apogee {
namespace {

TEST(RemotingJsonTest, ParsesScalarsAndKeepsNumberText) {
  // Proves each scalar kind parses, and numbers keep their text with int64 only when integral.
  auto v = ParseJson(R"([null,true,false,407,-12,1.5e3,"x",9223372036854775808])");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const auto& items = v->items();
  ASSERT_EQ(items.size(), 8u);
  EXPECT_TRUE(items[0].is_null());
  EXPECT_TRUE(items[1].bool_value());
  EXPECT_FALSE(items[2].bool_value());
  EXPECT_EQ(items[3].int64(), 407);
  EXPECT_EQ(items[4].int64(), -12);
  EXPECT_EQ(items[5].number_text(), "1.5e3");
  EXPECT_FALSE(items[5].int64().has_value());
  EXPECT_EQ(items[6].string_value(), "x");
  EXPECT_FALSE(items[7].int64().has_value());
  EXPECT_EQ(items[7].number_text(), "9223372036854775808");
}

TEST(RemotingJsonTest, ObjectKeepsInsertionOrder) {
  // Proves members come back in input order, not sorted, and Find sees them.
  auto v = ParseJson(R"({"b":1,"a":2,"c":{}})");
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->members().size(), 3u);
  EXPECT_EQ(v->members()[0].key, "b");
  EXPECT_EQ(v->members()[1].key, "a");
  EXPECT_EQ(v->Find("a")->int64(), 2);
  EXPECT_EQ(v->Find("zz"), nullptr);
  EXPECT_EQ(WriteJson(*v), R"({"b":1,"a":2,"c":{}})");
}

TEST(RemotingJsonTest, AcceptsBareNumericKeysOfOldFastjson) {
  // Proves a route body with unquoted brokerAddrs keys (old fastjson) parses.
  auto v = ParseJson(
      R"({"brokerDatas":[{"cluster":"C","brokerName":"b","brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"}}],"filterServerTable":{}})");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const JsonValue& addrs = *v->Find("brokerDatas")->items()[0].Find("brokerAddrs");
  EXPECT_EQ(addrs.Find("0")->string_value(), "10.0.0.1:10911");
  EXPECT_EQ(addrs.Find("1")->string_value(), "10.0.0.2:10911");
}

TEST(RemotingJsonTest, DecodesEscapesAndSurrogatePairs) {
  // Proves the escapes, \u to UTF-8 and a surrogate pair to one 4-byte code point.
  auto v = ParseJson(R"("a\"\\\/\b\f\n\r\t\u00e9\u4e2d\ud83d\ude00")");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->string_value(), "a\"\\/\b\f\n\r\t\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80");
}

TEST(RemotingJsonTest, WriterEscapesAndRoundTrips) {
  // Proves the writer escapes quotes, backslashes and control bytes and passes UTF-8 through.
  JsonValue s = JsonValue::String(std::string("q\"b\\n\n\x01\xC3\xA9", 9));
  std::string text = WriteJson(s);
  EXPECT_EQ(text, "\"q\\\"b\\\\n\\n\\u0001\xC3\xA9\"");
  auto back = ParseJson(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, s);
}

TEST(RemotingJsonTest, RejectsMalformedInputWithPosition) {
  // Proves each kind of bad input is kMalformed and the message names a byte position.
  for (const char* bad :
       {"", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "tru", "\"abc", "\"\\x\"", "\"\\ud800\"",
        "\"\\udc00\"", "\"\\u12\"", "{a:1}", "{\"a\" 1}", "[1] x", "\"\x01\"", "nul", "{1}"}) {
    auto v = ParseJson(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.code(), ErrorCode::kMalformed) << bad;
    EXPECT_NE(v.status().message().find("at byte"), std::string::npos) << bad;
  }
}

TEST(RemotingJsonTest, LimitsNestingDepth) {
  // Proves nesting of kJsonDepthMax parses and one more level is rejected, not a stack overflow.
  std::string ok(kJsonDepthMax, '[');
  ok += std::string(kJsonDepthMax, ']');
  EXPECT_TRUE(ParseJson(ok).ok());
  std::string deep(kJsonDepthMax + 1, '[');
  deep += std::string(kJsonDepthMax + 1, ']');
  EXPECT_EQ(ParseJson(deep).code(), ErrorCode::kMalformed);
  std::string huge(100000, '[');
  EXPECT_EQ(ParseJson(huge).code(), ErrorCode::kMalformed);
}

TEST(RemotingJsonTest, LimitsInputSize) {
  // Proves an input over kJsonBytesMax is rejected before parsing.
  std::string big(kJsonBytesMax + 1, ' ');
  big[0] = '0';
  EXPECT_EQ(ParseJson(big).code(), ErrorCode::kMalformed);
}

}  // namespace
}  // namespace apogee
