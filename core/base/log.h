#pragma once

// fmt-based logging. Every line is prefixed with the level, the node and the time of the code
// that logs it (see DiagContext), so a simulator log reads as one timeline of the cluster:
//   I node2 t=1.250000000s seed=7] accepted connection from 10.0.0.1:40001
//
// Lines go to a sink: stderr by default; the simulator can capture them. Level filtering is a
// single comparison, so disabled logging costs almost nothing on hot paths.

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "core/base/assert.h"

namespace apogee {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

using LogSink = void (*)(LogLevel level, std::string_view line);

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// nullptr restores the stderr sink.
void SetLogSink(LogSink sink);
// Parses "debug", "info", "warn", "error" or "off".
bool ParseLogLevel(std::string_view text, LogLevel* out);

void LogLine(LogLevel level, std::string_view message);

}  // namespace apogee

#define APOGEE_LOG(level, ...)                                \
  do {                                                        \
    if (::apogee::GetLogLevel() <= (level)) {                 \
      ::apogee::LogLine((level), ::fmt::format(__VA_ARGS__)); \
    }                                                         \
  } while (0)

#define LOG_DEBUG(...) APOGEE_LOG(::apogee::LogLevel::kDebug, __VA_ARGS__)
#define LOG_INFO(...) APOGEE_LOG(::apogee::LogLevel::kInfo, __VA_ARGS__)
#define LOG_WARN(...) APOGEE_LOG(::apogee::LogLevel::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) APOGEE_LOG(::apogee::LogLevel::kError, __VA_ARGS__)
