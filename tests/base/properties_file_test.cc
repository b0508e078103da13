// ParseProperties reads .properties text the way java.util.Properties.load does (separators,
// comments, continuations, escapes, line endings), keeps line numbers, and lets a later line win;
// PropertyInt and PropertyBool read values as RocketMQ's setters do, naming line, key and value.

#include "core/base/properties_file.h"

#include <gtest/gtest.h>

#include <string>

namespace apogee {
namespace {

Properties Parse(std::string_view text) {
  Result<Properties> r = ParseProperties(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : Properties{};
}

std::string ValueOf(const Properties& p, std::string_view key) {
  const PropertyEntry* e = p.Find(key);
  return e ? e->value : "<absent>";
}

TEST(PropertiesFileTest, ThreeSeparatorsAndBlanksAroundThem) {
  // Proves "k=v", "k:v", "k v" and blank-padded forms all give the same pair.
  Properties p = Parse("a=1\nb:2\nc 3\n  d  =  4  \ne\t:\t5\nf   6\ng= =7\n");
  EXPECT_EQ(ValueOf(p, "a"), "1");
  EXPECT_EQ(ValueOf(p, "b"), "2");
  EXPECT_EQ(ValueOf(p, "c"), "3");
  EXPECT_EQ(ValueOf(p, "d"), "4");
  EXPECT_EQ(ValueOf(p, "e"), "5");
  EXPECT_EQ(ValueOf(p, "f"), "6");
  EXPECT_EQ(ValueOf(p, "g"), "=7");  // only one separator is eaten
  EXPECT_EQ(p.entries.size(), 7u);
}

TEST(PropertiesFileTest, CommentsBlankLinesAndLineNumbers) {
  // Proves '#' and '!' comments and blank lines are skipped and each entry knows its line.
  Properties p = Parse("# a comment\n\n   ! another\nkey=value # not a comment\n\t\nx=1\n");
  ASSERT_EQ(p.entries.size(), 2u);
  EXPECT_EQ(p.entries[0].key, "key");
  EXPECT_EQ(p.entries[0].value, "value # not a comment");
  EXPECT_EQ(p.entries[0].line, 4);
  EXPECT_EQ(p.entries[1].line, 6);
}

TEST(PropertiesFileTest, KeyWithoutValueAndEmptyKey) {
  // Proves a lone key has an empty value and "=v" has an empty key, as in Java.
  Properties p = Parse("lonely\n=v\nspaced =\n");
  EXPECT_EQ(ValueOf(p, "lonely"), "");
  EXPECT_EQ(ValueOf(p, ""), "v");
  EXPECT_EQ(ValueOf(p, "spaced"), "");
}

TEST(PropertiesFileTest, ContinuationLines) {
  // Proves an odd number of trailing backslashes joins the next line (its leading blanks
  // dropped), an even number does not, and the entry keeps its first line's number.
  Properties p = Parse("list=a;\\\n    b;\\\n\tc\nnot=x\\\\\nnext=y\n");
  EXPECT_EQ(ValueOf(p, "list"), "a;b;c");
  EXPECT_EQ(p.Find("list")->line, 1);
  EXPECT_EQ(ValueOf(p, "not"), "x\\");
  EXPECT_EQ(p.Find("next")->line, 5);
}

TEST(PropertiesFileTest, ContinuationDetails) {
  // Proves a continued line's '#' is text, a comment never continues, a continuation onto a
  // blank line ends the entry, and a backslash at the very end of the text is dropped.
  Properties p = Parse("a=1\\\n# still a\n# comment \\\nb=2\nc=3\\\n\nd=4\ne=5\\");
  EXPECT_EQ(ValueOf(p, "a"), "1# still a");
  EXPECT_EQ(ValueOf(p, "b"), "2");
  EXPECT_EQ(ValueOf(p, "c"), "3");
  EXPECT_EQ(ValueOf(p, "d"), "4");
  EXPECT_EQ(ValueOf(p, "e"), "5");
  EXPECT_EQ(p.entries.size(), 5u);
}

TEST(PropertiesFileTest, CrLfAndLoneCrLineEndings) {
  // Proves "\r\n" counts as one line end (no '\r' left in values) and a lone '\r' ends a line.
  Properties p = Parse("a=1\r\nb=2\r\n\r\nc=3\rd=4\\\r\n  5\r\n");
  EXPECT_EQ(ValueOf(p, "a"), "1");
  EXPECT_EQ(ValueOf(p, "b"), "2");
  EXPECT_EQ(ValueOf(p, "c"), "3");
  EXPECT_EQ(p.Find("c")->line, 4);
  EXPECT_EQ(ValueOf(p, "d"), "45");
  EXPECT_EQ(p.Find("d")->line, 5);
}

TEST(PropertiesFileTest, Escapes) {
  // Proves \t \n \r \f, \uXXXX (UTF-8 out, surrogate pairs joined), escaped separators in keys
  // and other escaped characters.
  Properties p = Parse(
      "tab=a\\tb\nnl=a\\nb\nuni=caf\\u00e9\nemoji=\\uD83D\\uDE00\nlone=\\uD800x\n"
      "my\\=key\\ with\\:seps=v\nother=\\q\\\\\\#\n");
  EXPECT_EQ(ValueOf(p, "tab"), "a\tb");
  EXPECT_EQ(ValueOf(p, "nl"), "a\nb");
  EXPECT_EQ(ValueOf(p, "uni"), "caf\xC3\xA9");
  EXPECT_EQ(ValueOf(p, "emoji"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(ValueOf(p, "lone"), "\xEF\xBF\xBDx");
  EXPECT_EQ(ValueOf(p, "my=key with:seps"), "v");
  EXPECT_EQ(ValueOf(p, "other"), "q\\#");
}

TEST(PropertiesFileTest, TrailingBlanksTrimmedUnlessEscaped) {
  // Proves unescaped trailing blanks of a value go and an escaped one stays.
  Properties p = Parse("a=10911   \nb=x\\ \t\nc=\\t\n");
  EXPECT_EQ(ValueOf(p, "a"), "10911");
  EXPECT_EQ(ValueOf(p, "b"), "x ");
  EXPECT_EQ(ValueOf(p, "c"), "\t");
}

TEST(PropertiesFileTest, MalformedUnicodeEscapeNamesTheLine) {
  // Proves a bad \u escape is an error naming its line, as Java's load throws.
  Result<Properties> r = ParseProperties("a=1\n\nb=\\u12g4\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("line 3"), std::string::npos) << r.status().ToString();
  EXPECT_FALSE(ParseProperties("a=\\u12").ok());
}

TEST(PropertiesFileTest, LaterDuplicateWinsAndIsRecorded) {
  // Proves a repeated key takes the later value and line, keeps its first position, and the
  // replacement is listed.
  Properties p = Parse("a=1\nb=2\na=3\na=4\n");
  ASSERT_EQ(p.entries.size(), 2u);
  EXPECT_EQ(p.entries[0].key, "a");
  EXPECT_EQ(p.entries[0].value, "4");
  EXPECT_EQ(p.entries[0].line, 4);
  ASSERT_EQ(p.duplicates.size(), 2u);
  EXPECT_EQ(p.duplicates[0].line, 3);
  EXPECT_EQ(p.duplicates[0].earlier_line, 1);
  EXPECT_EQ(p.duplicates[1].line, 4);
  EXPECT_EQ(p.duplicates[1].earlier_line, 3);
}

TEST(PropertiesFileTest, ByteOrderMarkAndUtf8PassThrough) {
  // Proves a leading UTF-8 BOM is skipped and UTF-8 bytes stay as they are.
  Properties p = Parse("\xEF\xBB\xBFname=\xE4\xB8\xAD\n");
  EXPECT_EQ(ValueOf(p, "name"), "\xE4\xB8\xAD");
}

TEST(PropertiesFileTest, OversizedTextIsRefused) {
  // Proves the size limit holds.
  std::string big(kPropertiesTextBytesMax + 1, '#');
  EXPECT_FALSE(ParseProperties(big).ok());
}

TEST(PropertiesFileTest, PropertyIntReadsJavaIntegers) {
  // Proves signs, range limits and junk are told apart, and the error names line, key, value.
  auto entry = [](std::string v) { return PropertyEntry{"listenPort", std::move(v), 7}; };
  EXPECT_EQ(PropertyInt(entry("10911"), 0, 65535).value(), 10911);
  EXPECT_EQ(PropertyInt(entry("+5"), 0, 10).value(), 5);
  EXPECT_EQ(PropertyInt(entry("-3"), -10, 10).value(), -3);
  EXPECT_FALSE(PropertyInt(entry("70000"), 0, 65535).ok());
  EXPECT_FALSE(PropertyInt(entry("99999999999999999999"), 0, 65535).ok());
  EXPECT_FALSE(PropertyInt(entry(""), 0, 10).ok());
  EXPECT_FALSE(PropertyInt(entry("+-1"), -10, 10).ok());
  EXPECT_FALSE(PropertyInt(entry("1.5"), 0, 10).ok());
  Result<int64_t> bad = PropertyInt(entry("abc"), 0, 65535);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "line 7: bad value 'abc' for listenPort: not an integer");
}

TEST(PropertiesFileTest, PropertyBoolTakesTrueAndFalseOnly) {
  // Proves any case of true/false is read and other words are an error.
  auto entry = [](std::string v) { return PropertyEntry{"aclEnable", std::move(v), 2}; };
  EXPECT_TRUE(PropertyBool(entry("TRUE")).value());
  EXPECT_FALSE(PropertyBool(entry("false")).value());
  EXPECT_FALSE(PropertyBool(entry("yes")).ok());
  EXPECT_FALSE(PropertyBool(entry("1")).ok());
}

}  // namespace
}  // namespace apogee
