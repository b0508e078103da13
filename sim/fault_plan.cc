#include "sim/fault_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "core/remoting/json.h"

namespace apogee::sim {

namespace {

constexpr std::string_view kTypeNames[kFaultTypeCount] = {
    "partition",  "partition-one-way", "isolate",      "clog",      "reset",    "crash",
    "pause",      "disk-errors",       "failed-syncs", "disk-full", "bit-flip", "clock-jump",
    "clock-drift"};

constexpr std::string_view kCrashNames[] = {"drop", "keep", "tear"};

bool TwoNodes(FaultType t) {
  return t == FaultType::kPartition || t == FaultType::kPartitionOneWay || t == FaultType::kClog ||
         t == FaultType::kReset;
}

bool Instantaneous(FaultType t) {
  return t == FaultType::kReset || t == FaultType::kBitFlip || t == FaultType::kClockJump;
}

bool NeedsState(FaultType t) {
  return t == FaultType::kDiskErrors || t == FaultType::kFailedSyncs || t == FaultType::kDiskFull ||
         t == FaultType::kBitFlip;
}

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

Status Bad(size_t index, std::string what) {
  return Status(ErrorCode::kMalformed, fmt::format("fault plan: fault {}: {}", index, what));
}

}  // namespace

bool IsTwoNodeFault(FaultType type) { return TwoNodes(type); }
bool IsInstantaneousFault(FaultType type) { return Instantaneous(type); }
bool IsDiskFault(FaultType type) { return NeedsState(type); }

Status ValidateFaultPlan(const FaultPlan& plan, const FaultTargets& targets, Duration length) {
  auto in = [](const std::vector<std::string>& v, const std::string& name) {
    return std::find(v.begin(), v.end(), name) != v.end();
  };
  auto bad = [](size_t i, const Fault& f, std::string what) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("fault plan: fault {} ({}): {}", i, Describe(f), what));
  };
  for (size_t i = 0; i < plan.faults.size(); i++) {
    const Fault& f = plan.faults[i];
    if (f.at < Duration::zero() || f.at >= length) {
      return bad(i, f, fmt::format("starts outside the safety phase of {:.3f}s", Seconds(length)));
    }
    if (f.duration < Duration::zero() || f.at + f.duration > length) {
      return bad(i, f, "lasts past the end of the safety phase");
    }
    if (Instantaneous(f.type) && f.duration != Duration::zero()) {
      return bad(i, f, "an instantaneous fault has no duration");
    }
    if (NeedsState(f.type) ? !in(targets.stateful, f.a)
                           : !in(targets.nodes, f.a) && !in(targets.peers, f.a)) {
      return bad(i, f, fmt::format("'{}' is not a node this scenario's faults may hit", f.a));
    }
    if (TwoNodes(f.type)) {
      if (f.b == f.a) return bad(i, f, "needs two distinct nodes");
      if (!in(targets.nodes, f.b) && !in(targets.peers, f.b)) {
        return bad(i, f, fmt::format("'{}' is not a node this scenario's faults may hit", f.b));
      }
    } else if (!f.b.empty()) {
      return bad(i, f, "names a second node it does not act on");
    }
    if (f.probability < 0 || f.probability > 1) return bad(i, f, "probability outside [0, 1]");
    if (f.type == FaultType::kDiskFull && f.amount < 0) return bad(i, f, "negative free space");
  }
  return Status::Ok();
}

std::string_view FaultTypeName(FaultType type) { return kTypeNames[static_cast<int>(type)]; }

Result<FaultType> FaultTypeFromName(std::string_view name) {
  for (int i = 0; i < kFaultTypeCount; i++) {
    if (kTypeNames[i] == name) return static_cast<FaultType>(i);
  }
  return Status(ErrorCode::kInvalidArgument, fmt::format("unknown fault type '{}'", name));
}

std::string Describe(const Fault& f) {
  std::string what;
  switch (f.type) {
    case FaultType::kPartition:
      what = fmt::format("partition {} <-> {}", f.a, f.b);
      break;
    case FaultType::kPartitionOneWay:
      what = fmt::format("partition {} -> {}", f.a, f.b);
      break;
    case FaultType::kIsolate:
      what = fmt::format("isolate {}", f.a);
      break;
    case FaultType::kClog:
      what = fmt::format("clog {} -> {}", f.a, f.b);
      break;
    case FaultType::kReset:
      what = fmt::format("reset connections {} <-> {}", f.a, f.b);
      break;
    case FaultType::kCrash:
      what = fmt::format("crash {} ({} unsynced data), restart after", f.a,
                         kCrashNames[static_cast<int>(f.crash)]);
      break;
    case FaultType::kPause:
      what = fmt::format("pause {}", f.a);
      break;
    case FaultType::kDiskErrors:
      what = fmt::format("disk errors on {} (p={:.2f})", f.a, f.probability);
      break;
    case FaultType::kFailedSyncs:
      what = fmt::format("failed syncs on {} (p={:.2f})", f.a, f.probability);
      break;
    case FaultType::kDiskFull:
      what = fmt::format("disk full on {} ({} bytes left)", f.a, f.amount);
      break;
    case FaultType::kBitFlip:
      what = fmt::format("bit flip on {}", f.a);
      break;
    case FaultType::kClockJump:
      what = fmt::format("clock of {} jumps {:+} ms", f.a, f.amount);
      break;
    case FaultType::kClockDrift:
      what = fmt::format("clock of {} drifts {:+} ppm", f.a, f.amount);
      break;
  }
  if (Instantaneous(f.type)) return fmt::format("at {:.3f}s: {}", Seconds(f.at), what);
  return fmt::format("at {:.3f}s for {:.3f}s: {}", Seconds(f.at), Seconds(f.duration), what);
}

std::string EncodeFaultPlan(const FaultPlan& plan) {
  JsonValue array = JsonValue::Array();
  for (const Fault& f : plan.faults) {
    JsonValue o = JsonValue::Object();
    o.Add("at_ms",
          JsonValue::Int(std::chrono::duration_cast<std::chrono::milliseconds>(f.at).count()));
    if (!Instantaneous(f.type)) {
      o.Add("duration_ms",
            JsonValue::Int(
                std::chrono::duration_cast<std::chrono::milliseconds>(f.duration).count()));
    }
    o.Add("type", JsonValue::String(std::string(FaultTypeName(f.type))));
    o.Add("a", JsonValue::String(f.a));
    if (TwoNodes(f.type)) o.Add("b", JsonValue::String(f.b));
    if (f.type == FaultType::kCrash) {
      o.Add("crash", JsonValue::String(std::string(kCrashNames[static_cast<int>(f.crash)])));
    }
    if (f.type == FaultType::kDiskErrors || f.type == FaultType::kFailedSyncs) {
      o.Add("probability", JsonValue::Number(fmt::format("{:.6f}", f.probability)));
    }
    if (f.type == FaultType::kDiskFull || f.type == FaultType::kClockJump ||
        f.type == FaultType::kClockDrift) {
      o.Add("amount", JsonValue::Int(f.amount));
    }
    array.Append(std::move(o));
  }
  return WriteJson(array);
}

Result<FaultPlan> DecodeFaultPlan(std::string_view json) {
  Result<JsonValue> parsed = ParseJson(json);
  if (!parsed.ok()) {
    return Status(ErrorCode::kMalformed, fmt::format("fault plan: {}", parsed.status().message()));
  }
  if (!parsed->is_array()) return Status(ErrorCode::kMalformed, "fault plan: not a JSON array");
  FaultPlan plan;
  size_t i = 0;
  for (const JsonValue& o : parsed->items()) {
    if (!o.is_object()) return Bad(i, "not an object");
    Fault f;
    auto integer = [&](std::string_view key, bool required, int64_t* out) -> Status {
      const JsonValue* v = o.Find(key);
      if (v == nullptr)
        return required ? Bad(i, fmt::format("'{}' is missing", key)) : Status::Ok();
      if (!v->is_number() || !v->int64().has_value()) {
        return Bad(i, fmt::format("'{}' must be an integer", key));
      }
      *out = *v->int64();
      return Status::Ok();
    };
    auto text = [&](std::string_view key, bool required, std::string* out) -> Status {
      const JsonValue* v = o.Find(key);
      if (v == nullptr)
        return required ? Bad(i, fmt::format("'{}' is missing", key)) : Status::Ok();
      if (!v->is_string()) return Bad(i, fmt::format("'{}' must be a string", key));
      *out = v->string_value();
      return Status::Ok();
    };
    std::string type;
    APOGEE_RETURN_IF_ERROR(text("type", true, &type));
    Result<FaultType> t = FaultTypeFromName(type);
    if (!t.ok()) return Bad(i, t.status().message());
    f.type = *t;
    int64_t at_ms = 0;
    int64_t duration_ms = 0;
    APOGEE_RETURN_IF_ERROR(integer("at_ms", true, &at_ms));
    APOGEE_RETURN_IF_ERROR(integer("duration_ms", !Instantaneous(f.type), &duration_ms));
    if (at_ms < 0 || duration_ms < 0) return Bad(i, "times must not be negative");
    f.at = std::chrono::milliseconds(at_ms);
    f.duration = std::chrono::milliseconds(duration_ms);
    APOGEE_RETURN_IF_ERROR(text("a", true, &f.a));
    APOGEE_RETURN_IF_ERROR(text("b", TwoNodes(f.type), &f.b));
    if (f.type == FaultType::kCrash) {
      std::string crash;
      APOGEE_RETURN_IF_ERROR(text("crash", true, &crash));
      auto it = std::find(std::begin(kCrashNames), std::end(kCrashNames), crash);
      if (it == std::end(kCrashNames)) return Bad(i, fmt::format("unknown crash mode '{}'", crash));
      f.crash = static_cast<CrashStyle>(it - std::begin(kCrashNames));
    }
    if (f.type == FaultType::kDiskErrors || f.type == FaultType::kFailedSyncs) {
      const JsonValue* p = o.Find("probability");
      if (p == nullptr || !p->is_number()) return Bad(i, "'probability' must be a number");
      f.probability = std::stod(p->number_text());
      if (!(f.probability >= 0 && f.probability <= 1)) return Bad(i, "'probability' not in [0, 1]");
    }
    APOGEE_RETURN_IF_ERROR(integer("amount",
                                   f.type == FaultType::kDiskFull ||
                                       f.type == FaultType::kClockJump ||
                                       f.type == FaultType::kClockDrift,
                                   &f.amount));
    plan.faults.push_back(std::move(f));
    i++;
  }
  std::stable_sort(plan.faults.begin(), plan.faults.end(),
                   [](const Fault& x, const Fault& y) { return x.at < y.at; });
  return plan;
}

std::string SwarmMix::Describe() const {
  std::string out;
  for (int i = 0; i < kFaultTypeCount; i++) {
    if (!enabled[i]) continue;
    if (!out.empty()) out += ' ';
    out += kTypeNames[i];
  }
  if (out.empty()) out = "no faults";
  return fmt::format("{} every {:.1f}-{:.1f}s", out, Seconds(gap_min), Seconds(gap_max));
}

SwarmMix DrawSwarmMix(io::Random& rng) {
  // How likely each kind is to be on in a run: crashes and partitions, the faults most bugs
  // hide behind, most often; bit flips least (each one may legitimately destroy a record).
  constexpr double kOn[kFaultTypeCount] = {0.7, 0.4, 0.4, 0.5,  0.5, 0.7, 0.4,
                                           0.3, 0.4, 0.3, 0.15, 0.4, 0.3};
  SwarmMix mix;
  for (int i = 0; i < kFaultTypeCount; i++) mix.enabled[i] = rng.Chance(kOn[i]);
  int64_t mean_ms = rng.Range(500, 5000);
  mix.gap_min = std::chrono::milliseconds(mean_ms / 2);
  mix.gap_max = std::chrono::milliseconds(mean_ms * 3 / 2);
  return mix;
}

FaultPlan DrawSwarmPlan(io::Random& rng, const SwarmMix& mix, const FaultTargets& targets,
                        Duration length) {
  FaultPlan plan;
  std::vector<FaultType> kinds;
  for (int i = 0; i < kFaultTypeCount; i++) {
    FaultType t = static_cast<FaultType>(i);
    if (!mix.enabled[i]) continue;
    if (NeedsState(t) && targets.stateful.empty()) continue;
    if (TwoNodes(t) && targets.nodes.size() + targets.peers.size() < 2) continue;
    if (targets.nodes.empty()) continue;
    kinds.push_back(t);
  }
  if (kinds.empty()) return plan;
  auto pick = [&](const std::vector<std::string>& from) { return from[rng.Uniform(from.size())]; };
  auto ms = [](Duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  Duration at{};
  for (;;) {
    at += std::chrono::milliseconds(
        rng.Range(ms(mix.gap_min), std::max(ms(mix.gap_min), ms(mix.gap_max))));
    if (at >= length) break;
    Fault f;
    f.at = at;
    f.type = kinds[rng.Uniform(kinds.size())];
    f.a = pick(NeedsState(f.type) ? targets.stateful : targets.nodes);
    if (TwoNodes(f.type)) {
      const std::vector<std::string>& others =
          targets.peers.empty() ? targets.nodes : targets.peers;
      if (std::all_of(others.begin(), others.end(),
                      [&](const std::string& o) { return o == f.a; })) {
        continue;  // no node to pair with
      }
      do {
        f.b = pick(others);
      } while (f.b == f.a);
    }
    if (!Instantaneous(f.type)) {
      Duration d = std::chrono::milliseconds(rng.Range(200, 5000));
      f.duration = std::min(d, length - at);
    }
    switch (f.type) {
      case FaultType::kCrash:
        f.crash = static_cast<CrashStyle>(rng.Uniform(3));
        break;
      case FaultType::kDiskErrors:
      case FaultType::kFailedSyncs:
        f.probability = 0.05 + 0.45 * rng.Real();
        break;
      case FaultType::kDiskFull:
        f.amount = rng.Range(0, 1 << 20);
        break;
      case FaultType::kClockJump:
        f.amount = rng.Range(-120'000, 120'000);
        break;
      case FaultType::kClockDrift:
        f.amount = rng.Range(-100'000, 100'000);
        break;
      default:
        break;
    }
    plan.faults.push_back(std::move(f));
  }
  return plan;
}

}  // namespace apogee::sim
