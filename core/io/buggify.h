#pragma once

// Buggify: named fault points in core/ that the simulator may switch on (after FoundationDB's
// BUGGIFY). In a simulated run each point is decided once, the first time it is reached: armed
// with some probability or not. An armed point then fires with a small probability each time it
// is reached. In production nothing is ever armed. Use it to take rare paths on purpose:
//   if (APOGEE_BUGGIFY(env)) return Status(ErrorCode::kTimeout, "buggified timeout");
// and to randomize knobs:
//   size_t batch = APOGEE_BUGGIFY(env) ? 1 : kBatchMax;

#include <source_location>
#include <string_view>

namespace apogee::io {

class Buggify {
 public:
  virtual ~Buggify() = default;
  // `point` names the call site ("file:line"); it must be a string with static storage.
  virtual bool Fire(const char* file, unsigned line) = 0;
};

// Production's Buggify: never fires.
class NoBuggify final : public Buggify {
 public:
  bool Fire(const char*, unsigned) override { return false; }
};

}  // namespace apogee::io

#define APOGEE_BUGGIFY(env) ((env).buggify.Fire(__FILE__, __LINE__))
