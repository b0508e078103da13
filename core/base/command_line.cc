#include "core/base/command_line.h"

#include <fmt/format.h>

#include <optional>

namespace apogee {

namespace {

Status Bad(std::string what) { return Status(ErrorCode::kInvalidArgument, std::move(what)); }

}  // namespace

Result<std::map<char, std::string>> ParseOptions(const std::vector<std::string>& args,
                                                 std::span<const OptionSpec> specs) {
  std::map<char, std::string> given;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const OptionSpec* spec = nullptr;
    std::optional<std::string> value;  // given in the same argument
    if (arg.size() > 2 && arg.starts_with("--")) {
      std::string_view name = std::string_view(arg).substr(2);
      size_t eq = name.find('=');
      if (eq != std::string_view::npos) {
        value = std::string(name.substr(eq + 1));
        name = name.substr(0, eq);
      }
      for (const OptionSpec& o : specs) {
        if (o.long_names[0] == name || (!o.long_names[1].empty() && o.long_names[1] == name)) {
          spec = &o;
        }
      }
    } else if (arg.size() >= 2 && arg[0] == '-' && arg[1] != '-') {
      for (const OptionSpec& o : specs) {
        if (o.letter == arg[1]) spec = &o;
      }
      if (spec != nullptr && arg.size() > 2) {
        if (!spec->takes_value) return Bad(fmt::format("unknown option '{}'", arg));
        value = arg.substr(2);
      }
    } else {
      return Bad(fmt::format("unexpected argument '{}'", arg));
    }
    if (spec == nullptr) return Bad(fmt::format("unknown option '{}'", arg));
    if (given.count(spec->letter) != 0) {
      return Bad(fmt::format("option -{} given twice", spec->letter));
    }
    if (spec->takes_value) {
      if (!value) {
        if (i + 1 == args.size()) return Bad(fmt::format("option '{}' needs a value", arg));
        value = args[++i];
      }
      if (value->empty()) return Bad(fmt::format("option '{}' has an empty value", arg));
    } else if (value) {
      return Bad(fmt::format("option '{}' takes no value", arg));
    }
    given[spec->letter] = value.value_or("");
  }
  return given;
}

}  // namespace apogee
