#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>

#include "core/remoting/json.h"

namespace apogee {
namespace {

// Proves random text and random JSON-like text never crash the reader; failures are kMalformed.
RC_GTEST_PROP(RemotingJsonPropTest, RandomTextNeverCrashesTheReader, (std::string text)) {
  if (*rc::gen::arbitrary<bool>()) {
    text = *rc::gen::container<std::string>(rc::gen::element('{', '}', '[', ']', '"', ':', ',',
                                                             '\\', 'u', 'd', '8', '0', '1', '-',
                                                             '.', 'e', 't', 'n', ' ', 'a'));
  }
  auto r = ParseJson(text);
  if (!r.ok()) {
    RC_ASSERT(r.code() == ErrorCode::kMalformed);
  } else {
    // Whatever parses writes out as JSON that parses to the same value.
    auto again = ParseJson(WriteJson(*r));
    RC_ASSERT(again.ok());
    RC_ASSERT(*again == *r);
  }
}

}  // namespace
}  // namespace apogee
