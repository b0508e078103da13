// Property: the index answers every query exactly as a model does, through random adds, flushes,
// queries and reopens (with keep_below), with few slots so chains mix keys and a tiny
// entries_max so files roll, seal and get cut.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/store/index_service.h"
#include "tests/store/store_backend.h"

namespace apogee::store {
namespace {

struct Added {
  int topic;
  int key;
  int64_t offset;
  int64_t time_ms;
};

std::string TopicName(int t) { return fmt::format("topic{}", t); }
std::string KeyName(int k) { return fmt::format("k{}", k); }

// The entries with the key's hash (hashes collide: the caller filters) whose second meets the
// window, newest first, at most max_count. Times are whole seconds, so an entry's second starts at
// its time whatever second its file began at.
std::vector<int64_t> Expected(const std::vector<Added>& model, int topic, int key, size_t max_count,
                              int64_t begin_ms, int64_t end_ms) {
  std::string scratch;
  int32_t hash = IndexKeyHash(TopicName(topic), KeyName(key), &scratch);
  std::vector<int64_t> out;
  for (auto it = model.rbegin(); it != model.rend() && out.size() < max_count; ++it) {
    if (IndexKeyHash(TopicName(it->topic), KeyName(it->key), &scratch) != hash) continue;
    if (it->time_ms > end_ms || it->time_ms + 999 < begin_ms) continue;
    out.push_back(it->offset);
  }
  return out;
}

std::string Show(const std::vector<int64_t>& v) { return fmt::format("[{}]", fmt::join(v, " ")); }

// One step: kind (0..5 add, 6 flush, 7..8 query, 9 reopen), topic, key, a and b (offset step
// and time step for an add; max_count and window for a query; how far below the end keep_below
// lies for a reopen).
using Step = std::tuple<int, int, int, int, int>;

RC_GTEST_PROP(IndexPropTest, AnswersMatchTheModel, ()) {
  const auto slots = static_cast<uint32_t>(*rc::gen::resize(100, rc::gen::inRange(1, 6)));
  const auto entries_max = static_cast<uint32_t>(*rc::gen::resize(100, rc::gen::inRange(2, 8)));
  // Long runs from the first case on: a file rolls every few adds, and queries need history.
  const auto step_count = static_cast<size_t>(*rc::gen::inRange(20, 300));
  const auto steps = *rc::gen::container<std::vector<Step>>(
      step_count,
      // Full-range values at every size (inRange alone stays near its minimum for small sizes).
      rc::gen::resize(100, rc::gen::tuple(rc::gen::inRange(0, 10), rc::gen::inRange(0, 2),
                                          rc::gen::inRange(0, 5), rc::gen::inRange(0, 40),
                                          rc::gen::inRange(-3, 6))));
  std::string failure = "the run did not finish";
  int queries = 0;
  // RapidCheck's assertions throw, which must not cross a fiber: the body records the first
  // mismatch and the property checks it afterwards.
  testing::RunOnSim([&](io::Env& env) {
    auto fail = [&](std::string what) {
      if (failure.empty()) failure = std::move(what);
    };
    failure.clear();
    std::vector<Added> model;  // what the index holds, oldest first
    size_t flushed = 0;        // model entries a successful Flush covered
    int64_t offset = 0;
    int64_t time_s = 1000;
    auto index = std::make_unique<IndexService>(env.disk, "index", slots, entries_max);
    if (!index->Load(std::numeric_limits<int64_t>::max()).ok()) return fail("first Load");
    for (const auto& [kind, topic, key, a, b] : steps) {
      if (!failure.empty()) return;
      if (kind <= 5) {
        offset += a % 3 == 0 ? 0 : a;  // several keys of one record share its offset
        time_s += b;                   // store time may step back
        index->Add(TopicName(topic), KeyName(key), offset, time_s * 1000);
        model.push_back({topic, key, offset, time_s * 1000});
      } else if (kind == 6) {
        Status s = index->Flush();
        if (!s.ok()) return fail(fmt::format("Flush: {}", s.ToString()));
        flushed = model.size();
      } else if (kind <= 8) {
        size_t max_count = kind == 7 ? static_cast<size_t>(a % 5 + 1) : 1000;
        // Window edges near an added entry's time, where a second's boundary decides.
        constexpr int64_t kEdges[] = {-1000, -999, -1, 0, 1, 999, 1000, 1001, 2500};
        std::vector<int64_t> times;  // of the queried key's entries
        for (const Added& m : model) {
          if (m.topic == topic && m.key == key) times.push_back(m.time_ms);
        }
        int64_t pivot_ms =
            times.empty() ? time_s * 1000 : times[static_cast<size_t>(a) % times.size()];
        int64_t begin_ms = pivot_ms + kEdges[b + 3];
        int64_t end_ms = kind == 7 ? std::numeric_limits<int64_t>::max()
                                   : begin_ms + kEdges[(a + b + 3) % 9] + 1000;
        auto r = index->Query(TopicName(topic), KeyName(key), max_count, begin_ms, end_ms);
        if (!r.ok()) return fail(fmt::format("Query: {}", r.status().ToString()));
        auto want = Expected(model, topic, key, max_count, begin_ms, end_ms);
        if (*r != want) {
          return fail(fmt::format("Query {}#{} got {} want {}", TopicName(topic), KeyName(key),
                                  Show(*r), Show(want)));
        }
        queries++;
      } else {
        // Reopen without flushing: the unflushed tail is lost; keep_below cuts some more.
        index.reset();
        model.resize(flushed);
        int64_t keep_below = model.empty() ? 0 : model.back().offset + 1 - a;
        while (!model.empty() && model.back().offset >= keep_below) model.pop_back();
        flushed = model.size();
        index = std::make_unique<IndexService>(env.disk, "index", slots, entries_max);
        Status s = index->Load(keep_below);
        if (!s.ok()) return fail(fmt::format("Load: {}", s.ToString()));
        int64_t want_last = model.empty() ? -1 : model.back().offset;
        if (index->last_commit_log_offset() != want_last) {
          return fail(
              fmt::format("last offset {} want {}", index->last_commit_log_offset(), want_last));
        }
      }
    }
  });
  RC_TAG(queries > 0 ? "queried" : "no queries");
  RC_LOG() << failure << "\n";
  RC_ASSERT(failure.empty());
}

}  // namespace
}  // namespace apogee::store
