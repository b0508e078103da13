// Checkers of delays, dead letters, bodies and the liveness bound (see checkers.h for what each
// promises and allows).

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <set>
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

void CheckDelays(const sim::History& history, CheckResult* result) {
  Reporter report("delay-early", result);
  std::map<std::string, ClockTrack> clocks;
  for (const sim::ClockSample& c : history.clocks) clocks[c.node].Add(c.at, c.offset);
  std::map<std::string, const sim::SendOp*> delayed;
  for (const sim::SendOp& s : history.sends) {
    if (s.delay_level > 0 && s.outcome == sim::OpOutcome::kOk) delayed[s.key] = &s;
  }
  const Duration period = history.clock_sample_period;
  const Duration stamp_resolution = std::chrono::milliseconds(1);
  uint64_t checked = 0;
  uint64_t excused = 0;
  for (const sim::Delivery& d : history.deliveries) {
    auto it = delayed.find(d.key);
    if (it == delayed.end()) continue;
    const sim::SendOp& s = *it->second;
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

void CheckDeadLetters(const sim::History& history, CheckResult* result) {
  Reporter report("dlq", result);
  std::map<std::string, const sim::GroupInfo*> groups;
  for (const sim::GroupInfo& g : history.groups) groups[g.name] = &g;
  // (group, key) -> times of failed deliveries, in order.
  std::map<std::pair<std::string, std::string>, std::vector<Instant>> failures;
  for (const sim::Delivery& d : history.deliveries) {
    if (d.outcome == sim::ConsumeOutcome::kFailed) failures[{d.group, d.key}].push_back(d.at);
  }
  std::set<std::string> sent;
  for (const sim::SendOp& s : history.sends) sent.insert(s.key);
  for (const sim::DlqRecord& r : history.dlq) {
    auto g = groups.find(r.group);
    if (g == groups.end() || sent.count(r.key) == 0) {
      report.Add(fmt::format("%DLQ%{} on {} holds {} (offset {}), which {} never sent", r.group,
                             r.broker, r.key, r.offset,
                             g == groups.end() ? "a group that does not exist" : "was"));
      continue;
    }
    const std::vector<Instant>& f = failures[{r.group, r.key}];
    const size_t before =
        static_cast<size_t>(std::upper_bound(f.begin(), f.end(), r.at) - f.begin());
    const int32_t max = g->second->max_reconsume_times;
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

void CheckBodies(const sim::History& history, CheckResult* result) {
  Reporter report("body", result);
  std::map<std::string, uint32_t> crc;
  for (const sim::SendOp& s : history.sends) crc[s.key] = s.body_crc;
  for (const sim::Delivery& d : history.deliveries) {
    auto it = crc.find(d.key);
    if (it == crc.end() || it->second == d.body_crc) continue;
    report.Add(fmt::format("{} got {} ({}) with body CRC {:#010x}; the body sent had {:#010x}",
                           d.consumer, d.key, Where(d.queue, d.offset), d.body_crc, it->second));
  }
  for (const sim::DlqRecord& r : history.dlq) {
    auto it = crc.find(r.key);
    if (it == crc.end() || it->second == r.body_crc) continue;
    report.Add(
        fmt::format("%DLQ%{} on {} holds {} with body CRC {:#010x}; the body sent had "
                    "{:#010x}",
                    r.group, r.broker, r.key, r.body_crc, it->second));
  }
}

void CheckCatchUp(const sim::History& history, Instant healed, Duration bound,
                  CheckResult* result) {
  Reporter report("liveness-bound", result);
  const internal::Arrivals got = internal::GotBy(history);
  std::map<std::string, const sim::GroupInfo*> groups;
  for (const sim::GroupInfo& g : history.groups) groups[g.name] = &g;
  std::set<std::string> acked;
  for (const sim::SendOp& s : history.sends) {
    if (s.outcome == sim::OpOutcome::kOk) acked.insert(s.key);
  }
  Duration last = Duration::zero();
  for (const auto& [group, keys] : got) {
    auto g = groups.find(group);
    if (g == groups.end()) continue;
    for (const auto& [key, who] : keys) {
      if (acked.count(key) == 0) continue;
      // A clustering group got it at its first arrival; a broadcasting one at its last member's.
      Instant at = who.begin()->second;
      for (const auto& [member, t] : who) {
        at = g->second->broadcasting ? std::max(at, t) : std::min(at, t);
      }
      if (at <= healed) continue;
      last = std::max(last, at - healed);
      if (at - healed > bound) {
        report.Add(fmt::format("{} reached {} {} ms after healing, beyond the bound of {} ms", key,
                               group, Millis(at - healed), Millis(bound)));
      }
    }
  }
  result->counters.emplace_back("liveness_bound_ms", static_cast<uint64_t>(Millis(bound)));
  result->counters.emplace_back("catch_up_last_ms", static_cast<uint64_t>(Millis(last)));
}

}  // namespace apogee::scenarios
