// Checkers of order and offsets: per-key order, offsets never backwards, commits that pass
// nothing undelivered (see checkers.h for what each promises and allows).

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "scenarios/checkers.h"
#include "scenarios/checkers_internal.h"

namespace apogee::scenarios {

using internal::Reporter;
using internal::Where;

void CheckKeyOrder(const HistoryIndex& index, CheckResult* result) {
  Reporter report("key-order", result);
  const sim::History& history = index.history();
  constexpr uint32_t kNone = HistoryIndex::kNone;
  // Acknowledged keyed sends, per (order key, queue), in send order; and per message key the
  // last of them.
  std::map<std::pair<std::string_view, uint32_t>, std::vector<uint32_t>> sent;
  std::vector<uint32_t> by_key(index.key_count(), kNone);
  uint64_t keyed = 0;
  for (size_t i = 0; i < history.sends.size(); i++) {
    const sim::SendOp& s = history.sends[i];
    if (s.order_key.empty() || s.outcome != sim::OpOutcome::kOk) continue;
    keyed++;
    sent[{s.order_key, index.send_queue(i)}].push_back(static_cast<uint32_t>(i));
    by_key[index.send_key(i)] = static_cast<uint32_t>(i);
  }
  result->counters.emplace_back("keyed_sends", keyed);
  if (keyed == 0) return;  // nothing is judged: no delivery has a keyed send
  for (const sim::GroupInfo& g : history.groups) {
    if (!g.orderly) continue;
    const uint32_t group = index.GroupId(g.name);
    // (member, order key, queue) -> message keys in delivery order.
    using Stream = std::tuple<uint32_t, std::string_view, uint32_t>;
    std::map<Stream, std::vector<uint32_t>> delivered;
    for (size_t i = 0; i < history.deliveries.size(); i++) {
      if (index.delivery_group(i) != group) continue;
      const uint32_t send = by_key[index.delivery_key(i)];
      if (send == kNone || index.send_queue(send) != index.delivery_queue(i)) continue;
      const uint32_t member = g.broadcasting ? index.delivery_member(i) : HistoryIndex::kNoMember;
      delivered[Stream{member, history.sends[send].order_key, index.delivery_queue(i)}].push_back(
          index.delivery_key(i));
    }
    // Reported in the order of the streams' names.
    std::vector<const std::pair<const Stream, std::vector<uint32_t>>*> streams;
    for (const auto& entry : delivered) streams.push_back(&entry);
    std::sort(streams.begin(), streams.end(), [&index](const auto* a, const auto* b) {
      const auto& [ma, ka, qa] = a->first;
      const auto& [mb, kb, qb] = b->first;
      return std::tie(index.MemberName(ma), ka, index.Queue(qa)) <
             std::tie(index.MemberName(mb), kb, index.Queue(qb));
    });
    std::vector<uint32_t> seen;
    for (const auto* entry : streams) {
      const auto& [member_id, order_key, queue] = entry->first;
      const std::vector<uint32_t>& keys = entry->second;
      const std::string& member = index.MemberName(member_id);
      const sim::MessageQueue& q = index.Queue(queue);
      seen.assign(keys.begin(), keys.end());
      std::sort(seen.begin(), seen.end());
      // The sends that were delivered at all, in send order; greedily matched in the deliveries.
      const sim::SendOp* previous = nullptr;
      auto at = keys.begin();
      for (uint32_t i : sent[{order_key, queue}]) {
        const sim::SendOp* s = &history.sends[i];
        const uint32_t key = index.send_key(i);
        if (!std::binary_search(seen.begin(), seen.end(), key)) continue;
        at = std::find(at, keys.end(), key);
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

namespace {

// Whether the group is known and clustering (broadcasting groups keep their offsets locally).
bool Clustering(const HistoryIndex& index, uint32_t group) {
  return index.Info(group) != nullptr && !index.Info(group)->broadcasting;
}

}  // namespace

void CheckOffsetsMonotonic(const HistoryIndex& index, CheckResult* result) {
  Reporter report("offset-backwards", result);
  const sim::History& history = index.history();
  std::map<std::string, std::vector<Instant>> restarts;  // broker -> process starts
  for (const sim::NodeStart& s : history.broker_starts) restarts[s.node].push_back(s.at);
  // (group, queue) -> commits in the order sent (stable for equal times: record order).
  std::map<std::pair<uint32_t, uint32_t>, std::vector<const sim::OffsetCommit*>> by;
  for (size_t i = 0; i < history.commits.size(); i++) {
    const uint32_t group = index.commit_group(i);
    if (Clustering(index, group)) by[{group, index.commit_queue(i)}].push_back(&history.commits[i]);
  }
  // Judged, and reported, in the order of the streams' names.
  std::vector<
      std::pair<const std::pair<uint32_t, uint32_t>, std::vector<const sim::OffsetCommit*>>*>
      streams;
  for (auto& entry : by) streams.push_back(&entry);
  std::sort(streams.begin(), streams.end(), [&index](const auto* a, const auto* b) {
    return std::tie(index.GroupName(a->first.first), index.Queue(a->first.second)) <
           std::tie(index.GroupName(b->first.first), index.Queue(b->first.second));
  });
  uint64_t resets = 0;
  for (auto* entry : streams) {
    std::vector<const sim::OffsetCommit*>& commits = entry->second;
    std::stable_sort(
        commits.begin(), commits.end(),
        [](const sim::OffsetCommit* a, const sim::OffsetCommit* b) { return a->at < b->at; });
    const sim::MessageQueue& q = index.Queue(entry->first.second);
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

void CheckCommitsCovered(const HistoryIndex& index, CheckResult* result) {
  Reporter report("offset-passes", result);
  const sim::History& history = index.history();
  // Per queue: (offset, key) of acknowledged undelayed messages, in offset order; of two sends
  // at one offset the later one counts.
  std::vector<std::vector<std::pair<int64_t, uint32_t>>> stored(index.queue_count());
  for (size_t i = 0; i < history.sends.size(); i++) {
    const sim::SendOp& s = history.sends[i];
    if (s.outcome != sim::OpOutcome::kOk || s.delay_level > 0 || index.damaged(index.send_key(i))) {
      continue;
    }
    stored[index.send_queue(i)].emplace_back(s.offset, index.send_key(i));
  }
  for (auto& q : stored) {
    std::stable_sort(q.begin(), q.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    // Keeps the last of each run of equal offsets.
    size_t out = 0;
    for (size_t i = 0; i < q.size(); i++) {
      if (i + 1 < q.size() && q[i + 1].first == q[i].first) continue;
      q[out++] = q[i];
    }
    q.resize(out);
  }
  // group -> key -> first handed to any member (any outcome); Instant::max(): never.
  std::vector<std::vector<Instant>> handed(index.group_count());
  for (uint32_t g = 0; g < index.group_count(); g++) {
    if (Clustering(index, g)) handed[g].assign(index.key_count(), Instant::max());
  }
  std::vector<std::vector<uint8_t>> handed_seen(index.group_count());
  for (size_t i = 0; i < history.deliveries.size(); i++) {
    const uint32_t g = index.delivery_group(i);
    if (handed[g].empty()) continue;
    if (handed_seen[g].empty()) handed_seen[g].assign(index.key_count(), 0);
    const uint32_t k = index.delivery_key(i);
    if (handed_seen[g][k] != 0) continue;  // keeps the first
    handed_seen[g][k] = 1;
    handed[g][k] = history.deliveries[i].at;
  }

  // Per (group, queue): the offsets in order with the running latest first-hand time, so a
  // commit of o is covered iff that running value below o is at most the commit's time.
  struct Prefix {
    std::vector<int64_t> offsets;
    std::vector<uint32_t> keys;   // of offsets[i]
    std::vector<Instant> latest;  // over offsets[0..i]; Instant::max(): one never handed
    std::vector<size_t> culprit;  // the index that set latest[i]
  };
  std::map<std::pair<uint32_t, uint32_t>, Prefix> prefixes;
  auto prefix_of = [&](uint32_t group, uint32_t queue) -> const Prefix& {
    auto [it, inserted] = prefixes.try_emplace({group, queue});
    if (!inserted) return it->second;
    Prefix& p = it->second;
    const std::vector<Instant>& h = handed[group];
    for (const auto& [offset, key] : stored[queue]) {
      Instant t = h[key];
      size_t i = p.offsets.size();
      p.offsets.push_back(offset);
      p.keys.push_back(key);
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
  for (size_t ci = 0; ci < history.commits.size(); ci++) {
    const sim::OffsetCommit& c = history.commits[ci];
    const uint32_t group = index.commit_group(ci);
    if (!Clustering(index, group)) continue;
    const Prefix& p = prefix_of(group, index.commit_queue(ci));
    // The offsets below the committed one.
    size_t n = static_cast<size_t>(std::lower_bound(p.offsets.begin(), p.offsets.end(), c.offset) -
                                   p.offsets.begin());
    if (n == 0 || p.latest[n - 1] <= c.at) continue;
    const size_t i = p.culprit[n - 1];
    report.Add(fmt::format("{} committed {} for {} at {} ms, passing {} ({}), {}", c.consumer,
                           c.offset, Where(c.queue, c.offset), internal::Millis(c.at - Instant{}),
                           index.Key(p.keys[i]), Where(c.queue, p.offsets[i]),
                           p.latest[n - 1] == Instant::max()
                               ? fmt::format("never delivered to {}", c.group)
                               : fmt::format("first delivered to {} at {} ms", c.group,
                                             internal::Millis(p.latest[n - 1] - Instant{}))));
  }
}

}  // namespace apogee::scenarios
