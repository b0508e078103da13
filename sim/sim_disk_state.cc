#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/base/assert.h"
#include "core/io/runtime.h"
#include "sim/sim_disk_internal.h"

// SimDiskState: inodes and their sectors, space accounting and garbage collection, latencies
// and the fault settings.

namespace apogee::sim {

void SimDiskState::MarkDirty(Node& node, uint64_t begin, uint64_t end) {
  if (begin >= end) return;
  uint64_t last = (end - 1) / kSimSectorBytes;
  for (uint64_t s = begin / kSimSectorBytes; s <= last; s++) node.dirty.insert(s);
}

void SimDiskState::CopySectors(const std::set<uint64_t>& sectors, const std::vector<uint8_t>& from,
                               std::vector<uint8_t>& to) {
  APOGEE_ASSERT(from.size() == to.size());
  for (uint64_t sector : sectors) {
    uint64_t begin = sector * kSimSectorBytes;
    if (begin >= to.size()) break;  // sorted: every later sector is past the end too
    uint64_t end = std::min<uint64_t>(begin + kSimSectorBytes, to.size());
    std::memcpy(to.data() + begin, from.data() + begin, end - begin);
  }
}

void SimDiskState::MakeDurable(Node& node) {
  node.durable.resize(node.current.size());
  CopySectors(node.dirty, node.current, node.durable);
  node.dirty.clear();
  node.cut_to = kNoCut;
  APOGEE_ASSERT(node.durable.size() == node.current.size());
}

void SimDiskState::RevertToDurable(Node& node) {
  node.current.resize(node.durable.size());
  CopySectors(node.dirty, node.durable, node.current);
  node.dirty.clear();
  node.cut_to = kNoCut;
  APOGEE_ASSERT(node.durable.size() == node.current.size());
}

void SimDiskState::CheckFile(const Node& node) {
  APOGEE_ASSERT(!node.is_dir);
  // Where the sizes differ, the sector of the shorter end is dirty (the cheap half of the
  // invariant; the rest holds by construction: every mutation marks what it touches).
  if (node.current.size() != node.durable.size()) {
    uint64_t shorter = std::min(node.current.size(), node.durable.size());
    APOGEE_ASSERT(node.dirty.contains(shorter / kSimSectorBytes), "size change not dirty");
  }
  APOGEE_ASSERT(node.current.size() <= kSimFileBytesMax);
}

SimDiskState::Node& SimDiskState::NodeAt(uint64_t id) {
  auto it = nodes_.find(id);
  APOGEE_ASSERT(it != nodes_.end(), "no node {}", id);
  return it->second;
}

const SimDiskState::Node& SimDiskState::NodeAt(uint64_t id) const {
  auto it = nodes_.find(id);
  APOGEE_ASSERT(it != nodes_.end(), "no node {}", id);
  return it->second;
}

SimDiskState::Node& SimDiskState::FileNode(uint64_t id) {
  Node& node = NodeAt(id);
  APOGEE_ASSERT(!node.is_dir);
  APOGEE_ASSERT(node.open_handles > 0);
  return node;
}

const SimDiskState::Node& SimDiskState::FileNode(uint64_t id) const {
  const Node& node = NodeAt(id);
  APOGEE_ASSERT(!node.is_dir);
  APOGEE_ASSERT(node.open_handles > 0);
  return node;
}

uint64_t SimDiskState::NewNode(bool is_dir) {
  uint64_t id = next_id_++;
  auto [it, inserted] = nodes_.try_emplace(id);
  APOGEE_ASSERT(inserted);
  it->second.is_dir = is_dir;
  return id;
}

void SimDiskState::Resize(Node& node, uint64_t size) {
  APOGEE_ASSERT(node.open_handles > 0, "only open files are resized");
  APOGEE_ASSERT(size <= kSimFileBytesMax);
  uint64_t old_size = node.current.size();
  if (size == old_size) return;
  MarkDirty(node, std::min(old_size, size), std::max(old_size, size));
  node.current.resize(size);
  if (size < old_size) node.cut_to = std::min(node.cut_to, size);
  // An open file is always charged, so its size is part of used_bytes_.
  APOGEE_ASSERT(used_bytes_ >= old_size);
  used_bytes_ = used_bytes_ - old_size + size;
}

Status SimDiskState::Reserve(uint64_t id, uint64_t old_size, uint64_t new_size) {
  if (new_size <= old_size) return Status::Ok();
  uint64_t growth = new_size - old_size;
  uint64_t capacity = faults_.capacity_bytes;
  std::string why;
  if (new_size > kSimFileBytesMax) {
    why = fmt::format("a file may not exceed {} bytes in the simulator", kSimFileBytesMax);
  } else if (used_bytes_ > capacity || growth > capacity - used_bytes_) {
    why = fmt::format("{} of {} bytes used, {} more asked", used_bytes_, capacity, growth);
  } else {
    return Status::Ok();
  }
  stats_.no_space++;
  Fault(DiskFaultCode::kNoSpace, id);
  return Status(ErrorCode::kNoSpace, "no space left on device: " + why);
}

void SimDiskState::Fault(DiskFaultCode code, uint64_t detail) {
  kernel_->Note(TraceKind::kFault, static_cast<uint64_t>(code), detail);
}

void SimDiskState::Delay(Latency kind) {
  Duration min = faults_.read_latency_min;
  Duration max = faults_.read_latency_max;
  if (kind == Latency::kWrite) {
    min = faults_.write_latency_min;
    max = faults_.write_latency_max;
  } else if (kind == Latency::kSync) {
    min = faults_.sync_latency_min;
    max = faults_.sync_latency_max;
  }
  APOGEE_ASSERT(min <= max);
  Duration latency = min;
  if (max > min) latency = Duration(random_->Range(min.count(), max.count()));
  if (latency <= Duration{0}) return;
  io::Runtime& runtime = kernel_->runtime();
  APOGEE_ASSERT(runtime.Current() != nullptr, "a simulated disk call with latency off a fiber");
  runtime.SleepUntil(runtime.Now() + latency);
}

void SimDiskState::set_faults(const DiskFaults& faults) {
  for (double p : {faults.read_error_probability, faults.write_error_probability,
                   faults.sync_error_probability}) {
    APOGEE_ASSERT(p >= 0, "fault probability {}", p);
    APOGEE_ASSERT(p <= 1, "fault probability {}", p);
  }
  std::pair<Duration, Duration> latencies[] = {{faults.read_latency_min, faults.read_latency_max},
                                               {faults.write_latency_min, faults.write_latency_max},
                                               {faults.sync_latency_min, faults.sync_latency_max}};
  for (auto [min, max] : latencies) {
    APOGEE_ASSERT(min >= Duration{0}, "negative latency");
    APOGEE_ASSERT(min <= max, "latency min above max");
  }
  faults_ = faults;
}

std::set<uint64_t> SimDiskState::Reachable(bool through_durable) const {
  std::set<uint64_t> seen = {kRootId};
  std::vector<uint64_t> stack = {kRootId};
  while (!stack.empty()) {
    const Node& node = NodeAt(stack.back());
    stack.pop_back();
    for (const auto* entries : {&node.entries, &node.durable_entries}) {
      if (entries == &node.durable_entries && !through_durable) continue;
      for (const auto& [name, child] : *entries) {
        if (seen.insert(child).second) stack.push_back(child);
      }
    }
  }
  return seen;
}

void SimDiskState::CollectGarbage() {
  // Charged: what the current namespace names or a handle holds open. Kept besides: what the
  // durable namespace still names, since a crash may bring it back.
  std::set<uint64_t> charged = Reachable(/*through_durable=*/false);
  std::set<uint64_t> kept = Reachable(/*through_durable=*/true);
  uint64_t used = 0;
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    const Node& node = it->second;
    bool is_charged = node.open_handles > 0 || charged.contains(it->first);
    if (!is_charged && !kept.contains(it->first)) {
      it = nodes_.erase(it);
      continue;
    }
    if (is_charged) used += node.current.size();
    ++it;
  }
  APOGEE_ASSERT(nodes_.contains(kRootId));
  used_bytes_ = used;
}

}  // namespace apogee::sim
