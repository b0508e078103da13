#include "sim/sim_disk.h"

#include <memory>
#include <string>
#include <utility>

#include "sim/sim_disk_internal.h"

// SimMachineDisk: the machine's owner of a SimDiskState; every call forwards to it.

namespace apogee::sim {

const char* CrashModeName(CrashMode mode) {
  switch (mode) {
    case CrashMode::kDrop:
      return "drop";
    case CrashMode::kKeep:
      return "keep";
    case CrashMode::kTear:
      return "tear";
  }
  return "?";
}

SimMachineDisk::SimMachineDisk(Kernel& kernel, std::string machine_name, DiskFaults faults)
    : state_(std::make_shared<SimDiskState>(kernel, std::move(machine_name), faults)) {}

SimMachineDisk::~SimMachineDisk() { state_->Detach(); }

std::unique_ptr<io::Disk> SimMachineDisk::Attach() {
  return NewSimDiskHandle(state_, state_->epoch());
}

void SimMachineDisk::Crash(CrashMode mode) { state_->Crash(mode); }
void SimMachineDisk::set_faults(const DiskFaults& faults) { state_->set_faults(faults); }
const DiskFaults& SimMachineDisk::faults() const { return state_->faults(); }
Result<std::string> SimMachineDisk::FlipRandomBit() { return state_->FlipRandomBit(); }
Status SimMachineDisk::FlipBit(const std::string& path, uint64_t offset, int bit) {
  return state_->FlipBit(path, offset, bit);
}
uint64_t SimMachineDisk::used_bytes() const { return state_->used_bytes(); }
const SimMachineDisk::Stats& SimMachineDisk::stats() const { return state_->stats(); }
Result<std::vector<uint8_t>> SimMachineDisk::DurableContents(const std::string& path) const {
  return state_->DurableContents(path);
}

}  // namespace apogee::sim
