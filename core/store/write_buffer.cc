#include "core/store/write_buffer.h"

#include <algorithm>

#include "core/base/assert.h"

namespace apogee::store {

std::span<uint8_t> WriteBuffer::Reserve(int64_t at, size_t n, size_t room) {
  APOGEE_ASSERT(at >= end_, "reserve at {} before the buffer's end {}", at, end_);
  APOGEE_ASSERT(n > 0);
  bool fits = !chunks_.empty() &&
              chunks_.back().start + static_cast<int64_t>(chunks_.back().data.size()) == at &&
              chunks_.back().data.capacity() - chunks_.back().data.size() >= n;
  if (!fits) {
    Chunk chunk;
    chunk.start = at;
    chunk.data.reserve(std::max(std::min(kChunkBytes, room), n));
    chunks_.push_back(std::move(chunk));
  }
  Chunk& c = chunks_.back();
  size_t old = c.data.size();
  // resize() within the reserved capacity never reallocates, so spans handed out stay valid
  // until the chunk is trimmed.
  c.data.resize(old + n);
  end_ = at + static_cast<int64_t>(n);
  bytes_ += n;
  return std::span<uint8_t>(c.data.data() + old, n);
}

std::span<const uint8_t> WriteBuffer::Read(int64_t offset, size_t max_bytes) const {
  // Chunks are few (write_buffer_bytes_max / kChunkBytes); search from the newest, where reads
  // of fresh messages land.
  for (auto it = chunks_.rbegin(); it != chunks_.rend(); ++it) {
    if (offset < it->start) continue;
    int64_t chunk_end = it->start + static_cast<int64_t>(it->data.size());
    if (offset >= chunk_end) return {};
    size_t n = std::min(max_bytes, static_cast<size_t>(chunk_end - offset));
    return std::span<const uint8_t>(it->data.data() + (offset - it->start), n);
  }
  return {};
}

void WriteBuffer::TrimBefore(int64_t offset) {
  while (!chunks_.empty()) {
    const Chunk& c = chunks_.front();
    int64_t chunk_end = c.start + static_cast<int64_t>(c.data.size());
    if (chunk_end > offset) break;
    // Keep the newest chunk while it still has room: appends continue in it.
    if (chunks_.size() == 1 && c.data.size() < c.data.capacity()) break;
    bytes_ -= c.data.size();
    chunks_.pop_front();
  }
  if (chunks_.empty()) base_ = end_;
}

void WriteBuffer::Reset(int64_t base) {
  chunks_.clear();
  base_ = base;
  end_ = base;
  bytes_ = 0;
}

uint64_t WriteBuffer::capacity_bytes() const {
  uint64_t total = 0;
  for (const Chunk& c : chunks_) total += c.data.capacity();
  return total;
}

}  // namespace apogee::store
