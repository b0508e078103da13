#include "sim/repro.h"

#include <fmt/format.h>

#include <charconv>

#include "core/remoting/json.h"

#ifndef APOGEE_BUILD_ID
#define APOGEE_BUILD_ID "unknown"
#endif

namespace apogee::sim {

namespace {

constexpr std::string_view kFormat = "apogee-repro/2";
constexpr std::string_view kFormatWithoutPlans = "apogee-repro/1";

Result<JsonValue> PlanJson(const FaultPlan& plan) { return ParseJson(EncodeFaultPlan(plan)); }

Status Bad(std::string what) {
  return Status(ErrorCode::kMalformed, fmt::format("repro file: {}", what));
}

}  // namespace

const char* BuildId() { return APOGEE_BUILD_ID; }

bool IsTestHook(std::string_view arg) {
  if (arg == "--inject-crash" || arg == "--inject-nondeterminism") return true;
  constexpr std::string_view kOn = "--inject-violation-on=";
  return arg.starts_with(kOn) && FaultTypeFromName(arg.substr(kOn.size())).ok();
}

Status ApplyTestHook(std::string_view arg, RunConfig* config) {
  constexpr std::string_view kOn = "--inject-violation-on=";
  if (arg == "--inject-crash") {
    config->inject_crash = true;
  } else if (arg == "--inject-nondeterminism") {
    config->inject_nondeterminism = true;
  } else if (arg.starts_with(kOn)) {
    APOGEE_ASSIGN_OR_RETURN(FaultType type, FaultTypeFromName(arg.substr(kOn.size())));
    config->inject_violation_on = type;
  } else {
    return Status(ErrorCode::kInvalidArgument, fmt::format("unknown test hook '{}'", arg));
  }
  return Status::Ok();
}

std::string EncodeRepro(const Repro& r) {
  JsonValue o = JsonValue::Object();
  o.Add("format", JsonValue::String(std::string(kFormat)));
  o.Add("scenario", JsonValue::String(r.scenario));
  o.Add("seed", JsonValue::Number(fmt::format("{}", r.seed)));
  o.Add("build_id", JsonValue::String(r.build_id));
  o.Add("outcome", JsonValue::String(r.outcome));
  o.Add("trace_hash", JsonValue::String(fmt::format("{:016x}", r.trace_hash)));
  o.Add("sim_time_ms", JsonValue::Number(fmt::format("{:.3f}", r.sim_time_ms)));
  JsonValue violations = JsonValue::Array();
  for (const std::string& v : r.violations) violations.Append(JsonValue::String(v));
  o.Add("violations", std::move(violations));
  JsonValue hooks = JsonValue::Array();
  for (const std::string& h : r.test_hooks) hooks.Append(JsonValue::String(h));
  o.Add("test_hooks", std::move(hooks));
  if (r.fault_plan.has_value()) {
    Result<JsonValue> plan = PlanJson(*r.fault_plan);
    o.Add("fault_plan", plan.ok() ? std::move(*plan) : JsonValue::Array());
  }
  if (r.original_fault_plan.has_value()) {
    Result<JsonValue> plan = PlanJson(*r.original_fault_plan);
    o.Add("original_fault_plan", plan.ok() ? std::move(*plan) : JsonValue::Array());
  }
  if (!r.shrink.empty()) o.Add("shrink", JsonValue::String(r.shrink));
  return WriteJson(o) + "\n";
}

Result<Repro> DecodeRepro(std::string_view text) {
  Result<JsonValue> parsed = ParseJson(text);
  if (!parsed.ok()) return Bad(parsed.status().message());
  const JsonValue& o = *parsed;
  if (!o.is_object()) return Bad("not a JSON object");
  auto str = [&](std::string_view key, std::string* out) -> Status {
    const JsonValue* v = o.Find(key);
    if (v == nullptr || !v->is_string()) return Bad(fmt::format("'{}' must be a string", key));
    *out = v->string_value();
    return Status::Ok();
  };
  std::string format;
  APOGEE_RETURN_IF_ERROR(str("format", &format));
  const bool with_plans = format == kFormat;
  if (!with_plans && format != kFormatWithoutPlans) {
    return Bad(
        fmt::format("format '{}' is neither {} nor {}", format, kFormat, kFormatWithoutPlans));
  }
  Repro r;
  APOGEE_RETURN_IF_ERROR(str("scenario", &r.scenario));
  const JsonValue* seed = o.Find("seed");
  if (seed == nullptr || !seed->is_number()) return Bad("'seed' must be a number");
  const std::string& seed_text = seed->number_text();
  auto [p, ec] = std::from_chars(seed_text.data(), seed_text.data() + seed_text.size(), r.seed);
  if (ec != std::errc() || p != seed_text.data() + seed_text.size()) {
    return Bad(fmt::format("'seed' {} is not a 64-bit unsigned integer", seed_text));
  }
  APOGEE_RETURN_IF_ERROR(str("build_id", &r.build_id));
  APOGEE_RETURN_IF_ERROR(str("outcome", &r.outcome));
  std::string hash;
  APOGEE_RETURN_IF_ERROR(str("trace_hash", &hash));
  auto [hp, hec] = std::from_chars(hash.data(), hash.data() + hash.size(), r.trace_hash, 16);
  if (hec != std::errc() || hp != hash.data() + hash.size()) {
    return Bad(fmt::format("'trace_hash' {} is not hexadecimal", hash));
  }
  if (const JsonValue* t = o.Find("sim_time_ms"); t != nullptr && t->is_number()) {
    r.sim_time_ms = std::stod(t->number_text());
  }
  if (const JsonValue* v = o.Find("violations"); v != nullptr && v->is_array()) {
    for (const JsonValue& item : v->items()) {
      if (item.is_string()) r.violations.push_back(item.string_value());
    }
  }
  if (const JsonValue* v = o.Find("test_hooks"); v != nullptr && v->is_array()) {
    for (const JsonValue& item : v->items()) {
      if (!item.is_string() || !IsTestHook(item.string_value())) {
        return Bad("'test_hooks' holds an unknown hook");
      }
      r.test_hooks.push_back(item.string_value());
    }
  }
  auto plan = [&](std::string_view key, std::optional<FaultPlan>* out) -> Status {
    const JsonValue* v = o.Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_array()) return Bad(fmt::format("'{}' must be an array of faults", key));
    Result<FaultPlan> decoded = DecodeFaultPlan(WriteJson(*v));
    if (!decoded.ok()) return Bad(fmt::format("'{}': {}", key, decoded.status().message()));
    *out = std::move(*decoded);
    return Status::Ok();
  };
  if (with_plans) {
    APOGEE_RETURN_IF_ERROR(plan("fault_plan", &r.fault_plan));
    APOGEE_RETURN_IF_ERROR(plan("original_fault_plan", &r.original_fault_plan));
    if (const JsonValue* v = o.Find("shrink"); v != nullptr && v->is_string()) {
      r.shrink = v->string_value();
    }
  }
  return r;
}

}  // namespace apogee::sim
