#include "core/io/disk.h"

namespace apogee::io {

std::string ParentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  return path.substr(0, slash);
}

std::string JoinPath(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  if (a.back() == '/') return a + b;
  return a + "/" + b;
}

Result<std::vector<uint8_t>> Disk::ReadAll(const std::string& path) {
  APOGEE_ASSIGN_OR_RETURN(std::unique_ptr<File> file, Open(path, OpenOptions{.read_only = true}));
  APOGEE_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::vector<uint8_t> data(size);
  size_t got = 0;
  while (got < data.size()) {
    APOGEE_ASSIGN_OR_RETURN(size_t n, file->ReadAt(got, std::span(data).subspan(got)));
    if (n == 0) break;  // shrunk meanwhile
    got += n;
  }
  data.resize(got);
  file->Close().IgnoreError();
  return data;
}

Status Disk::WriteAtomically(const std::string& path, std::span<const uint8_t> data) {
  std::string tmp = path + ".tmp";
  {
    APOGEE_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                            Open(tmp, OpenOptions{.create = true, .truncate = true}));
    APOGEE_RETURN_IF_ERROR(file->WriteAt(0, data));
    APOGEE_RETURN_IF_ERROR(file->Sync());
    APOGEE_RETURN_IF_ERROR(file->Close());
  }
  APOGEE_RETURN_IF_ERROR(Rename(tmp, path));
  return SyncDir(ParentDir(path));
}

}  // namespace apogee::io
