// Properties of the consume queue: the entry codec round-trips every entry, and any sequence of
// Append / Flush / TruncateTo / Read / reopen matches a plain vector model.

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "core/store/consume_queue.h"
#include "tests/store/store_backend.h"

namespace apogee::store {
namespace {

RC_GTEST_PROP(CqEntryProp, EncodeDecodeRoundTrips,
              (int64_t commit_log_offset, int32_t size, int64_t tags_code)) {
  // Proves Decode(Encode(e)) == e for every entry, including negative and extreme values.
  const CqEntry entry{.commit_log_offset = commit_log_offset, .size = size, .tags_code = tags_code};
  uint8_t bytes[kCqEntryBytes + 1];
  bytes[kCqEntryBytes] = 0xEE;
  EncodeCqEntry(entry, bytes);
  RC_ASSERT(DecodeCqEntry(bytes) == entry);
  RC_ASSERT(bytes[kCqEntryBytes] == 0xEE);  // wrote exactly 20 bytes
}

enum OpKind : int { kAppend = 0, kFlush, kTruncate, kRead, kReopen, kOpKinds };

RC_GTEST_PROP(ConsumeQueueProp, MatchesVectorModel, ()) {
  // Proves the queue behaves as a vector of entries whose flushed prefix survives a reopen:
  // after every step max_offset, last_commit_log_end and every Read agree with the model.
  const uint32_t entries_per_file = *rc::gen::inRange<uint32_t>(1, 9);
  using Op = std::tuple<int, int, int>;
  const auto ops = *rc::gen::container<std::vector<Op>>(
      rc::gen::tuple(rc::gen::inRange(0, static_cast<int>(kOpKinds)), rc::gen::inRange(0, 12),
                     rc::gen::inRange(0, 1000)));
  std::string failure;
  testing::RunOnSim([&](io::Env& env) {
    auto fail = [&failure](const std::string& what) {
      if (failure.empty()) failure = what;
    };
    std::vector<CqEntry> model;
    size_t flushed = 0;
    auto queue =
        std::make_unique<ConsumeQueue>(env.disk, "consumequeue/T/0", "T", 0, entries_per_file);
    if (!queue->Load(0).ok()) return fail("load");
    for (size_t step = 0; step < ops.size() && failure.empty(); step++) {
      const auto [kind, a, b] = ops[step];
      const std::string at = " at step " + std::to_string(step);
      switch (kind) {
        case kAppend: {
          int64_t next = model.empty() ? 0 : model.back().commit_log_offset + model.back().size;
          for (int i = 0; i <= a; i++) {
            CqEntry entry{
                .commit_log_offset = next + b % 7, .size = 1 + b % 50, .tags_code = b * 31 + i};
            Result<bool> r = queue->Append(static_cast<int64_t>(model.size()), entry);
            if (!r.ok() || !*r) return fail("append" + at);
            model.push_back(entry);
            next = entry.commit_log_offset + entry.size;
          }
          break;
        }
        case kFlush:
          if (!queue->Flush().ok()) return fail("flush" + at);
          flushed = model.size();
          break;
        case kTruncate: {
          const int64_t last = model.empty() ? 0 : model.back().commit_log_offset;
          const int64_t commit_log_end = last * b / 1000;
          if (!queue->TruncateTo(commit_log_end).ok()) return fail("truncate" + at);
          while (!model.empty() &&
                 model.back().commit_log_offset + model.back().size > commit_log_end) {
            model.pop_back();
          }
          flushed = std::min(flushed, model.size());
          break;
        }
        case kRead: {
          std::vector<CqEntry> got;
          const int64_t from = model.empty() ? 0 : b % static_cast<int64_t>(model.size());
          Status s = queue->Read(from, static_cast<size_t>(a) + 1, &got);
          if (model.empty()) {
            if (s.code() != ErrorCode::kOutOfRange) return fail("read of empty" + at);
            break;
          }
          if (!s.ok()) return fail("read " + s.ToString() + at);
          const size_t want =
              std::min(model.size() - static_cast<size_t>(from), static_cast<size_t>(a) + 1);
          if (got.size() != want) return fail("read size" + at);
          for (size_t i = 0; i < want; i++) {
            if (!(got[i] == model[static_cast<size_t>(from) + i])) return fail("read entry" + at);
          }
          break;
        }
        case kReopen:
          queue.reset();
          model.resize(flushed);
          queue = std::make_unique<ConsumeQueue>(env.disk, "consumequeue/T/0", "T", 0,
                                                 entries_per_file);
          if (!queue->Load(0).ok()) return fail("reload" + at);
          break;
      }
      if (queue->max_offset() != static_cast<int64_t>(model.size())) return fail("max" + at);
      const int64_t want_end =
          model.empty() ? -1 : model.back().commit_log_offset + model.back().size;
      if (queue->last_commit_log_end() != want_end) return fail("last end" + at);
      if (queue->min_offset() != 0) return fail("min" + at);
    }
  });
  RC_ASSERT(failure == "");
}

}  // namespace
}  // namespace apogee::store
