#pragma once

// The daemons' command lines, parsed as RocketMQ's mqbroker / mqnamesrv (Apache Commons CLI)
// read theirs: short options with the value in the next argument or joined ("-cFILE"), long
// options with the value next or after '=' ("--configFile=FILE").

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace apogee {

struct OptionSpec {
  char letter;                     // -c
  std::string_view long_names[2];  // --configFile, and an alias or ""
  bool takes_value;
};

// Each option given, by letter, with its value ("" for an option without one). An unknown
// option, a missing or empty value, a value given to an option that takes none, an option given
// twice or a stray argument is kInvalidArgument naming it (without any usage text).
Result<std::map<char, std::string>> ParseOptions(const std::vector<std::string>& args,
                                                 std::span<const OptionSpec> specs);

}  // namespace apogee
