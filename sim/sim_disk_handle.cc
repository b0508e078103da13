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

// An open file. Its state lives in a shared block that each call holds for its whole length,
// since another fiber may destroy the File while a call waits out its latency; the call then
// finds the file closed and fails with kBadFile.
class SimFile final : public io::File {
 public:
  SimFile(std::shared_ptr<SimDiskState> state, uint64_t epoch, uint64_t id, std::string path,
          bool read_only)
      : open_(std::make_shared<Open>(Open{std::move(state), epoch, id, std::move(path), read_only,
                                          /*closed=*/false})) {}
  ~SimFile() override { Release(*open_); }
  SimFile(const SimFile&) = delete;
  SimFile& operator=(const SimFile&) = delete;

  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    return Do(Latency::kRead, false, [&](Open& f) { return f.state->ReadAt(f.id, offset, buf); });
  }
  Status WriteAt(uint64_t offset, std::span<const uint8_t> data) override {
    return Do(Latency::kWrite, true, [&](Open& f) { return f.state->WriteAt(f.id, offset, data); });
  }
  Result<uint64_t> Append(std::span<const uint8_t> data) override {
    return Do(Latency::kWrite, true, [&](Open& f) { return f.state->Append(f.id, data); });
  }
  Status Sync() override {
    return Do(Latency::kSync, false, [&](Open& f) { return f.state->Sync(f.id); });
  }
  Status DataSync() override { return Sync(); }
  Status Truncate(uint64_t size) override {
    return Do(Latency::kWrite, true, [&](Open& f) { return f.state->Truncate(f.id, size); });
  }
  Result<uint64_t> Size() override {
    APOGEE_RETURN_IF_ERROR(Check(*open_, false));
    return open_->state->Size(open_->id);
  }
  Status Close() override {
    APOGEE_RETURN_IF_ERROR(Check(*open_, false));
    Release(*open_);
    return Status::Ok();
  }
  const std::string& path() const override { return open_->path; }

 private:
  struct Open {
    std::shared_ptr<SimDiskState> state;
    uint64_t epoch;
    uint64_t id;
    std::string path;
    bool read_only;
    bool closed;
  };

  static Status Check(const Open& f, bool write) {
    if (f.closed) return Status(ErrorCode::kBadFile, fmt::format("'{}' is closed", f.path));
    if (!f.state->Alive(f.epoch)) {
      return Status(ErrorCode::kBadFile, fmt::format("'{}' was opened before a crash", f.path));
    }
    if (write && f.read_only) {
      return Status(ErrorCode::kBadFile, fmt::format("'{}' is open read-only", f.path));
    }
    return Status::Ok();
  }
  // Checks, waits out the latency, checks again (a Close, a crash or the File's destruction may
  // have come meanwhile), then takes effect.
  template <typename Op>
  auto Do(Latency latency, bool write, Op op) -> decltype(op(std::declval<Open&>())) {
    std::shared_ptr<Open> keep = open_;
    APOGEE_RETURN_IF_ERROR(Check(*keep, write));
    keep->state->Delay(latency);
    APOGEE_RETURN_IF_ERROR(Check(*keep, write));
    return op(*keep);
  }
  static void Release(Open& f) {
    if (f.closed) return;
    f.closed = true;
    if (f.state->Alive(f.epoch)) f.state->ReleaseHandle(f.id);
  }

  std::shared_ptr<Open> open_;
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
