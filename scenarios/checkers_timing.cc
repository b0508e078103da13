// Checkers of delays, dead letters, bodies and the liveness bound (see checkers.h for what each
// promises and allows).

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "scenarios/checkers.h"
#include "scenarios/checkers_internal.h"

namespace apogee::scenarios {

using internal::Millis;
using internal::Reporter;
using internal::Where;

namespace {

// One node's wall-clock offsets as a step function of true time.
class ClockTrack {
 public:
  void Add(Instant at, Duration offset) { samples_.emplace_back(at, offset); }
  // The offset in force at `t` (0 before the first sample).
  Duration At(Instant t) const {
    auto it = std::upper_bound(samples_.begin(), samples_.end(), t,
                               [](Instant v, const auto& s) { return v < s.first; });
    return it == samples_.begin() ? Duration::zero() : std::prev(it)->second;
  }
  // The largest and smallest offset in force at some time in [a, b].
  std::pair<Duration, Duration> Range(Instant a, Instant b) const {
    Duration hi = At(a);
    Duration lo = hi;
    auto it = std::upper_bound(samples_.begin(), samples_.end(), a,
                               [](Instant v, const auto& s) { return v < s.first; });
    for (; it != samples_.end() && it->first <= b; ++it) {
      hi = std::max(hi, it->second);
      lo = std::min(lo, it->second);
    }
    return {hi, lo};
  }

 private:
  std::vector<std::pair<Instant, Duration>> samples_;
};

}  // namespace

void CheckDelays(const HistoryIndex& index, CheckResult* result) {
  Reporter report("delay-early", result);
  const sim::History& history = index.history();
  std::map<std::string, ClockTrack> clocks;
  for (const sim::ClockSample& c : history.clocks) clocks[c.node].Add(c.at, c.offset);
  // Per key: its last acknowledged delayed send.
  std::vector<const sim::SendOp*> delayed(index.key_count(), nullptr);
  bool any = false;
  for (size_t i = 0; i < history.sends.size(); i++) {
    const sim::SendOp& s = history.sends[i];
    if (s.delay_level > 0 && s.outcome == sim::OpOutcome::kOk) {
      delayed[index.send_key(i)] = &s;
      any = true;
    }
  }
  const Duration period = history.clock_sample_period;
  const Duration stamp_resolution = std::chrono::milliseconds(1);
  uint64_t checked = 0;
  uint64_t excused = 0;
  for (size_t i = 0; any && i < history.deliveries.size(); i++) {
    const sim::Delivery& d = history.deliveries[i];
    if (delayed[index.delivery_key(i)] == nullptr) continue;
    const sim::SendOp& s = *delayed[index.delivery_key(i)];
    checked++;
    if (history.delay_levels.empty()) {
      report.Add(fmt::format("{} was sent with DELAY {} but the history has no delay levels", s.key,
                             s.delay_level));
      continue;
    }
    const size_t level =
        std::min<size_t>(static_cast<size_t>(s.delay_level), history.delay_levels.size());
    const Duration delay = history.delay_levels[level - 1];
    const Instant due = s.invoked + delay;
    if (d.at + stamp_resolution >= due) continue;
    // Early in true time: by how much did the broker's wall clock run ahead meanwhile?
    Duration gain = Duration::zero();
    auto ct = clocks.find(s.queue.broker_name);
    if (ct != clocks.end()) {
      Duration later = ct->second.Range(s.invoked - period, d.at + period).first;
      Duration at_store = ct->second.Range(s.invoked - period, s.completed + period).second;
      gain = std::max(Duration::zero(), later - at_store);
    }
    if (d.at + stamp_resolution + gain >= due) {
      excused++;
      continue;
    }
    report.Add(fmt::format(
        "{} (DELAY {}: {} ms, sent at {} ms via {}) was delivered to {}/{} at {} ms, {} ms early "
        "(its broker's clock gained {} ms meanwhile)",
        s.key, s.delay_level, Millis(delay), Millis(s.invoked - Instant{}), s.queue.broker_name,
        d.group, d.consumer, Millis(d.at - Instant{}), Millis(due - d.at), Millis(gain)));
  }
  result->counters.emplace_back("delayed_delivered", checked);
  result->counters.emplace_back("delay_early_excused_by_clock", excused);
}

void CheckDeadLetters(const HistoryIndex& index, CheckResult* result) {
  Reporter report("dlq", result);
  const sim::History& history = index.history();
  // (group, key) -> times of failed deliveries, in order.
  std::map<std::pair<uint32_t, uint32_t>, std::vector<Instant>> failures;
  for (size_t i = 0; !history.dlq.empty() && i < history.deliveries.size(); i++) {
    const sim::Delivery& d = history.deliveries[i];
    if (d.outcome == sim::ConsumeOutcome::kFailed) {
      failures[{index.delivery_group(i), index.delivery_key(i)}].push_back(d.at);
    }
  }
  for (size_t ri = 0; ri < history.dlq.size(); ri++) {
    const sim::DlqRecord& r = history.dlq[ri];
    const sim::GroupInfo* g = index.Info(index.dlq_group(ri));
    if (g == nullptr || !index.sent(index.dlq_key(ri))) {
      report.Add(fmt::format("%DLQ%{} on {} holds {} (offset {}), which {} never sent", r.group,
                             r.broker, r.key, r.offset,
                             g == nullptr ? "a group that does not exist" : "was"));
      continue;
    }
    const std::vector<Instant>& f = failures[{index.dlq_group(ri), index.dlq_key(ri)}];
    const size_t before =
        static_cast<size_t>(std::upper_bound(f.begin(), f.end(), r.at) - f.begin());
    const int32_t max = g->max_reconsume_times;
    if (max < 0) {
      report.Add(fmt::format(
          "{} reached %DLQ%{} (on {}) after {} failures, but the group retries without bound",
          r.key, r.group, r.broker, before));
    } else if (before < static_cast<size_t>(max) + 1) {
      report.Add(
          fmt::format("{} reached %DLQ%{} (on {}, seen at {} ms) after {} failed deliveries; "
                      "maxReconsumeTimes {} needs {}",
                      r.key, r.group, r.broker, Millis(r.at - Instant{}), before, max, max + 1));
    }
  }
  result->counters.emplace_back("dlq_records", history.dlq.size());
}

void CheckBodies(const HistoryIndex& index, CheckResult* result) {
  Reporter report("body", result);
  const sim::History& history = index.history();
  // The body sent with a key: its last send's.
  auto sent_crc = [&](uint32_t key) -> std::optional<uint32_t> {
    if (!index.sent(key)) return std::nullopt;
    return history.sends[index.last_send(key)].body_crc;
  };
  for (size_t i = 0; i < history.deliveries.size(); i++) {
    const sim::Delivery& d = history.deliveries[i];
    std::optional<uint32_t> crc = sent_crc(index.delivery_key(i));
    if (!crc.has_value() || *crc == d.body_crc) continue;
    report.Add(fmt::format("{} got {} ({}) with body CRC {:#010x}; the body sent had {:#010x}",
                           d.consumer, d.key, Where(d.queue, d.offset), d.body_crc, *crc));
  }
  for (size_t i = 0; i < history.dlq.size(); i++) {
    const sim::DlqRecord& r = history.dlq[i];
    std::optional<uint32_t> crc = sent_crc(index.dlq_key(i));
    if (!crc.has_value() || *crc == r.body_crc) continue;
    report.Add(
        fmt::format("%DLQ%{} on {} holds {} with body CRC {:#010x}; the body sent had "
                    "{:#010x}",
                    r.group, r.broker, r.key, r.body_crc, *crc));
  }
  for (const sim::AuditRead& a : history.audit.reads) {
    const uint32_t key = index.KeyId(a.key);
    if (key == HistoryIndex::kNone) continue;  // never sent: the phantom checker's
    std::optional<uint32_t> crc = sent_crc(key);
    if (!crc.has_value() || *crc == a.body_crc) continue;
    report.Add(
        fmt::format("the auditor read {} ({}) with body CRC {:#010x}; the body sent had "
                    "{:#010x}",
                    a.key, Where(a.queue, a.offset), a.body_crc, *crc));
  }
}

void CheckCatchUp(const HistoryIndex& index, Instant healed, Duration bound, CheckResult* result) {
  Reporter report("liveness-bound", result);
  // Groups in name order, and within each the late keys in key order, as reported.
  std::vector<uint32_t> groups;
  for (uint32_t g = 0; g < index.group_count(); g++) {
    if (index.Info(g) != nullptr) groups.push_back(g);
  }
  std::sort(groups.begin(), groups.end(),
            [&index](uint32_t a, uint32_t b) { return index.GroupName(a) < index.GroupName(b); });
  Duration last = Duration::zero();
  std::vector<std::pair<std::string_view, Duration>> late;  // key, after healing
  for (uint32_t group : groups) {
    const bool broadcasting = index.Info(group)->broadcasting;
    late.clear();
    for (uint32_t key = 0; key < index.key_count(); key++) {
      if (!index.acked(key)) continue;
      std::span<const HistoryIndex::Arrival> who = index.Arrivals(group, key);
      if (who.empty()) continue;
      // A clustering group got it at its first arrival; a broadcasting one at its last member's.
      Instant at = who.front().at;
      for (const HistoryIndex::Arrival& a : who) {
        at = broadcasting ? std::max(at, a.at) : std::min(at, a.at);
      }
      if (at <= healed) continue;
      last = std::max(last, at - healed);
      if (at - healed > bound) late.emplace_back(index.Key(key), at - healed);
    }
    std::sort(late.begin(), late.end());
    for (const auto& [key, after] : late) {
      report.Add(fmt::format("{} reached {} {} ms after healing, beyond the bound of {} ms", key,
                             index.GroupName(group), Millis(after), Millis(bound)));
    }
  }
  result->counters.emplace_back("liveness_bound_ms", static_cast<uint64_t>(Millis(bound)));
  result->counters.emplace_back("catch_up_last_ms", static_cast<uint64_t>(Millis(last)));
}

}  // namespace apogee::scenarios
