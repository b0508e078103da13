#include "core/base/log.h"

#include <cstdio>

namespace apogee {
namespace {

// Process-wide settings of the logging facility. They only choose where text goes and how much
// of it; they never change what the code does.
LogLevel log_level = LogLevel::kInfo;
LogSink log_sink = nullptr;

char LevelLetter(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return 'D';
    case LogLevel::kInfo:
      return 'I';
    case LogLevel::kWarn:
      return 'W';
    case LogLevel::kError:
      return 'E';
    case LogLevel::kOff:
      return '-';
  }
  return '?';
}

}  // namespace

void SetLogLevel(LogLevel level) { log_level = level; }
LogLevel GetLogLevel() { return log_level; }
void SetLogSink(LogSink sink) { log_sink = sink; }

bool ParseLogLevel(std::string_view text, LogLevel* out) {
  if (text == "debug")
    *out = LogLevel::kDebug;
  else if (text == "info")
    *out = LogLevel::kInfo;
  else if (text == "warn")
    *out = LogLevel::kWarn;
  else if (text == "error")
    *out = LogLevel::kError;
  else if (text == "off")
    *out = LogLevel::kOff;
  else
    return false;
  return true;
}

void LogLine(LogLevel level, std::string_view message) {
  std::string line = fmt::format("{} {}] {}", LevelLetter(level), DiagPrefix(), message);
  if (log_sink != nullptr) {
    log_sink(level, line);
    return;
  }
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace apogee
