#include <algorithm>
#include <cstring>
#include <deque>

#include "core/base/assert.h"
#include "sim/sim_disk_internal.h"

// SimDiskState: what a crash does with unsynced data and name changes (see CrashMode).

namespace apogee::sim {

void SimDiskState::Crash(CrashMode mode) {
  APOGEE_ASSERT(!detached_);
  epoch_++;
  stats_.crashes++;
  Fault(DiskFaultCode::kCrash, static_cast<uint64_t>(mode));
  for (auto& [id, node] : nodes_) node.open_handles = 0;

  std::vector<NameChange> changes = UnsyncedNameChanges();
  std::vector<bool> keep(changes.size(), mode == CrashMode::kKeep);
  if (mode == CrashMode::kTear) keep = DrawTornNameChanges(changes);
  for (size_t i = 0; i < changes.size(); i++) {
    if (!keep[i]) continue;
    auto& durable = NodeAt(changes[i].dir).durable_entries;
    if (changes[i].after.has_value()) {
      durable[changes[i].name] = *changes[i].after;
    } else {
      durable.erase(changes[i].name);
    }
  }
  SettleNamespace();

  uint64_t kept_before = stats_.torn_sectors_kept;
  uint64_t dropped_before = stats_.torn_sectors_dropped;
  for (auto& [id, node] : nodes_) {
    if (node.is_dir) continue;
    if (mode == CrashMode::kDrop) RevertToDurable(node);
    if (mode == CrashMode::kKeep) MakeDurable(node);
    if (mode == CrashMode::kTear) TearFile(node);
    APOGEE_ASSERT(node.dirty.empty());
    APOGEE_ASSERT(node.current == node.durable);
  }
  if (mode == CrashMode::kTear) {
    uint64_t kept = stats_.torn_sectors_kept - kept_before;
    uint64_t dropped = stats_.torn_sectors_dropped - dropped_before;
    Fault(DiskFaultCode::kTornSectors, (kept << 32) | dropped);
  }
  CollectGarbage();
}

std::vector<SimDiskState::NameChange> SimDiskState::UnsyncedNameChanges() const {
  std::vector<NameChange> changes;
  for (const auto& [id, node] : nodes_) {
    if (!node.is_dir) continue;
    // Both maps are sorted: merge them.
    auto cur = node.entries.begin();
    auto dur = node.durable_entries.begin();
    while (cur != node.entries.end() || dur != node.durable_entries.end()) {
      bool take_cur = dur == node.durable_entries.end() ||
                      (cur != node.entries.end() && cur->first < dur->first);
      bool take_dur = !take_cur && (cur == node.entries.end() || dur->first < cur->first);
      if (take_cur) {
        changes.push_back(NameChange{id, cur->first, std::nullopt, cur->second});
        ++cur;
      } else if (take_dur) {
        changes.push_back(NameChange{id, dur->first, dur->second, std::nullopt});
        ++dur;
      } else {
        if (cur->second != dur->second) {
          changes.push_back(NameChange{id, cur->first, dur->second, cur->second});
        }
        ++cur;
        ++dur;
      }
    }
  }
  return changes;
}

std::vector<bool> SimDiskState::DrawTornNameChanges(const std::vector<NameChange>& changes) {
  // Changes that involve the same node belong to one operation (a rename removes one name and
  // adds another): they are kept or undone together, so a torn rename leaves the old name or the
  // new one, never neither. Union-find whose roots are the earliest change of each group.
  std::vector<size_t> parent(changes.size());
  for (size_t i = 0; i < parent.size(); i++) parent[i] = i;
  auto find = [&parent](size_t i) {
    while (parent[i] != i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  std::map<uint64_t, size_t> first_change_of_node;
  for (size_t i = 0; i < changes.size(); i++) {
    for (const std::optional<uint64_t>& node : {changes[i].before, changes[i].after}) {
      if (!node.has_value()) continue;
      auto [it, inserted] = first_change_of_node.emplace(*node, i);
      if (inserted) continue;
      size_t a = find(i);
      size_t b = find(it->second);
      parent[std::max(a, b)] = std::min(a, b);
    }
  }
  std::vector<int> decided(changes.size(), -1);
  std::vector<bool> keep(changes.size());
  for (size_t i = 0; i < changes.size(); i++) {
    size_t root = find(i);
    if (decided[root] < 0) decided[root] = static_cast<int>(random_->Next() & 1);
    keep[i] = decided[root] == 1;
  }
  return keep;
}

void SimDiskState::SettleNamespace() {
  std::set<uint64_t> seen = {kRootId};
  std::deque<uint64_t> queue = {kRootId};
  while (!queue.empty()) {
    Node& dir = NodeAt(queue.front());
    queue.pop_front();
    for (auto it = dir.durable_entries.begin(); it != dir.durable_entries.end();) {
      bool child_is_dir = NodeAt(it->second).is_dir;
      bool first_link = seen.insert(it->second).second;
      if (child_is_dir && !first_link) {
        // Names synced at different times can link a directory twice, even into a cycle; a
        // directory keeps one parent, as fsck would leave it.
        it = dir.durable_entries.erase(it);
        continue;
      }
      if (child_is_dir) queue.push_back(it->second);
      ++it;
    }
  }
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (!seen.contains(it->first)) {
      it = nodes_.erase(it);
      continue;
    }
    if (it->second.is_dir) it->second.entries = it->second.durable_entries;
    ++it;
  }
}

void SimDiskState::TearFile(Node& node) {
  uint64_t current_size = node.current.size();
  // Past `cut` a truncate since the last sync freed the durable bytes (see Node::cut_to).
  uint64_t cut = std::min<uint64_t>(node.cut_to, node.durable.size());
  uint64_t low = std::min<uint64_t>(current_size, cut);
  uint64_t high = std::max<uint64_t>(current_size, node.durable.size());
  // The size may end at `low`, at any sector boundary strictly between, or at `high`.
  uint64_t first_boundary = (low / kSimSectorBytes + 1) * kSimSectorBytes;
  uint64_t between = first_boundary < high ? (high - 1 - first_boundary) / kSimSectorBytes + 1 : 0;
  uint64_t choices = 1 + between + (high > low ? 1 : 0);
  uint64_t pick = choices > 1 ? random_->Uniform(choices) : 0;
  uint64_t size = high;
  if (pick == 0) size = low;
  if (pick >= 1 && pick <= between) size = first_boundary + (pick - 1) * kSimSectorBytes;
  APOGEE_ASSERT(size >= low);
  APOGEE_ASSERT(size <= high);
  // Each dirty sector within the new size shows its unsynced bytes or its durable ones: zeros
  // past the durable size (the size got out but the data did not), and zeros past `cut` (the
  // truncate got out, so the old blocks are gone, but what was written after it did not).
  node.durable.resize(size);
  if (size > cut) std::memset(node.durable.data() + cut, 0, size - cut);
  for (uint64_t sector : node.dirty) {
    uint64_t begin = sector * kSimSectorBytes;
    if (begin >= size) break;
    uint64_t end = std::min(begin + kSimSectorBytes, size);
    if ((random_->Next() & 1) == 0) {
      stats_.torn_sectors_dropped++;
      continue;
    }
    stats_.torn_sectors_kept++;
    uint64_t copy_end = std::clamp(current_size, begin, end);
    uint8_t* to = node.durable.data();
    if (copy_end > begin) std::memcpy(to + begin, node.current.data() + begin, copy_end - begin);
    if (end > copy_end) std::memset(to + copy_end, 0, end - copy_end);
  }
  node.current = node.durable;
  node.dirty.clear();
  node.cut_to = kNoCut;
}

}  // namespace apogee::sim
