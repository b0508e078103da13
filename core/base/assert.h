#pragma once

// Always-on assertions. A failed assertion prints the condition, the location, an optional
// formatted message and the diagnostic context of the running code (node, time, seed), then
// calls the installed failure hook (the simulator uses it to report outcome "crash") and aborts.
//
// Split compound conditions: APOGEE_ASSERT(a); APOGEE_ASSERT(b); so a failure names the part.

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace apogee {

// What the code that runs on this thread is doing, for log prefixes and assertion reports. The
// fiber runtime updates `node` on every switch; the owner of the event loop sets the time source
// and the seed. This is the one piece of thread-local state in core/: it only describes, it never
// steers behaviour.
struct DiagContext {
  std::string_view node = "-";
  // Returns the current time in nanoseconds on the loop's clock (virtual in the simulator).
  int64_t (*now_ns)(const void* arg) = nullptr;
  const void* now_arg = nullptr;
  bool has_seed = false;
  uint64_t seed = 0;
};

DiagContext& CurrentDiag();

// "node2 t=1.234567890s seed=42" (the seed part only when known).
std::string DiagPrefix();

// Called once after the report is printed and before abort(); may not return normally
// (for example it may _exit with a chosen code). Pass nullptr to remove.
using AssertFailureHook = void (*)(std::string_view report);
void SetAssertFailureHook(AssertFailureHook hook);

[[noreturn]] void AssertFail(const char* condition, const char* file, int line,
                             std::string_view message);

}  // namespace apogee

#define APOGEE_ASSERT(cond, ...)                                                      \
  do {                                                                                \
    if (!(cond)) [[unlikely]] {                                                       \
      ::apogee::AssertFail(#cond, __FILE__, __LINE__,                                 \
                           ::apogee::detail::AssertMessage(__VA_OPT__(__VA_ARGS__))); \
    }                                                                                 \
  } while (0)

#define APOGEE_UNREACHABLE(...)                           \
  ::apogee::AssertFail("unreachable", __FILE__, __LINE__, \
                       ::apogee::detail::AssertMessage(__VA_OPT__(__VA_ARGS__)))

namespace apogee::detail {
inline std::string AssertMessage() { return {}; }
template <typename... Args>
std::string AssertMessage(fmt::format_string<Args...> format, Args&&... args) {
  return fmt::format(format, std::forward<Args>(args)...);
}
}  // namespace apogee::detail
