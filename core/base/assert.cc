#include "core/base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace apogee {
namespace {

thread_local DiagContext diag_context;
AssertFailureHook failure_hook = nullptr;

}  // namespace

DiagContext& CurrentDiag() { return diag_context; }

std::string DiagPrefix() {
  const DiagContext& d = diag_context;
  std::string out(d.node);
  if (d.now_ns != nullptr) {
    int64_t ns = d.now_ns(d.now_arg);
    out += fmt::format(" t={}.{:09}s", ns / 1000000000, ns % 1000000000);
  }
  if (d.has_seed) out += fmt::format(" seed={}", d.seed);
  return out;
}

void SetAssertFailureHook(AssertFailureHook hook) { failure_hook = hook; }

void AssertFail(const char* condition, const char* file, int line, std::string_view message) {
  std::string report =
      fmt::format("assertion failed: {} at {}:{} [{}]", condition, file, line, DiagPrefix());
  if (!message.empty()) report += fmt::format(": {}", message);
  std::fprintf(stderr, "%s\n", report.c_str());
  std::fflush(stderr);
  if (failure_hook != nullptr) failure_hook(report);
  std::abort();
}

}  // namespace apogee
