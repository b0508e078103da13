#include <fmt/format.h>

#include <string>
#include <utility>

#include "core/base/assert.h"
#include "sim/sim_disk_internal.h"

// SimDiskState: parsing paths and walking them through the namespace tree.

namespace apogee::sim {
namespace {

constexpr size_t kPathBytesMax = 4096;
constexpr size_t kNameBytesMax = 255;

}  // namespace

Result<SimDiskState::Path> SimDiskState::ParsePath(const std::string& raw) {
  if (raw.size() > kPathBytesMax) {
    return Status(ErrorCode::kInvalidArgument, fmt::format("path of {} bytes", raw.size()));
  }
  if (raw.find('\0') != std::string::npos) {
    return Status(ErrorCode::kInvalidArgument, "NUL byte in path");
  }
  Path path;
  size_t begin = 0;
  while (begin <= raw.size()) {
    size_t slash = raw.find('/', begin);
    if (slash == std::string::npos) slash = raw.size();
    std::string part = raw.substr(begin, slash - begin);
    begin = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return Status(ErrorCode::kInvalidArgument, fmt::format("'..' in path '{}'", raw));
    }
    if (part.size() > kNameBytesMax) {
      return Status(ErrorCode::kInvalidArgument, fmt::format("name of {} bytes", part.size()));
    }
    if (!path.text.empty()) path.text += '/';
    path.text += part;
    path.parts.push_back(std::move(part));
  }
  return path;
}

Status SimDiskState::NotFound(const std::string& path) {
  return Status(ErrorCode::kNotFound, fmt::format("no such file or directory: '{}'", path));
}

Result<uint64_t> SimDiskState::Walk(const Path& path, size_t count, bool durable) const {
  APOGEE_ASSERT(count <= path.parts.size());
  uint64_t id = kRootId;
  std::string walked;
  for (size_t i = 0; i < count; i++) {
    const Node& dir = NodeAt(id);
    if (!dir.is_dir) {
      return Status(ErrorCode::kNotADirectory, fmt::format("'{}' is not a directory", walked));
    }
    walked = io::JoinPath(walked, path.parts[i]);
    const auto& entries = durable ? dir.durable_entries : dir.entries;
    auto it = entries.find(path.parts[i]);
    if (it == entries.end()) return NotFound(walked);
    id = it->second;
  }
  return id;
}

Result<uint64_t> SimDiskState::WalkDir(const Path& path, size_t count) const {
  APOGEE_ASSIGN_OR_RETURN(uint64_t id, Walk(path, count, /*durable=*/false));
  if (!NodeAt(id).is_dir) {
    return Status(ErrorCode::kNotADirectory, fmt::format("a prefix of '{}' is a file", path.text));
  }
  return id;
}

}  // namespace apogee::sim
