#include "sim/kernel.h"

#include <fmt/format.h>

#include "core/base/assert.h"

namespace apogee::sim {
namespace {

// FNV-1a over the purpose string: stable across builds and platforms, unlike std::hash.
uint64_t HashPurpose(std::string_view purpose) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : purpose) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

thread_local Kernel* current_kernel = nullptr;

int64_t KernelNowNs(const void* arg) {
  return ToNanos(const_cast<Kernel*>(static_cast<const Kernel*>(arg))->Now());
}

}  // namespace

const char* TraceKindName(TraceKind kind) {
  switch (kind) {
    case TraceKind::kResume:
      return "resume";
    case TraceKind::kEvent:
      return "event";
    case TraceKind::kPick:
      return "pick";
    case TraceKind::kDraw:
      return "draw";
    case TraceKind::kFault:
      return "fault";
    case TraceKind::kNote:
      return "note";
  }
  return "?";
}

std::string DescribeEntry(const TraceEntry& e, const std::vector<std::string>& group_names) {
  std::string what;
  switch (e.kind) {
    case TraceKind::kResume:
      if (e.b < group_names.size()) {
        what = fmt::format("resume fiber={} of {}", e.a, group_names[e.b]);
      } else {
        what = fmt::format("resume fiber={} group={}", e.a, e.b);
      }
      break;
    case TraceKind::kEvent:
      what = fmt::format("event seq={}", e.a);
      break;
    case TraceKind::kPick:
      what = fmt::format("pick {} of {} ready fibers", e.b, e.a);
      break;
    case TraceKind::kDraw:
      what = fmt::format("random draw stream={} value={:#x}", e.a, e.b);
      break;
    case TraceKind::kFault:
      what = fmt::format("fault kind={} detail={}", e.a, e.b);
      break;
    case TraceKind::kNote:
      what = fmt::format("note a={} b={}", e.a, e.b);
      break;
  }
  return fmt::format("#{} t={}.{:09}s {}", e.index, e.time_ns / 1000000000, e.time_ns % 1000000000,
                     what);
}

uint64_t TracedRandom::Next() {
  uint64_t v = rng_.Next();
  kernel_->trace_.Fold(TraceKind::kDraw, stream_id_, v, ToNanos(kernel_->now_));
  return v;
}

Kernel::Kernel(uint64_t seed) : seed_(seed), schedule_rng_(seed ^ HashPurpose("schedule")) {
  runtime_ = std::make_unique<io::Runtime>(this);
  DiagContext& diag = CurrentDiag();
  diag.now_ns = &KernelNowNs;
  diag.now_arg = this;
  diag.has_seed = true;
  diag.seed = seed;
  current_kernel = this;
}

Kernel* CurrentKernel() { return current_kernel; }

Kernel::~Kernel() {
  runtime_.reset();
  if (current_kernel == this) current_kernel = nullptr;
  DiagContext& diag = CurrentDiag();
  if (diag.now_arg == this) diag = DiagContext{};
}

std::unique_ptr<TracedRandom> Kernel::NewStream(std::string_view purpose) {
  bool fresh = purposes_.emplace(purpose).second;
  APOGEE_ASSERT(fresh, "random stream '{}' asked for twice", purpose);
  uint64_t state = seed_ ^ HashPurpose(purpose);
  uint64_t stream_seed = io::SeededRandom::SplitMix(state);
  return std::make_unique<TracedRandom>(stream_seed, next_stream_id_++, this);
}

void Kernel::RunUntil(Instant t) {
  APOGEE_ASSERT(t >= now_, "RunUntil into the past");
  io::EventId stop = runtime_->At(t, [this] { runtime_->Stop(); });
  runtime_->Run();
  runtime_->Cancel(stop);
  // Quiet before `t`: nothing happened in between, so time simply passes.
  if (now_ < t) now_ = t;
}

void Kernel::RunUntilQuiet() { runtime_->Run(); }

size_t Kernel::PickReady(size_t ready_count) {
  size_t pick = static_cast<size_t>(schedule_rng_.Next() % ready_count);
  trace_.Fold(TraceKind::kPick, ready_count, pick, ToNanos(now_));
  return pick;
}

bool Kernel::Idle(Deadline next_event) {
  if (!next_event.has_value()) return false;
  if (*next_event > now_) now_ = *next_event;
  return true;
}

void Kernel::OnResume(io::FiberId fiber, io::GroupId group) {
  trace_.Fold(TraceKind::kResume, fiber, group, ToNanos(now_));
}

void Kernel::OnEvent(uint64_t sequence) {
  trace_.Fold(TraceKind::kEvent, sequence, 0, ToNanos(now_));
}

}  // namespace apogee::sim
