#include "core/remoting/command.h"

#include <array>

namespace apogee {
namespace {

constexpr std::array<std::string_view, 13> kLanguageNames = {
    "JAVA",  "CPP",  "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY",
    "OTHER", "HTTP", "GO",     "PHP",    "OMS",    "RUST",
};

}  // namespace

std::string_view LanguageName(LanguageCode language) {
  size_t i = static_cast<size_t>(language);
  APOGEE_ASSERT(i < kLanguageNames.size());
  return kLanguageNames[i];
}

LanguageCode LanguageFromName(std::string_view name) {
  for (size_t i = 0; i < kLanguageNames.size(); i++) {
    if (kLanguageNames[i] == name) return static_cast<LanguageCode>(i);
  }
  return LanguageCode::kOther;
}

LanguageCode LanguageFromByte(uint8_t b) {
  if (b >= kLanguageNames.size()) return LanguageCode::kOther;
  return static_cast<LanguageCode>(b);
}

}  // namespace apogee
