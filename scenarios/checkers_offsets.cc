// Checkers of order and offsets: per-key order, offsets never backwards, commits that pass
// nothing undelivered (see checkers.h for what each promises and allows).

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "scenarios/checkers.h"
#include "scenarios/checkers_internal.h"

namespace apogee::scenarios {

using internal::Reporter;
using internal::Where;

void CheckKeyOrder(const sim::History& history, CheckResult* result) {
  Reporter report("key-order", result);
  // Acknowledged keyed sends, per (order key, queue), in send order.
  std::map<std::pair<std::string, sim::MessageQueue>, std::vector<const sim::SendOp*>> sent;
  std::map<std::string, const sim::SendOp*> by_key;
  uint64_t keyed = 0;
  for (const sim::SendOp& s : history.sends) {
    if (s.order_key.empty() || s.outcome != sim::OpOutcome::kOk) continue;
    keyed++;
    sent[{s.order_key, s.queue}].push_back(&s);
    by_key[s.key] = &s;
  }
  result->counters.emplace_back("keyed_sends", keyed);
  for (const sim::GroupInfo& g : history.groups) {
    if (!g.orderly) continue;
    // (member, order key, queue) -> message keys in delivery order.
    using Stream = std::tuple<std::string, std::string, sim::MessageQueue>;
    std::map<Stream, std::vector<std::string>> delivered;
    for (const sim::Delivery& d : history.deliveries) {
      if (d.group != g.name) continue;
      auto it = by_key.find(d.key);
      if (it == by_key.end() || it->second->queue != d.queue) continue;
      delivered[Stream{g.broadcasting ? d.consumer : std::string(), it->second->order_key, d.queue}]
          .push_back(d.key);
    }
    for (const auto& [stream, keys] : delivered) {
      const auto& [member, order_key, q] = stream;
      std::set<std::string> seen(keys.begin(), keys.end());
      // The sends that were delivered at all, in send order; greedily matched in the deliveries.
      const sim::SendOp* previous = nullptr;
      auto at = keys.begin();
      for (const sim::SendOp* s : sent[{order_key, q}]) {
        if (seen.count(s->key) == 0) continue;
        at = std::find(at, keys.end(), s->key);
        if (at == keys.end()) {
          report.Add(fmt::format(
              "{}{} got {} ({}) of key {} only before {} ({}), which was sent before it", g.name,
              member.empty() ? "" : "/" + member, s->key, Where(q, s->offset), order_key,
              previous->key, Where(q, previous->offset)));
          break;
        }
        ++at;
        previous = s;
      }
    }
  }
}

void CheckOffsetsMonotonic(const sim::History& history, CheckResult* result) {
  Reporter report("offset-backwards", result);
  std::map<std::string, bool> clustering;
  for (const sim::GroupInfo& g : history.groups) clustering[g.name] = !g.broadcasting;
  std::map<std::string, std::vector<Instant>> restarts;  // broker -> process starts
  for (const sim::NodeStart& s : history.broker_starts) restarts[s.node].push_back(s.at);
  // (group, queue) -> commits in the order sent (stable for equal times: record order).
  std::map<std::pair<std::string, sim::MessageQueue>, std::vector<const sim::OffsetCommit*>> by;
  for (const sim::OffsetCommit& c : history.commits) {
    if (clustering[c.group]) by[{c.group, c.queue}].push_back(&c);
  }
  uint64_t resets = 0;
  for (auto& [stream, commits] : by) {
    std::stable_sort(
        commits.begin(), commits.end(),
        [](const sim::OffsetCommit* a, const sim::OffsetCommit* b) { return a->at < b->at; });
    const auto& [group, q] = stream;
    const std::vector<Instant>& starts = restarts[q.broker_name];
    auto restarted = [&starts](Instant after, Instant upto) {
      auto it = std::upper_bound(starts.begin(), starts.end(), after);
      return it != starts.end() && *it <= upto;
    };
    const sim::OffsetCommit* floor = nullptr;  // the latest acknowledged commit
    bool foreign_since_floor = false;          // another incarnation committed since `floor`
    // Commits sent at the same instant are unordered (fibers of one client ran in turn within
    // it, and which left first is not recorded): each is judged against the commits sent
    // strictly before, and the lowest acknowledged one of them becomes the floor.
    for (size_t begin = 0; begin < commits.size();) {
      size_t end = begin;
      while (end < commits.size() && commits[end]->at == commits[begin]->at) end++;
      const sim::OffsetCommit* next_floor = floor;
      bool next_foreign = foreign_since_floor;
      bool acked_here = false;
      for (size_t i = begin; i < end; i++) {
        const sim::OffsetCommit* c = commits[i];
        const bool same_owner = floor != nullptr && c->consumer == floor->consumer &&
                                c->incarnation == floor->incarnation;
        if (floor != nullptr && c->offset < floor->offset) {
          if (!same_owner || foreign_since_floor || restarted(floor->at, c->at)) {
            resets++;
          } else {
            report.Add(fmt::format(
                "{} committed {} for {} at {} ms after its acknowledged commit of {} at {} ms, "
                "with no owner change or broker restart in between",
                c->consumer, c->offset, Where(q, c->offset), internal::Millis(c->at - Instant{}),
                floor->offset, internal::Millis(floor->at - Instant{})));
          }
        }
        if (floor != nullptr && !same_owner) next_foreign = true;
        if (c->acked && (!acked_here || c->offset < next_floor->offset)) {
          next_floor = c;
          acked_here = true;
        }
      }
      if (acked_here) {
        // Foreign commits at this instant leave the question open: keep the flag if any came
        // from another incarnation than the new floor's.
        next_foreign = false;
        for (size_t i = begin; i < end; i++) {
          if (commits[i]->consumer != next_floor->consumer ||
              commits[i]->incarnation != next_floor->incarnation) {
            next_foreign = true;
          }
        }
      }
      floor = next_floor;
      foreign_since_floor = next_foreign;
      begin = end;
    }
  }
  result->counters.emplace_back("commits", history.commits.size());
  result->counters.emplace_back("commits_backwards_reset", resets);
}

void CheckCommitsCovered(const sim::History& history, CheckResult* result) {
  Reporter report("offset-passes", result);
  const std::set<std::string> damaged = DamagedKeys(history);
  // Queue -> offset -> key, for acknowledged undelayed messages.
  std::map<sim::MessageQueue, std::map<int64_t, std::string>> stored;
  for (const sim::SendOp& s : history.sends) {
    if (s.outcome != sim::OpOutcome::kOk || s.delay_level > 0 || damaged.count(s.key) != 0) {
      continue;
    }
    stored[s.queue][s.offset] = s.key;
  }
  // group -> key -> first handed to any member.
  std::map<std::string, std::map<std::string, Instant>> handed;
  for (const sim::Delivery& d : history.deliveries) handed[d.group].emplace(d.key, d.at);
  std::map<std::string, bool> clustering;
  for (const sim::GroupInfo& g : history.groups) clustering[g.name] = !g.broadcasting;

  // Per (group, queue): the offsets in order with the running latest first-hand time, so a
  // commit of o is covered iff that running value below o is at most the commit's time.
  struct Prefix {
    std::vector<int64_t> offsets;
    std::vector<Instant> latest;  // over offsets[0..i]; Instant::max(): one never handed
    std::vector<size_t> culprit;  // the index that set latest[i]
  };
  std::map<std::pair<std::string, sim::MessageQueue>, Prefix> prefixes;
  auto prefix_of = [&](const std::string& group, const sim::MessageQueue& q) -> const Prefix& {
    auto [it, inserted] = prefixes.try_emplace({group, q});
    if (!inserted) return it->second;
    Prefix& p = it->second;
    auto sq = stored.find(q);
    if (sq == stored.end()) return p;
    const std::map<std::string, Instant>& h = handed[group];
    for (const auto& [offset, key] : sq->second) {
      auto hk = h.find(key);
      Instant t = hk == h.end() ? Instant::max() : hk->second;
      size_t i = p.offsets.size();
      p.offsets.push_back(offset);
      if (i == 0 || t > p.latest[i - 1]) {
        p.latest.push_back(t);
        p.culprit.push_back(i);
      } else {
        p.latest.push_back(p.latest[i - 1]);
        p.culprit.push_back(p.culprit[i - 1]);
      }
    }
    return p;
  };
  for (const sim::OffsetCommit& c : history.commits) {
    if (!clustering[c.group]) continue;
    const Prefix& p = prefix_of(c.group, c.queue);
    // The offsets below the committed one.
    size_t n = static_cast<size_t>(std::lower_bound(p.offsets.begin(), p.offsets.end(), c.offset) -
                                   p.offsets.begin());
    if (n == 0 || p.latest[n - 1] <= c.at) continue;
    const size_t i = p.culprit[n - 1];
    const std::string& key = stored[c.queue][p.offsets[i]];
    report.Add(fmt::format("{} committed {} for {} at {} ms, passing {} ({}), {}", c.consumer,
                           c.offset, Where(c.queue, c.offset), internal::Millis(c.at - Instant{}),
                           key, Where(c.queue, p.offsets[i]),
                           p.latest[n - 1] == Instant::max()
                               ? fmt::format("never delivered to {}", c.group)
                               : fmt::format("first delivered to {} at {} ms", c.group,
                                             internal::Millis(p.latest[n - 1] - Instant{}))));
  }
}

}  // namespace apogee::scenarios
