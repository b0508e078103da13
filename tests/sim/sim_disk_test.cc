#include "sim/sim_disk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <functional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "core/io/runtime.h"
#include "sim/kernel.h"

namespace apogee {
// Prints error codes by name in assertion failures.
inline void PrintTo(ErrorCode code, std::ostream* os) { *os << ErrorCodeName(code); }
}  // namespace apogee

namespace apogee::sim {
namespace {

using io::OpenOptions;

constexpr OpenOptions kCreate{.create = true};

std::vector<uint8_t> Bytes(size_t n, char fill) {
  return std::vector<uint8_t>(n, static_cast<uint8_t>(fill));
}

// Runs `body` on a fiber of a fresh group until the simulation is quiet, and checks it ended.
void RunFiber(Kernel& kernel, std::function<void()> body) {
  io::GroupId group = kernel.runtime().NewGroup("m");
  io::Scheduler scheduler(kernel.runtime(), group);
  io::FiberHandle fiber = scheduler.Spawn("t", std::move(body));
  kernel.RunUntilQuiet();
  ASSERT_TRUE(fiber.done());
}

// Opens a file, aborting the test binary (with the status) if that fails.
std::unique_ptr<io::File> MustOpen(io::Disk& disk, const std::string& path,
                                   OpenOptions options = kCreate) {
  Result<std::unique_ptr<io::File>> file = disk.Open(path, options);
  EXPECT_TRUE(file.ok()) << path << ": " << file.status().ToString();
  return std::move(file).value();
}

// Creates `path` with `data`, syncs it and its directory: durable in every sense.
void WriteDurable(io::Disk& disk, const std::string& path, const std::vector<uint8_t>& data) {
  std::unique_ptr<io::File> file = MustOpen(disk, path, {.create = true, .truncate = true});
  ASSERT_TRUE(file->WriteAt(0, data).ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Close().ok());
  ASSERT_TRUE(disk.SyncDir(io::ParentDir(path)).ok());
}

std::vector<uint8_t> MustReadAll(io::Disk& disk, const std::string& path) {
  Result<std::vector<uint8_t>> data = disk.ReadAll(path);
  EXPECT_TRUE(data.ok()) << path << ": " << data.status().ToString();
  return data.ok() ? *data : std::vector<uint8_t>{};
}

bool MustExist(io::Disk& disk, const std::string& path) {
  Result<bool> exists = disk.Exists(path);
  EXPECT_TRUE(exists.ok()) << exists.status().ToString();
  return exists.ok() && *exists;
}

size_t CountFaults(Kernel& kernel, DiskFaultCode code) {
  return static_cast<size_t>(std::count_if(
      kernel.trace().entries().begin(), kernel.trace().entries().end(), [code](const auto& e) {
        return e.kind == TraceKind::kFault && e.a == static_cast<uint64_t>(code);
      }));
}

TEST(SimDiskTest, CrashDropKeepsSyncedDataAndLosesUnsyncedWrites) {
  // Proves: after a kDrop crash a file holds exactly what Sync() covered: the unsynced tail is
  // gone and an unsynced overwrite of synced bytes is undone.
  Kernel kernel(1);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    std::unique_ptr<io::File> file = MustOpen(*disk, "log");
    ASSERT_TRUE(disk->SyncDir("").ok());
    ASSERT_TRUE(file->Append(Bytes(1000, 'a')).ok());
    ASSERT_TRUE(file->Sync().ok());
    ASSERT_TRUE(file->Append(Bytes(700, 'b')).ok());
    ASSERT_TRUE(file->WriteAt(0, Bytes(10, 'c')).ok());
    EXPECT_EQ(file->Size().value(), 1700u);
    machine.Crash(CrashMode::kDrop);

    std::unique_ptr<io::Disk> after = machine.Attach();
    EXPECT_EQ(MustReadAll(*after, "log"), Bytes(1000, 'a'));
  });
  EXPECT_EQ(machine.stats().crashes, 1u);
}

TEST(SimDiskTest, CrashKeepKeepsUnsyncedDataAndNames) {
  // Proves: a kKeep crash keeps unsynced writes and unsynced new names.
  Kernel kernel(2);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    ASSERT_TRUE(disk->MakeDirs("d").ok());
    std::unique_ptr<io::File> file = MustOpen(*disk, "d/log");
    ASSERT_TRUE(file->Append(Bytes(1500, 'k')).ok());
    machine.Crash(CrashMode::kKeep);

    std::unique_ptr<io::Disk> after = machine.Attach();
    EXPECT_EQ(MustReadAll(*after, "d/log"), Bytes(1500, 'k'));
    EXPECT_EQ(machine.DurableContents("d/log").value(), Bytes(1500, 'k'));
  });
}

TEST(SimDiskTest, CrashTearKeepsOrDropsWholeSectors) {
  // Proves: over many seeds a kTear crash keeps some dirty sectors and drops others, picks
  // several sizes, and every sector holds either its old or its new bytes (zeros only past the
  // durable size), never anything that was not written.
  constexpr uint64_t kSeeds = 100;
  uint64_t kept = 0;
  uint64_t dropped = 0;
  std::set<size_t> sizes;
  for (uint64_t seed = 1; seed <= kSeeds; seed++) {
    Kernel kernel(seed);
    SimMachineDisk machine(kernel, "m1");
    RunFiber(kernel, [&] {
      std::unique_ptr<io::Disk> disk = machine.Attach();
      WriteDurable(*disk, "f", Bytes(4096, 'A'));
      std::unique_ptr<io::File> file = MustOpen(*disk, "f");
      ASSERT_TRUE(file->WriteAt(0, Bytes(4096, 'B')).ok());
      ASSERT_TRUE(file->Append(Bytes(2048, 'C')).ok());
      machine.Crash(CrashMode::kTear);

      std::unique_ptr<io::Disk> after = machine.Attach();
      std::vector<uint8_t> data = MustReadAll(*after, "f");
      ASSERT_GE(data.size(), 4096u);
      ASSERT_LE(data.size(), 6144u);
      ASSERT_EQ(data.size() % kSimSectorBytes, 0u);
      sizes.insert(data.size());
      for (size_t sector = 0; sector < data.size() / kSimSectorBytes; sector++) {
        auto begin = data.begin() + static_cast<ptrdiff_t>(sector * kSimSectorBytes);
        std::vector<uint8_t> bytes(begin, begin + kSimSectorBytes);
        bool in_durable_part = sector < 8;
        std::vector<uint8_t> old_bytes = Bytes(kSimSectorBytes, in_durable_part ? 'A' : '\0');
        std::vector<uint8_t> new_bytes = Bytes(kSimSectorBytes, in_durable_part ? 'B' : 'C');
        if (bytes == new_bytes) {
          kept++;
        } else {
          EXPECT_EQ(bytes, old_bytes) << "seed " << seed << " sector " << sector;
          dropped++;
        }
      }
      EXPECT_EQ(machine.DurableContents("f").value(), data);
    });
  }
  EXPECT_GT(kept, 0u);
  EXPECT_GT(dropped, 0u);
  EXPECT_GE(sizes.size(), 3u);
}

TEST(SimDiskTest, CrashTearAfterTruncateShowsZerosOrTheCutSize) {
  // Proves: a file truncated and rewritten in place, then torn before its sync, may come back
  // cut short (as short as the truncate left it) or with zeros where the truncate freed the old
  // bytes and the new ones did not get out; never with the old bytes behind a truncate. This is
  // the crash that makes rewriting a file in place unsafe (write a temp file and rename).
  constexpr uint64_t kSeeds = 100;
  uint64_t empty = 0;
  uint64_t zeroed = 0;
  uint64_t complete = 0;
  for (uint64_t seed = 1; seed <= kSeeds; seed++) {
    Kernel kernel(seed);
    SimMachineDisk machine(kernel, "m1");
    RunFiber(kernel, [&] {
      std::unique_ptr<io::Disk> disk = machine.Attach();
      WriteDurable(*disk, "f", Bytes(1024, 'A'));
      std::unique_ptr<io::File> file = MustOpen(*disk, "f", {.create = true, .truncate = true});
      ASSERT_TRUE(file->WriteAt(0, Bytes(1024, 'B')).ok());
      machine.Crash(CrashMode::kTear);

      std::unique_ptr<io::Disk> after = machine.Attach();
      std::vector<uint8_t> data = MustReadAll(*after, "f");
      ASSERT_LE(data.size(), 1024u);
      ASSERT_EQ(data.size() % kSimSectorBytes, 0u);
      if (data.empty()) empty++;
      bool all_new = !data.empty();
      for (size_t sector = 0; sector < data.size() / kSimSectorBytes; sector++) {
        auto begin = data.begin() + static_cast<ptrdiff_t>(sector * kSimSectorBytes);
        std::vector<uint8_t> bytes(begin, begin + kSimSectorBytes);
        if (bytes == Bytes(kSimSectorBytes, 'B')) continue;
        all_new = false;
        EXPECT_EQ(bytes, Bytes(kSimSectorBytes, '\0')) << "seed " << seed << " sector " << sector;
        zeroed++;
      }
      if (all_new && data.size() == 1024u) complete++;
    });
  }
  EXPECT_GT(empty, 0u);
  EXPECT_GT(zeroed, 0u);
  EXPECT_GT(complete, 0u);
}

TEST(SimDiskTest, CrashDropAfterTruncateKeepsTheDurableFile) {
  // Proves: under kDrop nothing unsynced reaches the disk, a truncate included.
  Kernel kernel(1);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    WriteDurable(*disk, "f", Bytes(1024, 'A'));
    std::unique_ptr<io::File> file = MustOpen(*disk, "f", {.create = true, .truncate = true});
    ASSERT_TRUE(file->WriteAt(0, Bytes(100, 'B')).ok());
    machine.Crash(CrashMode::kDrop);
    std::unique_ptr<io::Disk> after = machine.Attach();
    EXPECT_EQ(MustReadAll(*after, "f"), Bytes(1024, 'A'));
  });
}

TEST(SimDiskTest, CrashTearUndoesRenamesAtomically) {
  // Proves: under kTear an unsynced rename survives as the old name or the new one, never both
  // and never neither, and unsynced creates are sometimes kept and sometimes undone.
  int renamed = 0;
  int not_renamed = 0;
  int created = 0;
  int not_created = 0;
  for (uint64_t seed = 1; seed <= 64; seed++) {
    Kernel kernel(seed);
    SimMachineDisk machine(kernel, "m1");
    RunFiber(kernel, [&] {
      std::unique_ptr<io::Disk> disk = machine.Attach();
      WriteDurable(*disk, "old", Bytes(100, 'x'));
      ASSERT_TRUE(disk->Rename("old", "new").ok());
      MustOpen(*disk, "fresh");
      machine.Crash(CrashMode::kTear);

      std::unique_ptr<io::Disk> after = machine.Attach();
      bool has_old = MustExist(*after, "old");
      bool has_new = MustExist(*after, "new");
      EXPECT_NE(has_old, has_new) << "seed " << seed;
      EXPECT_EQ(MustReadAll(*after, has_new ? "new" : "old"), Bytes(100, 'x'));
      (has_new ? renamed : not_renamed)++;
      (MustExist(*after, "fresh") ? created : not_created)++;
    });
  }
  EXPECT_GT(renamed, 0);
  EXPECT_GT(not_renamed, 0);
  EXPECT_GT(created, 0);
  EXPECT_GT(not_created, 0);
}

TEST(SimDiskTest, FailedSyncLosesDirtyData) {
  // Proves: a sync that fails returns kIoError and loses the dirty data at once: reads return
  // the old contents and size, the durable image is unchanged, and the fault is in the trace.
  Kernel kernel(3);
  kernel.trace().set_record(true);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    WriteDurable(*disk, "f", Bytes(1000, 'a'));
    std::unique_ptr<io::File> file = MustOpen(*disk, "f");
    ASSERT_TRUE(file->WriteAt(500, Bytes(1000, 'b')).ok());
    EXPECT_EQ(file->Size().value(), 1500u);
    machine.set_faults(DiskFaults{.sync_error_probability = 1.0});
    EXPECT_EQ(file->Sync().code(), ErrorCode::kIoError);
    EXPECT_EQ(file->Size().value(), 1000u);
    EXPECT_EQ(MustReadAll(*disk, "f"), Bytes(1000, 'a'));
    EXPECT_EQ(machine.DurableContents("f").value(), Bytes(1000, 'a'));
    EXPECT_EQ(machine.used_bytes(), 1000u);

    ASSERT_TRUE(file->Append(Bytes(10, 'c')).ok());
    EXPECT_EQ(file->DataSync().code(), ErrorCode::kIoError);
    EXPECT_EQ(file->Size().value(), 1000u);
    machine.set_faults({});
    EXPECT_TRUE(file->Sync().ok());
  });
  EXPECT_EQ(machine.stats().failed_syncs, 2u);
  EXPECT_EQ(CountFaults(kernel, DiskFaultCode::kSyncError), 2u);
}

TEST(SimDiskTest, FailedSyncDirMakesNoNameDurable) {
  // Proves: with sync errors on, SyncDir fails with kIoError and a new name stays undurable.
  Kernel kernel(4);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    MustOpen(*disk, "f");
    machine.set_faults(DiskFaults{.sync_error_probability = 1.0});
    EXPECT_EQ(disk->SyncDir("").code(), ErrorCode::kIoError);
    EXPECT_EQ(machine.DurableContents("f").code(), ErrorCode::kNotFound);
    machine.Crash(CrashMode::kDrop);
    EXPECT_FALSE(MustExist(*machine.Attach(), "f"));
  });
}

TEST(SimDiskTest, NoSpaceAtCapacityUntilRemoveFreesIt) {
  // Proves: a write that would pass the capacity fails with kNoSpace and writes nothing; an
  // in-place overwrite still works; space comes back once a removed file is no longer open.
  Kernel kernel(5);
  SimMachineDisk machine(kernel, "m1", DiskFaults{.capacity_bytes = 4096});
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    std::unique_ptr<io::File> x = MustOpen(*disk, "x");
    std::unique_ptr<io::File> y = MustOpen(*disk, "y");
    ASSERT_TRUE(x->Append(Bytes(3000, 'x')).ok());
    EXPECT_EQ(y->Append(Bytes(2000, 'y')).code(), ErrorCode::kNoSpace);
    EXPECT_EQ(y->Truncate(2000).code(), ErrorCode::kNoSpace);
    EXPECT_EQ(y->Size().value(), 0u);
    EXPECT_EQ(machine.used_bytes(), 3000u);
    io::DiskSpace space = disk->Space().value();
    EXPECT_EQ(space.capacity_bytes, 4096u);
    EXPECT_EQ(space.free_bytes, 1096u);
    EXPECT_TRUE(x->WriteAt(0, Bytes(3000, 'z')).ok());

    ASSERT_TRUE(disk->Remove("x").ok());
    // Still open: an unlinked file keeps its space, as on POSIX.
    EXPECT_EQ(y->Append(Bytes(2000, 'y')).code(), ErrorCode::kNoSpace);
    ASSERT_TRUE(x->Close().ok());
    EXPECT_EQ(machine.used_bytes(), 0u);
    EXPECT_TRUE(y->Append(Bytes(2000, 'y')).ok());
    EXPECT_EQ(machine.used_bytes(), 2000u);
  });
  EXPECT_EQ(machine.stats().no_space, 3u);
}

TEST(SimDiskTest, BitFlipIsVisibleOnRead) {
  // Proves: FlipBit and FlipRandomBit change exactly one bit of durable data, reads see it, and
  // bad requests fail with their codes.
  Kernel kernel(6);
  SimMachineDisk machine(kernel, "m1");
  EXPECT_EQ(machine.FlipRandomBit().code(), ErrorCode::kNotFound);
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    ASSERT_TRUE(disk->MakeDirs("commitlog").ok());
    ASSERT_TRUE(disk->SyncDir("").ok());
    WriteDurable(*disk, "commitlog/0000", Bytes(100, 'a'));
    ASSERT_TRUE(machine.FlipBit("commitlog/0000", 10, 3).ok());
    std::vector<uint8_t> expected = Bytes(100, 'a');
    expected[10] ^= 1 << 3;
    EXPECT_EQ(MustReadAll(*disk, "commitlog/0000"), expected);
    EXPECT_EQ(machine.DurableContents("commitlog/0000").value(), expected);

    Result<std::string> flipped = machine.FlipRandomBit();
    ASSERT_TRUE(flipped.ok());
    EXPECT_NE(flipped->find("in commitlog/0000"), std::string::npos) << *flipped;
    std::vector<uint8_t> now = MustReadAll(*disk, "commitlog/0000");
    int differing_bits = 0;
    for (size_t i = 0; i < now.size(); i++) {
      differing_bits += std::popcount(static_cast<uint8_t>(now[i] ^ expected[i]));
    }
    EXPECT_EQ(differing_bits, 1) << *flipped;

    EXPECT_EQ(machine.FlipBit("commitlog/0000", 100, 0).code(), ErrorCode::kOutOfRange);
    EXPECT_EQ(machine.FlipBit("commitlog/0000", 0, 8).code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(machine.FlipBit("commitlog", 0, 0).code(), ErrorCode::kIsADirectory);
    EXPECT_EQ(machine.FlipBit("nope", 0, 0).code(), ErrorCode::kNotFound);
  });
  EXPECT_EQ(machine.stats().bit_flips, 2u);
}

TEST(SimDiskTest, NewFileNeedsSyncDirToSurviveCrash) {
  // Proves: a new file whose directory was not synced disappears at a kDrop crash even though
  // its data was synced, and survives once the directory is synced.
  Kernel kernel(7);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    ASSERT_TRUE(disk->MakeDirs("d").ok());
    ASSERT_TRUE(disk->SyncDir("").ok());
    std::unique_ptr<io::File> file = MustOpen(*disk, "d/new");
    ASSERT_TRUE(file->Append(Bytes(10, 'n')).ok());
    ASSERT_TRUE(file->Sync().ok());
    machine.Crash(CrashMode::kDrop);
    disk = machine.Attach();
    EXPECT_TRUE(MustExist(*disk, "d"));
    EXPECT_FALSE(MustExist(*disk, "d/new"));

    file = MustOpen(*disk, "d/new");
    ASSERT_TRUE(file->Append(Bytes(10, 'n')).ok());
    ASSERT_TRUE(file->Sync().ok());
    ASSERT_TRUE(disk->SyncDir("d").ok());
    machine.Crash(CrashMode::kDrop);
    disk = machine.Attach();
    EXPECT_EQ(MustReadAll(*disk, "d/new"), Bytes(10, 'n'));
  });
}

TEST(SimDiskTest, NewDirectoryNeedsItsParentSynced) {
  // Proves: a file in a new directory is lost at a crash if only the directory itself, and not
  // its parent, was synced.
  Kernel kernel(8);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    ASSERT_TRUE(disk->MakeDirs("a/b").ok());
    WriteDurable(*disk, "a/b/f", Bytes(5, 'f'));  // syncs a/b only
    machine.Crash(CrashMode::kDrop);
    disk = machine.Attach();
    EXPECT_FALSE(MustExist(*disk, "a"));
    EXPECT_EQ(disk->List("").value(), std::vector<std::string>{});
  });
}

TEST(SimDiskTest, RenameNeedsSyncDirToSurviveCrash) {
  // Proves: a rename over an existing file is undone by a kDrop crash until its directory is
  // synced, so a write-temp-then-rename leaves the old or the new contents, never a mix.
  Kernel kernel(9);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    WriteDurable(*disk, "cfg", Bytes(3, 'o'));
    std::unique_ptr<io::File> tmp = MustOpen(*disk, "cfg.tmp");
    ASSERT_TRUE(tmp->Append(Bytes(4, 'n')).ok());
    ASSERT_TRUE(tmp->Sync().ok());
    ASSERT_TRUE(disk->Rename("cfg.tmp", "cfg").ok());
    EXPECT_EQ(MustReadAll(*disk, "cfg"), Bytes(4, 'n'));
    machine.Crash(CrashMode::kDrop);
    disk = machine.Attach();
    EXPECT_EQ(MustReadAll(*disk, "cfg"), Bytes(3, 'o'));
    EXPECT_FALSE(MustExist(*disk, "cfg.tmp"));

    ASSERT_TRUE(disk->WriteAtomically("cfg", Bytes(4, 'n')).ok());
    machine.Crash(CrashMode::kDrop);
    disk = machine.Attach();
    EXPECT_EQ(MustReadAll(*disk, "cfg"), Bytes(4, 'n'));
    EXPECT_EQ(disk->List("").value(), std::vector<std::string>{"cfg"});
  });
}

TEST(SimDiskTest, CrossDirectoryRenameWithOnlyTargetSyncedLeavesBothNames) {
  // Proves: the documented corner of the model: a move between directories where only the target
  // directory was synced leaves the file under both names after a crash.
  Kernel kernel(10);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    ASSERT_TRUE(disk->MakeDirs("a").ok());
    ASSERT_TRUE(disk->MakeDirs("b").ok());
    ASSERT_TRUE(disk->SyncDir("").ok());
    WriteDurable(*disk, "a/x", Bytes(7, 'x'));
    ASSERT_TRUE(disk->Rename("a/x", "b/x").ok());
    ASSERT_TRUE(disk->SyncDir("b").ok());
    machine.Crash(CrashMode::kDrop);
    disk = machine.Attach();
    EXPECT_EQ(MustReadAll(*disk, "a/x"), Bytes(7, 'x'));
    EXPECT_EQ(MustReadAll(*disk, "b/x"), Bytes(7, 'x'));
  });
}

TEST(SimDiskTest, OldHandlesFailWithBadFileAfterCrash) {
  // Proves: after a crash every earlier disk handle and file fails with kBadFile, destroying
  // them is harmless, and a new handle works; Close makes a file fail the same way.
  Kernel kernel(11);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    WriteDurable(*disk, "f", Bytes(10, 'f'));
    std::unique_ptr<io::File> file = MustOpen(*disk, "f");
    machine.Crash(CrashMode::kDrop);
    uint8_t buf[4];
    EXPECT_EQ(file->ReadAt(0, buf).code(), ErrorCode::kBadFile);
    EXPECT_EQ(file->WriteAt(0, Bytes(1, 'z')).code(), ErrorCode::kBadFile);
    EXPECT_EQ(file->Append(Bytes(1, 'z')).code(), ErrorCode::kBadFile);
    EXPECT_EQ(file->Sync().code(), ErrorCode::kBadFile);
    EXPECT_EQ(file->Truncate(0).code(), ErrorCode::kBadFile);
    EXPECT_EQ(file->Size().code(), ErrorCode::kBadFile);
    EXPECT_EQ(file->Close().code(), ErrorCode::kBadFile);
    EXPECT_EQ(disk->Open("f", {}).code(), ErrorCode::kBadFile);
    EXPECT_EQ(disk->List("").code(), ErrorCode::kBadFile);
    EXPECT_EQ(disk->MakeDirs("d").code(), ErrorCode::kBadFile);
    EXPECT_EQ(disk->Remove("f").code(), ErrorCode::kBadFile);
    EXPECT_EQ(disk->SyncDir("").code(), ErrorCode::kBadFile);
    EXPECT_EQ(disk->Exists("f").code(), ErrorCode::kBadFile);
    file.reset();
    disk.reset();

    disk = machine.Attach();
    file = MustOpen(*disk, "f", {.read_only = true});
    EXPECT_EQ(file->ReadAt(0, buf).value(), 4u);
    ASSERT_TRUE(file->Close().ok());
    EXPECT_EQ(file->ReadAt(0, buf).code(), ErrorCode::kBadFile);
    EXPECT_EQ(file->Close().code(), ErrorCode::kBadFile);
  });
}

TEST(SimDiskTest, ErrorProbabilityOneFailsEveryOp) {
  // Proves: read and write error probabilities of 1 fail every read, write, append and truncate
  // with kIoError, write nothing, count them, and fold each into the trace.
  Kernel kernel(12);
  kernel.trace().set_record(true);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    WriteDurable(*disk, "f", Bytes(100, 'f'));
    std::unique_ptr<io::File> file = MustOpen(*disk, "f");
    machine.set_faults(DiskFaults{.read_error_probability = 1.0, .write_error_probability = 1.0});
    uint8_t buf[10];
    for (int i = 0; i < 10; i++) {
      EXPECT_EQ(file->ReadAt(0, buf).code(), ErrorCode::kIoError);
      EXPECT_EQ(file->WriteAt(0, Bytes(5, 'z')).code(), ErrorCode::kIoError);
      EXPECT_EQ(file->Append(Bytes(5, 'z')).code(), ErrorCode::kIoError);
      EXPECT_EQ(file->Truncate(0).code(), ErrorCode::kIoError);
    }
    EXPECT_EQ(file->Size().value(), 100u);
    machine.set_faults({});
    EXPECT_EQ(MustReadAll(*disk, "f"), Bytes(100, 'f'));
  });
  EXPECT_EQ(machine.stats().read_errors, 10u);
  EXPECT_EQ(machine.stats().write_errors, 30u);
  EXPECT_EQ(CountFaults(kernel, DiskFaultCode::kReadError), 10u);
  EXPECT_EQ(CountFaults(kernel, DiskFaultCode::kWriteError), 30u);
}

TEST(SimDiskTest, FileDestroyedDuringAnotherFibersWaitFailsThatCallCleanly) {
  // Proves a File may be destroyed by one fiber while another waits out the latency of a call
  // on it: the waiting call fails with kBadFile, writes nothing, and touches no freed memory.
  Kernel kernel(21);
  SimMachineDisk machine(kernel, "m1",
                         DiskFaults{.write_latency_min = 5ms, .write_latency_max = 5ms});
  RunFiber(kernel, [&] {
    io::Runtime& runtime = kernel.runtime();
    std::unique_ptr<io::Disk> disk = machine.Attach();
    std::unique_ptr<io::File> file = MustOpen(*disk, "f");
    io::Scheduler s(runtime, runtime.CurrentGroup());
    ErrorCode seen = ErrorCode::kOk;
    io::FiberHandle writer =
        s.Spawn("writer", [&, f = file.get()] { seen = f->WriteAt(0, Bytes(10, 'x')).code(); });
    s.Sleep(1ms);  // the writer is now inside its 5 ms latency
    file.reset();
    writer.Join();
    EXPECT_EQ(seen, ErrorCode::kBadFile);
    std::unique_ptr<io::File> again = MustOpen(*disk, "f");
    EXPECT_EQ(*again->Size(), 0u);
  });
}

TEST(SimDiskTest, LatencyMakesOpsTakeVirtualTime) {
  // Proves: each kind of operation parks its fiber for a latency drawn from its configured range.
  Kernel kernel(13);
  SimMachineDisk machine(kernel, "m1",
                         DiskFaults{.read_latency_min = 1ms,
                                    .read_latency_max = 2ms,
                                    .write_latency_min = 3ms,
                                    .write_latency_max = 4ms,
                                    .sync_latency_min = 5ms,
                                    .sync_latency_max = 6ms});
  RunFiber(kernel, [&] {
    io::Runtime& runtime = kernel.runtime();
    std::unique_ptr<io::Disk> disk = machine.Attach();
    std::unique_ptr<io::File> file = MustOpen(*disk, "f");
    Instant t0 = runtime.Now();
    ASSERT_TRUE(file->Append(Bytes(10, 'a')).ok());
    Instant t1 = runtime.Now();
    EXPECT_GE(t1 - t0, 3ms);
    EXPECT_LE(t1 - t0, 4ms);
    uint8_t buf[10];
    ASSERT_TRUE(file->ReadAt(0, buf).ok());
    Instant t2 = runtime.Now();
    EXPECT_GE(t2 - t1, 1ms);
    EXPECT_LE(t2 - t1, 2ms);
    ASSERT_TRUE(file->Sync().ok());
    ASSERT_TRUE(disk->SyncDir("").ok());
    Instant t3 = runtime.Now();
    EXPECT_GE(t3 - t2, 10ms);
    EXPECT_LE(t3 - t2, 12ms);
    // Latencies are drawn, not fixed at the minimum.
    std::set<Duration> latencies;
    for (int i = 0; i < 20; i++) {
      Instant before = runtime.Now();
      ASSERT_TRUE(file->Append(Bytes(1, 'b')).ok());
      latencies.insert(runtime.Now() - before);
    }
    EXPECT_GT(latencies.size(), 1u);
  });
}

TEST(SimDiskTest, WriteTakesEffectAtTheEndOfItsLatency) {
  // Proves: another fiber does not see a write while it is in flight, and sees it afterwards.
  Kernel kernel(14);
  SimMachineDisk machine(kernel, "m1",
                         DiskFaults{.write_latency_min = 10ms, .write_latency_max = 10ms});
  std::unique_ptr<io::Disk> disk = machine.Attach();
  RunFiber(kernel, [&] { MustOpen(*disk, "f"); });
  io::GroupId group = kernel.runtime().NewGroup("m");
  io::Scheduler scheduler(kernel.runtime(), group);
  uint64_t size_during = 99;
  uint64_t size_after = 99;
  scheduler.Spawn("writer", [&] {
    std::unique_ptr<io::File> file = MustOpen(*disk, "f");
    EXPECT_TRUE(file->Append(Bytes(10, 'a')).ok());
  });
  scheduler.Spawn("reader", [&] {
    std::unique_ptr<io::File> file = MustOpen(*disk, "f");
    scheduler.Sleep(5ms);
    size_during = file->Size().value();
    scheduler.Sleep(10ms);
    size_after = file->Size().value();
  });
  kernel.RunUntilQuiet();
  EXPECT_EQ(size_during, 0u);
  EXPECT_EQ(size_after, 10u);
}

TEST(SimDiskTest, FiberKilledDuringLatencyChangesNothing) {
  // Proves: killing a fiber while its write waits out the latency unwinds it cleanly: nothing is
  // written, its file handle is released, and the disk keeps working.
  Kernel kernel(15);
  SimMachineDisk machine(kernel, "m1");
  std::unique_ptr<io::Disk> disk = machine.Attach();
  RunFiber(kernel, [&] { MustOpen(*disk, "f"); });
  machine.set_faults(DiskFaults{.write_latency_min = 10ms, .write_latency_max = 10ms});
  io::GroupId victim = kernel.runtime().NewGroup("victim");
  io::Scheduler scheduler(kernel.runtime(), victim);
  bool returned = false;
  io::FiberHandle writer = scheduler.Spawn("writer", [&] {
    std::unique_ptr<io::File> file = MustOpen(*disk, "f");
    Result<uint64_t> appended = file->Append(Bytes(100, 'a'));
    returned = true;
    appended.status().IgnoreError();
  });
  kernel.RunFor(5ms);
  EXPECT_FALSE(writer.done());
  kernel.runtime().KillGroup(victim);
  kernel.RunFor(20ms);
  EXPECT_TRUE(writer.done());
  EXPECT_FALSE(returned);
  EXPECT_EQ(machine.stats().writes, 0u);
  EXPECT_EQ(machine.used_bytes(), 0u);

  machine.set_faults({});
  RunFiber(kernel, [&] {
    std::unique_ptr<io::File> file = MustOpen(*disk, "f");
    EXPECT_EQ(file->Size().value(), 0u);
    ASSERT_TRUE(file->Close().ok());
    EXPECT_TRUE(disk->Remove("f").ok());
  });
}

TEST(SimDiskTest, FileOpsFollowTheContract) {
  // Proves: short reads only at EOF, zero-filled gaps, Append's start offset, truncate growth
  // reading zeros, read-only files refusing writes, and an unlinked open file staying usable.
  Kernel kernel(16);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    std::unique_ptr<io::File> file = MustOpen(*disk, "f");
    EXPECT_EQ(file->Append(Bytes(4, 'a')).value(), 0u);
    ASSERT_TRUE(file->WriteAt(8, Bytes(2, 'b')).ok());
    EXPECT_EQ(file->Append(Bytes(1, 'c')).value(), 10u);
    std::vector<uint8_t> buf(20, 0xFF);
    EXPECT_EQ(file->ReadAt(0, buf).value(), 11u);
    EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + 11),
              (std::vector<uint8_t>{'a', 'a', 'a', 'a', 0, 0, 0, 0, 'b', 'b', 'c'}));
    EXPECT_EQ(file->ReadAt(11, buf).value(), 0u);
    EXPECT_EQ(file->ReadAt(1000, buf).value(), 0u);
    ASSERT_TRUE(file->Truncate(2).ok());
    ASSERT_TRUE(file->Truncate(5).ok());
    EXPECT_EQ(MustReadAll(*disk, "f"), (std::vector<uint8_t>{'a', 'a', 0, 0, 0}));
    EXPECT_EQ(file->path(), "f");

    std::unique_ptr<io::File> reader = MustOpen(*disk, "/f", {.read_only = true});
    EXPECT_EQ(reader->WriteAt(0, Bytes(1, 'z')).code(), ErrorCode::kBadFile);
    EXPECT_EQ(reader->Append(Bytes(1, 'z')).code(), ErrorCode::kBadFile);
    EXPECT_EQ(reader->Truncate(0).code(), ErrorCode::kBadFile);
    EXPECT_EQ(reader->Size().value(), 5u);

    ASSERT_TRUE(disk->Remove("f").ok());
    EXPECT_FALSE(MustExist(*disk, "f"));
    ASSERT_TRUE(file->Append(Bytes(1, 'd')).ok());
    EXPECT_EQ(reader->Size().value(), 6u);
    EXPECT_EQ(file->WriteAt(kSimFileBytesMax, Bytes(1, 'z')).code(), ErrorCode::kNoSpace);
  });
}

TEST(SimDiskTest, DirectoryOpsReturnContractErrors) {
  // Proves: each namespace call fails with the code io/disk.h promises for each bad case.
  Kernel kernel(17);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    EXPECT_EQ(disk->Open("missing/f", kCreate).code(), ErrorCode::kNotFound);
    EXPECT_EQ(disk->Open("f", {}).code(), ErrorCode::kNotFound);
    ASSERT_TRUE(disk->MakeDirs("a/b").ok());
    ASSERT_TRUE(disk->MakeDirs("a/b").ok());
    EXPECT_EQ(disk->Open("a", kCreate).code(), ErrorCode::kIsADirectory);
    EXPECT_EQ(disk->Open("", kCreate).code(), ErrorCode::kIsADirectory);
    MustOpen(*disk, "a/b/f");
    EXPECT_EQ(disk->Open("a/b/f", {.create = true, .exclusive = true}).code(),
              ErrorCode::kAlreadyExists);
    EXPECT_EQ(disk->Open("a/b/f/g", kCreate).code(), ErrorCode::kNotADirectory);
    EXPECT_EQ(disk->Open("a/b/f", {.truncate = true, .read_only = true}).code(),
              ErrorCode::kInvalidArgument);

    EXPECT_EQ(disk->List("a/b").value(), std::vector<std::string>{"f"});
    EXPECT_EQ(disk->List("").value(), std::vector<std::string>{"a"});
    EXPECT_EQ(disk->List("a/b/f").code(), ErrorCode::kNotADirectory);
    EXPECT_EQ(disk->List("nope").code(), ErrorCode::kNotFound);

    EXPECT_EQ(disk->MakeDirs("a/b/f").code(), ErrorCode::kNotADirectory);
    EXPECT_EQ(disk->MakeDirs("a/b/f/x").code(), ErrorCode::kNotADirectory);

    EXPECT_EQ(disk->Remove("a").code(), ErrorCode::kDirectoryNotEmpty);
    EXPECT_EQ(disk->Remove("nope").code(), ErrorCode::kNotFound);
    EXPECT_EQ(disk->Remove("").code(), ErrorCode::kInvalidArgument);

    ASSERT_TRUE(disk->MakeDirs("c").ok());
    EXPECT_EQ(disk->Rename("a/b/f", "a").code(), ErrorCode::kIsADirectory);
    EXPECT_EQ(disk->Rename("c", "a/b/f").code(), ErrorCode::kNotADirectory);
    EXPECT_EQ(disk->Rename("c", "a").code(), ErrorCode::kDirectoryNotEmpty);
    EXPECT_EQ(disk->Rename("a", "a/b/z").code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(disk->Rename("nope", "x").code(), ErrorCode::kNotFound);
    EXPECT_EQ(disk->Rename("a/b/f", "nope/x").code(), ErrorCode::kNotFound);
    EXPECT_TRUE(disk->Rename("a/b/f", "a/b/f").ok());
    EXPECT_TRUE(disk->Rename("a", "c/a").ok());
    EXPECT_EQ(disk->List("c/a/b").value(), std::vector<std::string>{"f"});

    EXPECT_EQ(disk->SyncDir("nope").code(), ErrorCode::kNotFound);
    EXPECT_EQ(disk->SyncDir("c/a/b/f").code(), ErrorCode::kNotADirectory);
    EXPECT_TRUE(MustExist(*disk, "c/a/b/f"));
    EXPECT_FALSE(MustExist(*disk, "c/a/b/f/x"));
    EXPECT_FALSE(MustExist(*disk, "a"));
    EXPECT_TRUE(MustExist(*disk, ""));
  });
}

TEST(SimDiskTest, PathRules) {
  // Proves: '..' is rejected everywhere with kInvalidArgument, and leading, doubled and '.'
  // separators name the same file.
  Kernel kernel(18);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    EXPECT_EQ(disk->Open("../x", kCreate).code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(disk->Open("a/../x", kCreate).code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(disk->MakeDirs("a/..").code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(disk->List("..").code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(disk->Remove("../x").code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(disk->Rename("x", "../y").code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(disk->SyncDir("..").code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(disk->Exists("../x").code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(disk->Open(std::string(300, 'n'), kCreate).code(), ErrorCode::kInvalidArgument);

    ASSERT_TRUE(disk->MakeDirs("/a/b/").ok());
    std::unique_ptr<io::File> file = MustOpen(*disk, "/a//b/./c");
    EXPECT_EQ(file->path(), "a/b/c");
    ASSERT_TRUE(file->Append(Bytes(3, 'p')).ok());
    EXPECT_EQ(MustReadAll(*disk, "a/b/c"), Bytes(3, 'p'));
    EXPECT_EQ(disk->List("/a/b").value(), std::vector<std::string>{"c"});
  });
}

TEST(SimDiskTest, DurableContentsShowsOnlySyncedState) {
  // Proves: DurableContents follows the durable namespace and durable data: a synced name with
  // unsynced data reads empty, synced data shows, an unsynced remove still shows the file, and
  // unknown names or directories fail.
  Kernel kernel(19);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    std::unique_ptr<io::File> file = MustOpen(*disk, "f");
    ASSERT_TRUE(file->Append(Bytes(8, 'd')).ok());
    EXPECT_EQ(machine.DurableContents("f").code(), ErrorCode::kNotFound);
    ASSERT_TRUE(disk->SyncDir("").ok());
    EXPECT_EQ(machine.DurableContents("f").value(), std::vector<uint8_t>{});
    ASSERT_TRUE(file->Sync().ok());
    EXPECT_EQ(machine.DurableContents("f").value(), Bytes(8, 'd'));
    ASSERT_TRUE(file->Close().ok());
    ASSERT_TRUE(disk->Remove("f").ok());
    EXPECT_EQ(machine.DurableContents("f").value(), Bytes(8, 'd'));
    ASSERT_TRUE(disk->SyncDir("").ok());
    EXPECT_EQ(machine.DurableContents("f").code(), ErrorCode::kNotFound);
    ASSERT_TRUE(disk->MakeDirs("d").ok());
    ASSERT_TRUE(disk->SyncDir("").ok());
    EXPECT_EQ(machine.DurableContents("d").code(), ErrorCode::kIsADirectory);
    EXPECT_EQ(machine.DurableContents("..").code(), ErrorCode::kInvalidArgument);
  });
}

TEST(SimDiskTest, SpaceReportsCapacityAndFree) {
  // Proves: an unlimited disk reports a 1 TiB capacity and its free bytes track used bytes.
  Kernel kernel(20);
  SimMachineDisk machine(kernel, "m1");
  RunFiber(kernel, [&] {
    std::unique_ptr<io::Disk> disk = machine.Attach();
    std::unique_ptr<io::File> file = MustOpen(*disk, "f");
    ASSERT_TRUE(file->Append(Bytes(1000, 's')).ok());
    io::DiskSpace space = disk->Space().value();
    EXPECT_EQ(space.capacity_bytes, DiskFaults::kUnlimitedCapacityReportBytes);
    EXPECT_EQ(space.free_bytes, DiskFaults::kUnlimitedCapacityReportBytes - 1000);
  });
}

// A run with every fault on: two fibers append and sync with random latencies and errors, then
// the machine crashes torn. Returns the trace hash and the surviving bytes.
std::pair<uint64_t, std::vector<uint8_t>> FaultyRun(uint64_t seed) {
  Kernel kernel(seed);
  SimMachineDisk machine(kernel, "m1",
                         DiskFaults{.read_error_probability = 0.1,
                                    .write_error_probability = 0.1,
                                    .sync_error_probability = 0.2,
                                    .read_latency_min = 10us,
                                    .read_latency_max = 100us,
                                    .write_latency_min = 10us,
                                    .write_latency_max = 200us,
                                    .sync_latency_min = 100us,
                                    .sync_latency_max = 1ms});
  std::unique_ptr<io::Disk> disk = machine.Attach();
  io::GroupId group = kernel.runtime().NewGroup("m");
  io::Scheduler scheduler(kernel.runtime(), group);
  for (int w = 0; w < 2; w++) {
    scheduler.Spawn("writer", [&disk, w] {
      std::unique_ptr<io::File> file = MustOpen(*disk, "log");
      for (int i = 0; i < 50; i++) {
        file->Append(Bytes(300, static_cast<char>('a' + w))).status().IgnoreError();
        if (i % 5 == 0) file->Sync().IgnoreError();
        if (i % 7 == 0) disk->SyncDir("").IgnoreError();
      }
    });
  }
  kernel.RunUntilQuiet();
  machine.Crash(CrashMode::kTear);
  Result<std::vector<uint8_t>> data = machine.DurableContents("log");
  return {kernel.trace().hash(), data.ok() ? *data : std::vector<uint8_t>{}};
}

TEST(SimDiskTest, SameSeedSameRun) {
  // Proves: with every fault and latency on, a seed replays to the same trace hash and the same
  // bytes, and another seed takes a different path.
  std::pair<uint64_t, std::vector<uint8_t>> first = FaultyRun(42);
  std::pair<uint64_t, std::vector<uint8_t>> second = FaultyRun(42);
  std::pair<uint64_t, std::vector<uint8_t>> other = FaultyRun(43);
  EXPECT_EQ(first.first, second.first);
  EXPECT_EQ(first.second, second.second);
  EXPECT_NE(first.first, other.first);
}

}  // namespace
}  // namespace apogee::sim
