#include "core/remoting/ext_fields.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/base/bytes.h"
#include "core/remoting/command.h"

namespace apogee {
namespace {

std::vector<std::string> Keys(const ExtFields& f) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : f) keys.push_back(k);
  return keys;
}

TEST(ExtFieldsTest, FindsPresentKeysAndMissesAbsentOnes) {
  // Proves every lookup answers for present keys and reports absent ones, by string_view.
  ExtFields f{{"topic", "T"}, {"queueId", "3"}};
  ASSERT_NE(f.find("topic"), f.end());
  EXPECT_EQ(f.find("topic")->second, "T");
  EXPECT_EQ(f.find("topi"), f.end());
  EXPECT_EQ(f.find("topics"), f.end());
  EXPECT_EQ(f.at("queueId"), "3");
  ASSERT_NE(f.Get("queueId"), nullptr);
  EXPECT_EQ(*f.Get("queueId"), "3");
  EXPECT_EQ(f.Get("absent"), nullptr);
  EXPECT_TRUE(f.contains("topic"));
  EXPECT_EQ(f.count("topic"), 1u);
  EXPECT_EQ(f.count("absent"), 0u);
  EXPECT_EQ(f.size(), 2u);
  const ExtFields empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.find(""), empty.end());
}

TEST(ExtFieldsTest, SetOverwritesAndIndexInsertsEmpty) {
  // Proves a key set twice holds one entry with the last value, and operator[] inserts "".
  ExtFields f;
  f.Set("b", "1");
  f.Set("a", "2");
  f.Set("b", "3");
  EXPECT_EQ(f.size(), 2u);
  EXPECT_EQ(f.at("b"), "3");
  EXPECT_EQ(f["c"], "");
  EXPECT_EQ(f.size(), 3u);
  f["a"] = "4";
  EXPECT_EQ(f.at("a"), "4");
  f.at("c") = "5";
  EXPECT_EQ(f.at("c"), "5");
  EXPECT_EQ(f.erase("a"), 1u);
  EXPECT_EQ(f.erase("a"), 0u);
  EXPECT_EQ(Keys(f), (std::vector<std::string>{"b", "c"}));
}

TEST(ExtFieldsTest, IteratesInByteOrderOfKeys) {
  // Proves iteration is by key in unsigned byte order (as std::string compares), whatever the
  // insertion order: the encoders rely on it for deterministic, sorted output.
  ExtFields f;
  for (const char* k : {"queueId", "\xff", "a", "Z", "", "topic", "ab"}) f.Set(k, "v");
  EXPECT_EQ(Keys(f), (std::vector<std::string>{"", "Z", "a", "ab", "queueId", "topic", "\xff"}));
}

TEST(ExtFieldsTest, EqualityIgnoresInsertionOrderButNotValues) {
  // Proves two maps with the same entries are equal however they were built, and differ when a
  // value or a key differs.
  ExtFields a;
  a.Set("x", "1");
  a.Set("y", "2");
  ExtFields b{{"y", "2"}, {"x", "1"}};
  EXPECT_EQ(a, b);
  b.Set("y", "3");
  EXPECT_NE(a, b);
  ExtFields c{{"x", "1"}, {"z", "2"}};
  EXPECT_NE(a, c);
}

TEST(ExtFieldsTest, FromEntriesKeepsTheLastValueOfARepeatedKey) {
  // Proves unsorted input with repeated keys becomes a map where the last arrival wins.
  ExtFields f =
      ExtFields::FromEntries({{"b", "1"}, {"a", "1"}, {"b", "2"}, {"a", "2"}, {"b", "3"}});
  EXPECT_EQ(f, (ExtFields{{"a", "2"}, {"b", "3"}}));
  EXPECT_EQ(f.size(), 2u);
  // Sorted input with a repeat right behind its first: the later one still wins.
  EXPECT_EQ(ExtFields::FromEntries({{"a", "1"}, {"a", "2"}, {"c", "3"}}).at("a"), "2");
}

TEST(ExtFieldsTest, BinaryHeaderWithARepeatedKeyKeepsTheLastValue) {
  // Proves the binary decoder's rule for a key sent twice: the later value wins.
  std::vector<uint8_t> h;
  ByteWriter w(&h);
  w.U16(10);  // code
  w.U8(0);    // language
  w.U16(1);   // version
  w.I32(7);   // opaque
  w.I32(0);   // flag
  w.I32(0);   // no remark
  std::vector<uint8_t> ext;
  ByteWriter e(&ext);
  for (const char* v : {"first", "second"}) {
    e.U16(1);
    e.Bytes(std::string_view("k"));
    e.U32(static_cast<uint32_t>(std::string_view(v).size()));
    e.Bytes(std::string_view(v));
  }
  w.U32(static_cast<uint32_t>(ext.size()));
  w.Bytes(std::span<const uint8_t>(ext));
  RemotingCommand cmd;
  ASSERT_TRUE(DecodeBinaryHeader(h, &cmd).ok());
  EXPECT_EQ(cmd.ext_fields, (ExtFields{{"k", "second"}}));
}

TEST(ExtFieldsTest, JsonHeaderWithARepeatedKeyKeepsTheLastValue) {
  // Proves both JSON decoders (fast path and tree) let the later of a repeated key win.
  const std::string header = R"({"code":1,"extFields":{"k":"first","a":"x","k":"second"}})";
  RemotingCommand fast;
  ASSERT_TRUE(DecodeJsonHeader(header, &fast).ok());
  EXPECT_EQ(fast.ext_fields, (ExtFields{{"a", "x"}, {"k", "second"}}));
  RemotingCommand tree;
  ASSERT_TRUE(DecodeJsonHeaderReference(header, &tree).ok());
  EXPECT_EQ(tree.ext_fields, fast.ext_fields);
}

// Proves ExtFields answers like a std::map under any sequence of sets, index writes and erases.
RC_GTEST_PROP(ExtFieldsProp, BehavesLikeStdMap, ()) {
  const auto key = rc::gen::oneOf(rc::gen::element<std::string>("a", "b", "ab", "", "zz", "\x80"),
                                  rc::gen::arbitrary<std::string>());
  std::map<std::string, std::string> model;
  ExtFields f;
  const int ops = *rc::gen::inRange(0, 60);
  for (int i = 0; i < ops; i++) {
    const std::string k = *key;
    const std::string v = *rc::gen::arbitrary<std::string>();
    switch (*rc::gen::inRange(0, 4)) {
      case 0:
        f.Set(k, v);
        model[k] = v;
        break;
      case 1:
        f[k] = v;
        model[k] = v;
        break;
      case 2:
        RC_ASSERT(f.erase(k) == model.erase(k));
        break;
      default:
        RC_ASSERT(f.count(k) == model.count(k));
        if (model.count(k) == 1) RC_ASSERT(f.at(k) == model.at(k));
        break;
    }
  }
  RC_ASSERT(f.size() == model.size());
  const std::vector<ExtFields::Entry> entries(f.begin(), f.end());
  const std::vector<ExtFields::Entry> expected(model.begin(), model.end());
  RC_ASSERT(entries == expected);
  RC_ASSERT(ExtFields::FromEntries(expected) == f);
}

// Proves FromEntries over any sequence equals assigning the entries one by one into a std::map.
RC_GTEST_PROP(ExtFieldsProp, FromEntriesMatchesMapAssignment,
              (std::vector<std::pair<std::string, std::string>> entries)) {
  std::map<std::string, std::string> model;
  for (const auto& [k, v] : entries) model[k] = v;
  const ExtFields f = ExtFields::FromEntries(entries);
  RC_ASSERT(std::vector<ExtFields::Entry>(f.begin(), f.end()) ==
            std::vector<ExtFields::Entry>(model.begin(), model.end()));
}

}  // namespace
}  // namespace apogee
