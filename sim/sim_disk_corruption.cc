#include <fmt/format.h>

#include "core/base/assert.h"
#include "sim/sim_disk_internal.h"

// SimDiskState: silent corruption (bit flips) and inspection of durable images.

namespace apogee::sim {

void SimDiskState::CollectFiles(uint64_t dir, const std::string& prefix,
                                std::vector<std::pair<std::string, uint64_t>>& out) const {
  for (const auto& [name, child] : NodeAt(dir).entries) {
    std::string path = io::JoinPath(prefix, name);
    if (NodeAt(child).is_dir) {
      CollectFiles(child, path, out);
    } else {
      out.emplace_back(std::move(path), child);
    }
  }
}

void SimDiskState::FlipAt(uint64_t id, uint64_t offset, int bit) {
  Node& node = NodeAt(id);
  APOGEE_ASSERT(!node.is_dir);
  APOGEE_ASSERT(offset < node.durable.size());
  APOGEE_ASSERT(bit >= 0);
  APOGEE_ASSERT(bit < 8);
  auto mask = static_cast<uint8_t>(1u << bit);
  node.durable[offset] ^= mask;
  // A clean sector reads the durable bytes; a dirty one keeps its unsynced bytes on top.
  if (!node.dirty.contains(offset / kSimSectorBytes)) {
    APOGEE_ASSERT(offset < node.current.size());
    node.current[offset] ^= mask;
  }
  stats_.bit_flips++;
  Fault(DiskFaultCode::kBitFlip, (id << 40) ^ (offset << 3) ^ static_cast<uint64_t>(bit));
}

Result<std::string> SimDiskState::FlipRandomBit() {
  std::vector<std::pair<std::string, uint64_t>> files;
  CollectFiles(kRootId, "", files);
  std::erase_if(files, [this](const auto& file) { return NodeAt(file.second).durable.empty(); });
  if (files.empty()) return Status(ErrorCode::kNotFound, "no file with durable data");
  const auto& [path, id] = files[random_->Uniform(files.size())];
  uint64_t offset = random_->Uniform(NodeAt(id).durable.size());
  int bit = static_cast<int>(random_->Uniform(8));
  FlipAt(id, offset, bit);
  return fmt::format("flipped bit {} of byte {} in {}", bit, offset, path);
}

Status SimDiskState::FlipBit(const std::string& raw, uint64_t offset, int bit) {
  APOGEE_ASSIGN_OR_RETURN(Path path, ParsePath(raw));
  APOGEE_ASSIGN_OR_RETURN(uint64_t id, Walk(path, path.parts.size(), /*durable=*/false));
  const Node& node = NodeAt(id);
  if (node.is_dir) {
    return Status(ErrorCode::kIsADirectory, fmt::format("'{}' is a directory", path.text));
  }
  if (bit < 0 || bit > 7) return Status(ErrorCode::kInvalidArgument, "bit outside [0, 7]");
  if (offset >= node.durable.size()) {
    return Status(ErrorCode::kOutOfRange,
                  fmt::format("byte {} is past the durable size {}", offset, node.durable.size()));
  }
  FlipAt(id, offset, bit);
  return Status::Ok();
}

Result<std::vector<uint8_t>> SimDiskState::DurableContents(const std::string& raw) const {
  APOGEE_ASSIGN_OR_RETURN(Path path, ParsePath(raw));
  Result<uint64_t> id = Walk(path, path.parts.size(), /*durable=*/true);
  if (!id.ok()) return NotFound(path.text);
  const Node& node = NodeAt(*id);
  if (node.is_dir) {
    return Status(ErrorCode::kIsADirectory, fmt::format("'{}' is a directory", path.text));
  }
  return node.durable;
}

}  // namespace apogee::sim
