#include "core/remoting/command.h"

#include <gtest/gtest.h>

#include <string>

namespace apogee {
namespace {

TEST(RemotingCommandTest, JsonHeaderMatchesTheDocExample) {
  // Proves our JSON header for the doc's example request is the same 123 bytes.
  RemotingCommand cmd;
  cmd.code = 105;
  cmd.language = LanguageCode::kJava;
  cmd.version = 407;
  cmd.opaque = 1;
  cmd.ext_fields = {{"topic", "T"}};
  std::string h = EncodeJsonHeader(cmd);
  EXPECT_EQ(
      h,
      R"({"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":1,"serializeTypeCurrentRPC":"JSON","version":407})");
  EXPECT_EQ(h.size(), 123u);
}

TEST(RemotingCommandTest, JsonHeaderToleratesWhatRealClientsSend) {
  // Proves numbers/booleans in extFields become text, nulls and unknown keys are skipped, and
  // signature fields are kept.
  RemotingCommand cmd;
  Status s = DecodeJsonHeader(
      R"({"code":310,"language":"CPP","version":1,"opaque":7,"flag":2,"remark":null,"unknownTop":{"x":[1]},)"
      R"("extFields":{"e":0,"k":false,"g":1700000000000,"b":"T","n":null,"AccessKey":"ak","Signature":"sig","OnsChannel":"ALIYUN"}})",
      &cmd);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(cmd.code, 310);
  EXPECT_EQ(cmd.language, LanguageCode::kCpp);
  EXPECT_TRUE(cmd.is_oneway());
  EXPECT_FALSE(cmd.is_response());
  EXPECT_FALSE(cmd.remark.has_value());
  EXPECT_EQ(cmd.ext_fields.at("e"), "0");
  EXPECT_EQ(cmd.ext_fields.at("k"), "false");
  EXPECT_EQ(cmd.ext_fields.at("g"), "1700000000000");
  EXPECT_EQ(cmd.ext_fields.at("AccessKey"), "ak");
  EXPECT_EQ(cmd.ext_fields.at("Signature"), "sig");
  EXPECT_EQ(cmd.ext_fields.count("n"), 0u);
}

TEST(RemotingCommandTest, UnknownLanguageIsOther) {
  // Proves unknown language names and bytes map to OTHER and known names map both ways.
  EXPECT_EQ(LanguageFromName("COBOL"), LanguageCode::kOther);
  EXPECT_EQ(LanguageFromName("RUST"), LanguageCode::kRust);
  EXPECT_EQ(LanguageName(LanguageCode::kGo), "GO");
  EXPECT_EQ(LanguageFromByte(200), LanguageCode::kOther);
  RemotingCommand cmd;
  ASSERT_TRUE(DecodeJsonHeader(R"({"code":1,"language":"NODE"})", &cmd).ok());
  EXPECT_EQ(cmd.language, LanguageCode::kOther);
}

TEST(RemotingCommandTest, JsonHeaderRejectsWrongTypes) {
  // Proves wrongly typed or out-of-range fields are kMalformed rather than guessed at.
  RemotingCommand cmd;
  for (const char* bad : {R"([1])", R"({"code":"105"})", R"({"code":1.5})",
                          R"({"opaque":4294967296})", R"({"language":3})", R"({"remark":1})",
                          R"({"extFields":[1]})", R"({"extFields":{"a":{}}})", R"({"code":1)"}) {
    EXPECT_EQ(DecodeJsonHeader(bad, &cmd).code(), ErrorCode::kMalformed) << bad;
  }
}

TEST(RemotingCommandTest, BinaryHeaderRejectsBadLengths) {
  // Proves negative lengths, overruns and an ext area that is not exactly filled are kMalformed.
  RemotingCommand cmd;
  cmd.code = 10;
  cmd.remark = std::string("r");
  cmd.ext_fields = {{"k", "v"}};
  std::vector<uint8_t> good = EncodeBinaryHeader(cmd);
  RemotingCommand back;
  ASSERT_TRUE(DecodeBinaryHeader(good, &back).ok());
  EXPECT_EQ(back.remark, "r");
  EXPECT_EQ(back.ext_fields.at("k"), "v");
  // Every strict prefix is short somewhere.
  for (size_t n = 0; n < good.size(); n++) {
    EXPECT_EQ(DecodeBinaryHeader(std::span(good.data(), n), &back).code(), ErrorCode::kMalformed)
        << n;
  }
  // A trailing byte is not filled by ext entries.
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_EQ(DecodeBinaryHeader(longer, &back).code(), ErrorCode::kMalformed);
  // remark_len = -1 (at offset 13).
  std::vector<uint8_t> neg = good;
  neg[13] = neg[14] = neg[15] = neg[16] = 0xFF;
  EXPECT_EQ(DecodeBinaryHeader(neg, &back).code(), ErrorCode::kMalformed);
  // Negative ext key length (key_len sits right after ext_len).
  std::vector<uint8_t> negkey = good;
  size_t key_at = 21 + 1;  // fixed part plus the one-byte remark
  negkey[key_at] = 0x80;
  EXPECT_EQ(DecodeBinaryHeader(negkey, &back).code(), ErrorCode::kMalformed);
}

}  // namespace
}  // namespace apogee
