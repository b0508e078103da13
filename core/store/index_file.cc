#include "core/store/index_file.h"

#include <array>
#include <limits>

#include "core/base/bytes.h"
#include "core/base/java_hash.h"

namespace apogee::store {

void IndexHeader::EncodeTo(uint8_t* out) const {
  APOGEE_ASSERT(index_count >= 1);
  APOGEE_ASSERT(hash_slot_count >= 0);
  PutU64(out, static_cast<uint64_t>(begin_timestamp_ms));
  PutU64(out + 8, static_cast<uint64_t>(end_timestamp_ms));
  PutU64(out + 16, static_cast<uint64_t>(begin_phy_offset));
  PutU64(out + 24, static_cast<uint64_t>(end_phy_offset));
  PutU32(out + 32, static_cast<uint32_t>(hash_slot_count));
  PutU32(out + 36, static_cast<uint32_t>(index_count));
}

IndexHeader IndexHeader::DecodeFrom(const uint8_t* in) {
  IndexHeader h;
  h.begin_timestamp_ms = static_cast<int64_t>(GetU64(in));
  h.end_timestamp_ms = static_cast<int64_t>(GetU64(in + 8));
  h.begin_phy_offset = static_cast<int64_t>(GetU64(in + 16));
  h.end_phy_offset = static_cast<int64_t>(GetU64(in + 24));
  h.hash_slot_count = static_cast<int32_t>(GetU32(in + 32));
  h.index_count = static_cast<int32_t>(GetU32(in + 36));
  return h;
}

void IndexEntry::EncodeTo(uint8_t* out) const {
  PutU32(out, static_cast<uint32_t>(key_hash));
  PutU64(out + 4, static_cast<uint64_t>(phy_offset));
  PutU32(out + 12, static_cast<uint32_t>(time_diff_s));
  PutU32(out + 16, static_cast<uint32_t>(prev_index));
}

IndexEntry IndexEntry::DecodeFrom(const uint8_t* in) {
  IndexEntry e;
  e.key_hash = static_cast<int32_t>(GetU32(in));
  e.phy_offset = static_cast<int64_t>(GetU64(in + 4));
  e.time_diff_s = static_cast<int32_t>(GetU32(in + 12));
  e.prev_index = static_cast<int32_t>(GetU32(in + 16));
  return e;
}

int32_t IndexKeyHash(std::string_view topic, std::string_view key, std::string* scratch) {
  scratch->assign(topic);
  scratch->push_back('#');
  scratch->append(key);
  int32_t h = JavaStringHash(*scratch);
  // Java's Math.abs(Integer.MIN_VALUE) stays negative; RocketMQ then uses 0.
  int32_t hash = h == std::numeric_limits<int32_t>::min() ? 0 : (h < 0 ? -h : h);
  APOGEE_ASSERT(hash >= 0);
  return hash;
}

int32_t IndexTimeDiff(int64_t store_ms, int64_t begin_ms) {
  constexpr int64_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  int64_t diff_ms = 0;
  if (__builtin_sub_overflow(store_ms, begin_ms, &diff_ms)) {
    return static_cast<int32_t>(store_ms > begin_ms ? kMax : kMin);
  }
  // Floor division, so the entry's second starts at or before its store time either way.
  int64_t diff_s = diff_ms >= 0 ? diff_ms / 1000 : -((-(diff_ms + 1)) / 1000) - 1;
  if (diff_s > kMax) return static_cast<int32_t>(kMax);
  if (diff_s < kMin) return static_cast<int32_t>(kMin);
  return static_cast<int32_t>(diff_s);
}

bool IndexTimeMayMatch(int64_t begin_ms, int32_t time_diff_s, int64_t window_begin_ms,
                       int64_t window_end_ms) {
  // Both terms stay far inside int64: |time_diff_s| * 1000 < 2^42.
  int64_t second_start_ms = begin_ms + int64_t{time_diff_s} * 1000;
  return second_start_ms <= window_end_ms && second_start_ms + 999 >= window_begin_ms;
}

std::string IndexFileName(uint64_t sequence) {
  std::string name(kIndexFileNameLength, '0');
  for (size_t i = kIndexFileNameLength; i > 0 && sequence > 0; i--) {
    name[i - 1] = static_cast<char>('0' + sequence % 10);
    sequence /= 10;
  }
  APOGEE_ASSERT(sequence == 0);  // 20 digits hold every uint64
  return name;
}

std::optional<uint64_t> ParseIndexFileName(std::string_view name) {
  if (name.size() != kIndexFileNameLength) return std::nullopt;
  uint64_t v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}

Result<std::optional<IndexHeader>> ReadIndexHeader(io::File& file) {
  std::array<uint8_t, kIndexHeaderBytes> buf{};
  APOGEE_ASSIGN_OR_RETURN(size_t n, file.ReadAt(0, buf));
  if (n < kIndexHeaderBytes) return std::optional<IndexHeader>();
  return std::optional<IndexHeader>(IndexHeader::DecodeFrom(buf.data()));
}

Result<IndexEntry> ReadIndexEntry(io::File& file, const IndexShape& shape, uint32_t index) {
  APOGEE_ASSERT(index >= 1);
  APOGEE_ASSERT(index < shape.entries_max);
  std::array<uint8_t, kIndexEntryBytes> buf{};
  APOGEE_ASSIGN_OR_RETURN(size_t n, file.ReadAt(shape.EntryOffset(index), buf));
  if (n < kIndexEntryBytes) {
    return Status(ErrorCode::kCorruption,
                  fmt::format("{}: entry {} lies past the end of the file", file.path(), index));
  }
  return IndexEntry::DecodeFrom(buf.data());
}

SealedIndexFile::SealedIndexFile(uint64_t sequence, std::string path,
                                 std::shared_ptr<io::File> file, IndexHeader header,
                                 IndexShape shape)
    : sequence_(sequence),
      path_(std::move(path)),
      file_(std::move(file)),
      header_(header),
      shape_(shape) {
  APOGEE_ASSERT(file_ != nullptr);
  APOGEE_ASSERT(header_.index_count == static_cast<int32_t>(shape_.entries_max));
}

Result<std::shared_ptr<SealedIndexFile>> SealedIndexFile::Open(io::Disk& disk, uint64_t sequence,
                                                               std::string path, IndexShape shape) {
  APOGEE_ASSIGN_OR_RETURN(std::unique_ptr<io::File> file,
                          disk.Open(path, io::OpenOptions{.read_only = true}));
  APOGEE_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  APOGEE_ASSIGN_OR_RETURN(std::optional<IndexHeader> header, ReadIndexHeader(*file));
  if (!header.has_value() || header->index_count != static_cast<int32_t>(shape.entries_max) ||
      size != shape.FileBytes()) {
    return Status(ErrorCode::kCorruption,
                  fmt::format("{}: not a sealed index file of {} slots and {} entries (size {}, "
                              "indexCount {})",
                              path, shape.slots, shape.entries_max, size,
                              header.has_value() ? header->index_count : -1));
  }
  return std::make_shared<SealedIndexFile>(
      sequence, std::move(path), std::shared_ptr<io::File>(std::move(file)), *header, shape);
}

Status SealedIndexFile::Query(const IndexQuery& q) const {
  APOGEE_ASSERT(q.key_hash >= 0);
  std::array<uint8_t, kIndexSlotBytes> slot_buf{};
  APOGEE_ASSIGN_OR_RETURN(size_t n,
                          file_->ReadAt(shape_.SlotOffset(shape_.SlotOf(q.key_hash)), slot_buf));
  if (n < kIndexSlotBytes) {
    return Status(ErrorCode::kCorruption, fmt::format("{}: slot table cut short", path_));
  }
  uint32_t head = GetU32(slot_buf.data());
  return WalkIndexChain(head, header_.index_count, header_.begin_timestamp_ms, q,
                        [&](uint32_t index) { return ReadIndexEntry(*file_, shape_, index); });
}

}  // namespace apogee::store
