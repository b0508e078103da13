#include "core/store/index_service.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "core/base/bytes.h"
#include "core/base/log.h"

namespace apogee::store {

namespace {

// Flush and Load move data in pieces of at most this size, so a seal of a 20 MB slot table or
// the scan of a 400 MB active file needs only this much scratch.
constexpr size_t kChunkBytes = size_t{1} << 20;
constexpr size_t kChunkEntries = kChunkBytes / kIndexEntryBytes;

}  // namespace

// A file that is not sealed yet: its slot table is in memory, its newest entries may be too.
struct IndexService::OpenFile {
  uint64_t sequence = 0;
  std::string path;
  std::shared_ptr<io::File> file;  // null until the first Flush that has entries creates it
  bool name_durable = false;       // its directory was synced since the file was created
  IndexHeader header;              // including buffered entries
  std::vector<uint32_t> slots;
  int32_t flushed_count = 1;    // entries below are on disk, synced, and the header says so
  std::vector<uint8_t> buffer;  // entries flushed_count..header.index_count-1, encoded
  std::shared_ptr<SealedIndexFile> sealed_as;  // set once Flush sealed it
};

IndexService::IndexService(io::Disk& disk, std::string dir, uint32_t slots, uint32_t entries_max)
    : disk_(disk), dir_(std::move(dir)), shape_{slots, entries_max} {
  APOGEE_ASSERT(slots >= 1);
  APOGEE_ASSERT(entries_max >= 2);
  APOGEE_ASSERT(entries_max <= static_cast<uint32_t>(std::numeric_limits<int32_t>::max()));
}

std::string IndexService::PathOf(uint64_t sequence) const {
  return io::JoinPath(dir_, IndexFileName(sequence));
}

IndexService::OpenFile& IndexService::Roll() {
  APOGEE_ASSERT(open_.empty() ||
                open_.back()->header.index_count == static_cast<int32_t>(shape_.entries_max));
  auto f = std::make_shared<OpenFile>();
  f->sequence = next_sequence_++;
  f->path = PathOf(f->sequence);
  if (spare_slots_.size() == shape_.slots) {
    f->slots.swap(spare_slots_);
  } else {
    f->slots.assign(shape_.slots, 0);
  }
  open_.push_back(std::move(f));
  return *open_.back();
}

Status IndexService::Load(int64_t keep_below) {
  APOGEE_ASSERT(!loaded_);
  APOGEE_RETURN_IF_ERROR(disk_.MakeDirs(dir_));
  // A new directory's name is durable once its parent is synced, for each level MakeDirs made.
  for (std::string d = dir_; !d.empty(); d = io::ParentDir(d)) {
    APOGEE_RETURN_IF_ERROR(disk_.SyncDir(io::ParentDir(d)));
  }
  APOGEE_ASSIGN_OR_RETURN(std::vector<std::string> names, disk_.List(dir_));
  std::vector<uint64_t> sequences;
  for (const std::string& name : names) {
    std::optional<uint64_t> seq = ParseIndexFileName(name);
    if (!seq.has_value()) {
      LOG_WARN("index: ignoring {} in {}", name, dir_);
      continue;
    }
    sequences.push_back(*seq);
  }
  std::sort(sequences.begin(), sequences.end());
  if (!sequences.empty()) next_sequence_ = sequences.back() + 1;

  // The newest file becomes the active one, unless it holds nothing below keep_below: then it
  // goes (durably, before the next is touched, so no crash leaves a gap) and the one before it
  // is tried.
  while (!sequences.empty()) {
    bool empty = false;
    APOGEE_RETURN_IF_ERROR(LoadActive(sequences.back(), keep_below, &empty));
    if (!empty) break;
    APOGEE_RETURN_IF_ERROR(disk_.Remove(PathOf(sequences.back())));
    APOGEE_RETURN_IF_ERROR(disk_.SyncDir(dir_));
    sequences.pop_back();
  }
  if (!sequences.empty()) sequences.pop_back();  // LoadActive put it in open_
  for (uint64_t seq : sequences) {
    APOGEE_ASSIGN_OR_RETURN(std::shared_ptr<SealedIndexFile> f,
                            SealedIndexFile::Open(disk_, seq, PathOf(seq), shape_));
    if (last_offset_ > f->header().begin_phy_offset) {
      return Status(ErrorCode::kCorruption,
                    fmt::format("{}: begins at offset {} below the previous file's end {}",
                                f->path(), f->header().begin_phy_offset, last_offset_));
    }
    last_offset_ = f->header().end_phy_offset;
    sealed_.push_back(std::move(f));
  }
  if (open_.empty()) {
    Roll();
  } else {
    last_offset_ = std::max(last_offset_, open_.back()->header.end_phy_offset);
  }
  loaded_ = true;
  APOGEE_ASSERT(open_.size() == 1);
  APOGEE_ASSERT(open_.back()->sequence < next_sequence_);
  return Status::Ok();
}

// Opens file `sequence` as the active file: rebuilds its slot table from its valid entries below
// keep_below and makes its header say so. Sets *empty (and leaves open_ alone) when it keeps none.
Status IndexService::LoadActive(uint64_t sequence, int64_t keep_below, bool* empty) {
  APOGEE_ASSERT(open_.empty());
  auto f = std::make_shared<OpenFile>();
  f->sequence = sequence;
  f->path = PathOf(sequence);
  APOGEE_ASSIGN_OR_RETURN(std::unique_ptr<io::File> file, disk_.Open(f->path, io::OpenOptions{}));
  f->file = std::shared_ptr<io::File>(std::move(file));
  APOGEE_ASSIGN_OR_RETURN(uint64_t size, f->file->Size());
  APOGEE_ASSIGN_OR_RETURN(std::optional<IndexHeader> disk_header, ReadIndexHeader(*f->file));
  // The header's count is untrusted too: no more than the file holds or the shape allows.
  int64_t count_max = 1;
  if (size > shape_.EntryOffset(1)) {
    count_max = static_cast<int64_t>((size - shape_.EntryOffset(0)) / kIndexEntryBytes);
  }
  count_max = std::min<int64_t>(count_max, shape_.entries_max);
  int64_t claimed = disk_header.has_value() ? disk_header->index_count : 1;
  int32_t count = static_cast<int32_t>(std::clamp<int64_t>(claimed, 1, count_max));

  f->slots.assign(shape_.slots, 0);
  IndexHeader& h = f->header;
  h.begin_timestamp_ms = disk_header.has_value() ? disk_header->begin_timestamp_ms : 0;
  int32_t kept = 1;  // 1 + entries that pass
  bool stop = false;
  std::vector<uint8_t> chunk;
  while (!stop && kept < count) {
    size_t n = std::min<size_t>(kChunkEntries, static_cast<size_t>(count - kept));
    chunk.resize(n * kIndexEntryBytes);
    APOGEE_ASSIGN_OR_RETURN(
        size_t got, f->file->ReadAt(shape_.EntryOffset(static_cast<uint32_t>(kept)), chunk));
    if (got < chunk.size()) stop = true;  // the file shrank under us: keep what was read
    for (size_t i = 0; i < got / kIndexEntryBytes; i++) {
      IndexEntry e = IndexEntry::DecodeFrom(chunk.data() + i * kIndexEntryBytes);
      uint32_t slot = e.key_hash < 0 ? 0 : shape_.SlotOf(e.key_hash);
      bool valid = e.key_hash >= 0 && e.phy_offset >= 0 && e.phy_offset < keep_below &&
                   (kept == 1 || e.phy_offset >= h.end_phy_offset) &&
                   e.prev_index == static_cast<int32_t>(f->slots[slot]);
      if (!valid) {
        stop = true;
        break;
      }
      if (kept == 1) h.begin_phy_offset = e.phy_offset;
      if (f->slots[slot] == 0) h.hash_slot_count++;
      f->slots[slot] = static_cast<uint32_t>(kept);
      h.end_phy_offset = e.phy_offset;
      h.end_timestamp_ms = h.begin_timestamp_ms + int64_t{e.time_diff_s} * 1000;
      kept++;
    }
  }
  h.index_count = kept;
  if (kept == 1) {
    *empty = true;
    return f->file->Close();
  }
  if (!disk_header.has_value() || disk_header->index_count != kept) {
    LOG_INFO("index: {} keeps {} of {} entries", f->path, kept - 1, claimed - 1);
    std::array<uint8_t, kIndexHeaderBytes> buf{};
    h.EncodeTo(buf.data());
    APOGEE_RETURN_IF_ERROR(f->file->WriteAt(0, buf));
    APOGEE_RETURN_IF_ERROR(f->file->Sync());
  }
  f->flushed_count = kept;
  APOGEE_ASSERT(f->buffer.empty());
  APOGEE_ASSERT(h.index_count >= 2);
  *empty = false;
  open_.push_back(std::move(f));
  return Status::Ok();
}

void IndexService::Add(std::string_view topic, std::string_view key, int64_t commit_log_offset,
                       int64_t store_timestamp_ms) {
  APOGEE_ASSERT(loaded_);
  APOGEE_ASSERT(commit_log_offset >= 0);
  APOGEE_ASSERT(commit_log_offset >= last_offset_, "index offsets went back: {} after {}",
                commit_log_offset, last_offset_);
  OpenFile* f = open_.back().get();
  if (f->header.index_count == static_cast<int32_t>(shape_.entries_max)) f = &Roll();
  IndexHeader& h = f->header;
  int32_t key_hash = IndexKeyHash(topic, key, &key_scratch_);
  uint32_t slot = shape_.SlotOf(key_hash);
  uint32_t index = static_cast<uint32_t>(h.index_count);
  if (index == 1) {
    h.begin_timestamp_ms = store_timestamp_ms;
    h.begin_phy_offset = commit_log_offset;
  }
  IndexEntry e{key_hash, commit_log_offset, IndexTimeDiff(store_timestamp_ms, h.begin_timestamp_ms),
               static_cast<int32_t>(f->slots[slot])};
  size_t at = f->buffer.size();
  f->buffer.resize(at + kIndexEntryBytes);
  e.EncodeTo(f->buffer.data() + at);
  if (f->slots[slot] == 0) h.hash_slot_count++;
  f->slots[slot] = index;
  h.index_count++;
  h.end_phy_offset = commit_log_offset;
  h.end_timestamp_ms = store_timestamp_ms;
  last_offset_ = commit_log_offset;
  APOGEE_ASSERT(f->buffer.size() ==
                static_cast<size_t>(h.index_count - f->flushed_count) * kIndexEntryBytes);
}

Result<std::vector<int64_t>> IndexService::Query(std::string_view topic, std::string_view key,
                                                 size_t max_count, int64_t begin_ms,
                                                 int64_t end_ms) {
  APOGEE_ASSERT(loaded_);
  std::vector<int64_t> out;
  if (max_count == 0 || begin_ms > end_ms) return out;
  IndexQuery q{IndexKeyHash(topic, key, &key_scratch_), begin_ms, end_ms, max_count, &out};
  // Snapshots: Flush may seal open files and DeleteBefore drop sealed ones while this fiber waits
  // on the disk; the shared handles keep what this query reads alive.
  std::vector<std::shared_ptr<OpenFile>> open = open_;
  std::vector<std::shared_ptr<SealedIndexFile>> sealed = sealed_;
  for (auto it = open.rbegin(); it != open.rend() && out.size() < max_count; ++it) {
    APOGEE_RETURN_IF_ERROR(QueryOpen(**it, q));
  }
  for (auto it = sealed.rbegin(); it != sealed.rend() && out.size() < max_count; ++it) {
    APOGEE_RETURN_IF_ERROR((*it)->Query(q));
  }
  APOGEE_ASSERT(out.size() <= max_count);
  return out;
}

Status IndexService::QueryOpen(const OpenFile& f, const IndexQuery& q) const {
  if (f.sealed_as != nullptr) return f.sealed_as->Query(q);
  uint32_t head = f.slots[shape_.SlotOf(q.key_hash)];
  // Entries below the count seen now stay valid while this walk waits: Flush only moves them
  // from the buffer to the file, so each step looks again at where the entry lives.
  return WalkIndexChain(
      head, f.header.index_count, f.header.begin_timestamp_ms, q,
      [&](uint32_t index) -> Result<IndexEntry> {
        if (static_cast<int32_t>(index) >= f.flushed_count) {
          size_t at = static_cast<size_t>(index - static_cast<uint32_t>(f.flushed_count)) *
                      kIndexEntryBytes;
          APOGEE_ASSERT(at + kIndexEntryBytes <= f.buffer.size());
          return IndexEntry::DecodeFrom(f.buffer.data() + at);
        }
        APOGEE_ASSERT(f.file != nullptr);
        return ReadIndexEntry(*f.file, shape_, index);
      });
}

Status IndexService::Flush() {
  APOGEE_ASSERT(loaded_);
  APOGEE_ASSERT(!flushing_, "two fibers flush the index at once");
  flushing_ = true;
  struct Reset {
    bool* flag;
    ~Reset() { *flag = false; }
  } reset{&flushing_};
  for (;;) {
    std::shared_ptr<OpenFile> f = open_.front();
    bool sealed = false;
    APOGEE_RETURN_IF_ERROR(FlushFile(*f, &sealed));
    if (!sealed) break;
    // Only Flush removes open files, so f is still the oldest.
    APOGEE_ASSERT(open_.front() == f);
    f->sealed_as =
        std::make_shared<SealedIndexFile>(f->sequence, f->path, f->file, f->header, shape_);
    sealed_.push_back(f->sealed_as);
    open_.erase(open_.begin());
    if (spare_slots_.empty()) {
      spare_slots_ = std::move(f->slots);
      std::fill(spare_slots_.begin(), spare_slots_.end(), 0);
    }
    f->slots = {};
    if (open_.empty()) Roll();
  }
  // Prepare the next file's slot table here rather than on the put path.
  const OpenFile& active = *open_.back();
  if (spare_slots_.empty() &&
      static_cast<uint32_t>(active.header.index_count) >= shape_.entries_max / 2) {
    spare_slots_.assign(shape_.slots, 0);
  }
  return Status::Ok();
}

// Makes f's entries up to the count seen on entry durable, then its header; seals it if full.
// Commits nothing to memory unless every step succeeded.
Status IndexService::FlushFile(OpenFile& f, bool* sealed) {
  *sealed = false;
  // Adds may go on while this waits on the disk: everything written is decided now.
  const IndexHeader header = f.header;
  const bool full = header.index_count == static_cast<int32_t>(shape_.entries_max);
  if (header.index_count == f.flushed_count && !full) return Status::Ok();
  if (f.file == nullptr) {
    APOGEE_ASSERT(f.flushed_count == 1);
    APOGEE_ASSIGN_OR_RETURN(std::unique_ptr<io::File> file,
                            disk_.Open(f.path, io::OpenOptions{.create = true, .truncate = true}));
    f.file = std::shared_ptr<io::File>(std::move(file));
  }
  if (!f.name_durable) {
    APOGEE_RETURN_IF_ERROR(disk_.SyncDir(dir_));
    f.name_durable = true;
  }
  if (header.index_count > f.flushed_count) {
    APOGEE_RETURN_IF_ERROR(WriteEntries(f, f.flushed_count, header.index_count));
    APOGEE_RETURN_IF_ERROR(f.file->Sync());
  }
  // The entries must be durable before a header that counts them: entries past a cut that Load
  // made earlier still lie on disk and would pass its checks. The slot table needs no sync of
  // its own: until the sync below returns, this file stays the newest, whose slots Load rebuilds.
  if (full) APOGEE_RETURN_IF_ERROR(WriteSlots(f));
  std::array<uint8_t, kIndexHeaderBytes> buf{};
  header.EncodeTo(buf.data());
  APOGEE_RETURN_IF_ERROR(f.file->WriteAt(0, buf));
  APOGEE_RETURN_IF_ERROR(f.file->Sync());

  size_t done_bytes = static_cast<size_t>(header.index_count - f.flushed_count) * kIndexEntryBytes;
  APOGEE_ASSERT(done_bytes <= f.buffer.size());
  f.buffer.erase(f.buffer.begin(), f.buffer.begin() + static_cast<ptrdiff_t>(done_bytes));
  f.flushed_count = header.index_count;
  APOGEE_ASSERT(f.buffer.size() ==
                static_cast<size_t>(f.header.index_count - f.flushed_count) * kIndexEntryBytes);
  *sealed = full;
  return Status::Ok();
}

// Writes entries [first, end) from f's buffer, a chunk at a time through write_scratch_: Add may
// grow (and so move) the buffer while a write waits.
Status IndexService::WriteEntries(OpenFile& f, int32_t first, int32_t end) {
  APOGEE_ASSERT(first == f.flushed_count);
  APOGEE_ASSERT(end <= f.header.index_count);
  for (int32_t i = first; i < end;) {
    int32_t n = std::min<int32_t>(static_cast<int32_t>(kChunkEntries), end - i);
    size_t at = static_cast<size_t>(i - first) * kIndexEntryBytes;
    size_t len = static_cast<size_t>(n) * kIndexEntryBytes;
    APOGEE_ASSERT(at + len <= f.buffer.size());
    write_scratch_.assign(f.buffer.begin() + static_cast<ptrdiff_t>(at),
                          f.buffer.begin() + static_cast<ptrdiff_t>(at + len));
    APOGEE_RETURN_IF_ERROR(
        f.file->WriteAt(shape_.EntryOffset(static_cast<uint32_t>(i)), write_scratch_));
    i += n;
  }
  return Status::Ok();
}

// Writes f's whole slot table. REQUIRES: f is full, so Add no longer changes its slots.
Status IndexService::WriteSlots(OpenFile& f) {
  APOGEE_ASSERT(f.header.index_count == static_cast<int32_t>(shape_.entries_max));
  APOGEE_ASSERT(f.slots.size() == shape_.slots);
  constexpr size_t kChunkSlots = kChunkBytes / kIndexSlotBytes;
  for (size_t s = 0; s < f.slots.size();) {
    size_t n = std::min(kChunkSlots, f.slots.size() - s);
    write_scratch_.resize(n * kIndexSlotBytes);
    for (size_t k = 0; k < n; k++) {
      APOGEE_ASSERT(f.slots[s + k] < shape_.entries_max);
      PutU32(write_scratch_.data() + k * kIndexSlotBytes, f.slots[s + k]);
    }
    APOGEE_RETURN_IF_ERROR(
        f.file->WriteAt(shape_.SlotOffset(static_cast<uint32_t>(s)), write_scratch_));
    s += n;
  }
  return Status::Ok();
}

Status IndexService::DeleteBefore(int64_t commit_log_min) {
  APOGEE_ASSERT(loaded_);
  APOGEE_ASSERT(!deleting_, "two fibers delete index files at once");
  deleting_ = true;
  struct Reset {
    bool* flag;
    ~Reset() { *flag = false; }
  } reset{&deleting_};
  size_t removed = 0;
  while (!sealed_.empty() && sealed_.front()->header().end_phy_offset < commit_log_min) {
    std::shared_ptr<SealedIndexFile> f = sealed_.front();
    APOGEE_RETURN_IF_ERROR(disk_.Remove(f->path()));
    // Only DeleteBefore takes sealed files away (Flush appends), so f is still the oldest.
    APOGEE_ASSERT(sealed_.front() == f);
    sealed_.erase(sealed_.begin());
    removed++;
  }
  if (removed > 0) APOGEE_RETURN_IF_ERROR(disk_.SyncDir(dir_));
  return Status::Ok();
}

size_t IndexService::memory_bytes() const {
  size_t bytes = sizeof(*this) + key_scratch_.capacity() + write_scratch_.capacity() +
                 spare_slots_.capacity() * sizeof(uint32_t);
  for (const auto& f : open_) {
    bytes += sizeof(OpenFile) + f->path.capacity() + f->slots.capacity() * sizeof(uint32_t) +
             f->buffer.capacity();
  }
  for (const auto& f : sealed_) bytes += sizeof(SealedIndexFile) + f->path().capacity();
  return bytes;
}

}  // namespace apogee::store
