#pragma once

// WriteBuffer: the commit log's bytes that are not yet durable, in memory, addressed by commit
// log offset. Appends go here (no disk call on the put path); the flusher writes them to the
// segment files, syncs, and only then trims them. Because the bytes stay until a sync covering
// them returned OK, a failed sync never loses a put: the flusher writes them again.
//
// Layout: a sequence of chunks, each covering a contiguous range of the log. A record never
// spans two chunks. A chunk may end before the next one starts: the gap is the unwritten rest
// of a segment after its blank record.
//
// Invariants:
//   - chunks_ are ordered; each chunk's start >= the previous chunk's end.
//   - end() is the end of the last chunk (or the base when empty); bytes() is what is held.

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

namespace apogee::store {

class WriteBuffer {
 public:
  // Chunks are this big unless one record needs more.
  static constexpr size_t kChunkBytes = 1u << 20;

  explicit WriteBuffer(int64_t base) : base_(base) {}

  // Reserves `n` contiguous bytes at offset `at` (>= end()) and returns them to be filled.
  // A new chunk gets min(kChunkBytes, room) bytes of capacity, at least n: the caller passes as
  // `room` what can still follow `at` contiguously (the rest of the segment), so a short
  // segment never pins a whole chunk. Never yields.
  std::span<uint8_t> Reserve(int64_t at, size_t n, size_t room = kChunkBytes);

  // The held bytes from `offset` up to the end of its chunk (at most `max_bytes`); empty if
  // `offset` is not held. A copy is not made: the span is valid until the next Reserve or Trim.
  std::span<const uint8_t> Read(int64_t offset, size_t max_bytes) const;

  // Visits every held range within [from, to) in order: fn(offset, bytes).
  template <typename F>
  void ForEachRange(int64_t from, int64_t to, F fn) const {
    for (const Chunk& c : chunks_) {
      int64_t lo = std::max(from, c.start);
      int64_t hi = std::min(to, c.start + static_cast<int64_t>(c.data.size()));
      if (lo < hi) {
        fn(lo,
           std::span<const uint8_t>(c.data.data() + (lo - c.start), static_cast<size_t>(hi - lo)));
      }
    }
  }

  // Drops every chunk that ends at or before `offset`.
  void TrimBefore(int64_t offset);
  // Drops everything and restarts at `base` (recovery).
  void Reset(int64_t base);

  int64_t start() const { return chunks_.empty() ? base_ : chunks_.front().start; }
  int64_t end() const { return end_; }
  // Bytes held, chunk capacity not counted: what the write_buffer_bytes_max limit applies to.
  uint64_t bytes() const { return bytes_; }
  // Memory actually allocated.
  uint64_t capacity_bytes() const;

 private:
  struct Chunk {
    int64_t start = 0;
    std::vector<uint8_t> data;  // size = bytes filled; capacity fixed at creation
  };
  int64_t base_;
  int64_t end_ = base_;
  uint64_t bytes_ = 0;
  std::deque<Chunk> chunks_;
};

}  // namespace apogee::store
