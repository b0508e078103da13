#include <fmt/format.h>

#include <utility>

#include "core/base/assert.h"
#include "sim/sim_disk_internal.h"

// The io::Disk and io::File handles a process incarnation works through. Every call first checks
// that its incarnation is still alive; one with a latency waits it out and checks again (a Close
// or a crash may have come meanwhile) before it forwards to SimDiskState.

namespace apogee::sim {
namespace {

using Latency = SimDiskState::Latency;

class SimFile final : public io::File {
 public:
  SimFile(std::shared_ptr<SimDiskState> state, uint64_t epoch, uint64_t id, std::string path,
          bool read_only)
      : state_(std::move(state)),
        epoch_(epoch),
        id_(id),
        path_(std::move(path)),
        read_only_(read_only) {}
  ~SimFile() override { Release(); }
  SimFile(const SimFile&) = delete;
  SimFile& operator=(const SimFile&) = delete;

  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    return Do(Latency::kRead, false, [&] { return state_->ReadAt(id_, offset, buf); });
  }
  Status WriteAt(uint64_t offset, std::span<const uint8_t> data) override {
    return Do(Latency::kWrite, true, [&] { return state_->WriteAt(id_, offset, data); });
  }
  Result<uint64_t> Append(std::span<const uint8_t> data) override {
    return Do(Latency::kWrite, true, [&] { return state_->Append(id_, data); });
  }
  Status Sync() override {
    return Do(Latency::kSync, false, [&] { return state_->Sync(id_); });
  }
  Status DataSync() override { return Sync(); }
  Status Truncate(uint64_t size) override {
    return Do(Latency::kWrite, true, [&] { return state_->Truncate(id_, size); });
  }
  Result<uint64_t> Size() override {
    APOGEE_RETURN_IF_ERROR(Check(false));
    return state_->Size(id_);
  }
  Status Close() override {
    APOGEE_RETURN_IF_ERROR(Check(false));
    Release();
    return Status::Ok();
  }
  const std::string& path() const override { return path_; }

 private:
  Status Check(bool write) const {
    if (closed_) return Status(ErrorCode::kBadFile, fmt::format("'{}' is closed", path_));
    if (!state_->Alive(epoch_)) {
      return Status(ErrorCode::kBadFile, fmt::format("'{}' was opened before a crash", path_));
    }
    if (write && read_only_) {
      return Status(ErrorCode::kBadFile, fmt::format("'{}' is open read-only", path_));
    }
    return Status::Ok();
  }
  // Checks, waits out the latency, checks again (a Close or a crash may have come meanwhile),
  // then takes effect.
  template <typename Op>
  auto Do(Latency latency, bool write, Op op) -> decltype(op()) {
    APOGEE_RETURN_IF_ERROR(Check(write));
    state_->Delay(latency);
    APOGEE_RETURN_IF_ERROR(Check(write));
    return op();
  }
  void Release() {
    if (closed_) return;
    closed_ = true;
    if (state_->Alive(epoch_)) state_->ReleaseHandle(id_);
  }

  std::shared_ptr<SimDiskState> state_;
  uint64_t epoch_;
  uint64_t id_;
  std::string path_;
  bool read_only_;
  bool closed_ = false;
};

class SimDisk final : public io::Disk {
 public:
  SimDisk(std::shared_ptr<SimDiskState> state, uint64_t epoch)
      : state_(std::move(state)), epoch_(epoch) {}

  Result<std::unique_ptr<io::File>> Open(const std::string& path,
                                         io::OpenOptions options) override {
    APOGEE_RETURN_IF_ERROR(Check());
    APOGEE_ASSIGN_OR_RETURN(SimDiskState::Opened opened, state_->Open(path, options));
    return std::unique_ptr<io::File>(std::make_unique<SimFile>(
        state_, epoch_, opened.id, std::move(opened.path), options.read_only));
  }
  Status MakeDirs(const std::string& path) override {
    return Do(Latency::kWrite, [&] { return state_->MakeDirs(path); });
  }
  Result<std::vector<std::string>> List(const std::string& dir) override {
    APOGEE_RETURN_IF_ERROR(Check());
    return state_->List(dir);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return Do(Latency::kWrite, [&] { return state_->Rename(from, to); });
  }
  Status Remove(const std::string& path) override {
    return Do(Latency::kWrite, [&] { return state_->Remove(path); });
  }
  Status SyncDir(const std::string& dir) override {
    return Do(Latency::kSync, [&] { return state_->SyncDir(dir); });
  }
  Result<bool> Exists(const std::string& path) override {
    APOGEE_RETURN_IF_ERROR(Check());
    return state_->Exists(path);
  }
  Result<io::DiskSpace> Space() override {
    APOGEE_RETURN_IF_ERROR(Check());
    return state_->Space();
  }

 private:
  Status Check() const {
    if (state_->Alive(epoch_)) return Status::Ok();
    return Status(ErrorCode::kBadFile, "disk handle of a crashed process");
  }
  template <typename Op>
  Status Do(Latency latency, Op op) {
    APOGEE_RETURN_IF_ERROR(Check());
    state_->Delay(latency);
    APOGEE_RETURN_IF_ERROR(Check());
    return op();
  }

  std::shared_ptr<SimDiskState> state_;
  uint64_t epoch_;
};

}  // namespace

std::unique_ptr<io::Disk> NewSimDiskHandle(std::shared_ptr<SimDiskState> state, uint64_t epoch) {
  return std::make_unique<SimDisk>(std::move(state), epoch);
}

}  // namespace apogee::sim
