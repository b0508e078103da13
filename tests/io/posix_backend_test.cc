// Tests of the POSIX backend (core/io/posix): the reactor, the I/O pool, TCP over loopback,
// files under a temporary root, and PosixEnv. They run real syscalls, so they assert orderings
// and contracts, never timings.

#include <dirent.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/base/log.h"
#include "core/io/posix/posix_env.h"
#include "core/io/sync.h"

namespace apogee::io {
namespace {

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string AsString(std::span<const uint8_t> b) { return {b.begin(), b.end()}; }

// A fresh directory for one test's disk root, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "apogee-posix-XXXXXX").string();
    APOGEE_ASSERT(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs `body` as the first fiber of a fresh node, runs the loop until it ends, and checks that
// `body` returned (a failed ASSERT inside it returns early, which also counts).
void RunNode(const std::function<void(PosixEnv&)>& body, size_t io_threads = 4) {
  TempDir dir;
  PosixEnv posix("posix-test", dir.path(), io_threads);
  bool returned = false;
  posix.env().scheduler.Spawn("test", [&] {
    body(posix);
    returned = true;
  });
  posix.Run();
  EXPECT_TRUE(returned) << "the test fiber did not run to its end";
}

size_t OpenFdCount() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    n++;
  }
  return n;
}

std::unique_ptr<Listener> ListenLoopback(Env& env) {
  Result<std::unique_ptr<Listener>> listener = env.network.Listen({"127.0.0.1", 0});
  APOGEE_ASSERT(listener.ok(), "{}", listener.status().ToString());
  return std::move(listener).value();
}

// A connected pair over loopback: {client side, server side}.
std::pair<std::unique_ptr<Connection>, std::unique_ptr<Connection>> ConnectPair(Env& env) {
  std::unique_ptr<Listener> listener = ListenLoopback(env);
  Result<std::unique_ptr<Connection>> client =
      env.network.Connect(listener->LocalAddress(), std::chrono::seconds(10));
  APOGEE_ASSERT(client.ok(), "{}", client.status().ToString());
  Result<std::unique_ptr<Connection>> server = listener->Accept();
  APOGEE_ASSERT(server.ok(), "{}", server.status().ToString());
  return {std::move(client).value(), std::move(server).value()};
}

// --- Network ---

TEST(PosixNetworkTest, EchoOverLoopbackWithPartialReads) {
  // Proves: bytes arrive in order and intact both ways, and Read() returns what has arrived
  // without waiting to fill the buffer.
  RunNode([](PosixEnv& posix) {
    Env& env = posix.env();
    std::unique_ptr<Listener> listener = ListenLoopback(env);
    EXPECT_NE(listener->LocalAddress().port, 0);
    FiberHandle server = env.scheduler.Spawn("echo", [&] {
      Result<std::unique_ptr<Connection>> conn = listener->Accept();
      ASSERT_TRUE(conn.ok()) << conn.status().ToString();
      std::vector<uint8_t> buf(1000);
      for (;;) {
        Result<size_t> n = (*conn)->Read(buf);
        ASSERT_TRUE(n.ok()) << n.status().ToString();
        if (*n == 0) break;  // orderly end of stream
        ASSERT_TRUE((*conn)->Write(std::span(buf).first(*n)).ok());
      }
    });
    Result<std::unique_ptr<Connection>> client =
        env.network.Connect(listener->LocalAddress(), std::chrono::seconds(10));
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    Connection& conn = **client;
    EXPECT_EQ(conn.PeerAddress(), listener->LocalAddress());

    ASSERT_TRUE(conn.Write(AsBytes("hello, you")).ok());
    std::vector<uint8_t> big_buf(1000);
    Result<size_t> first = conn.Read(big_buf);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    ASSERT_GE(*first, 1u);
    ASSERT_LE(*first, 10u);  // returned with what had arrived, not after 1000 bytes
    ASSERT_TRUE(conn.ReadFull(std::span(big_buf).subspan(*first, 10 - *first)).ok());
    EXPECT_EQ(AsString(std::span(big_buf).first(10)), "hello, you");

    // A payload larger than the socket buffers: one fiber writes while another reads.
    std::vector<uint8_t> payload(8 * 1024 * 1024);
    for (size_t i = 0; i < payload.size(); i++) payload[i] = static_cast<uint8_t>(i * 7 + i / 251);
    std::vector<uint8_t> echoed(payload.size());
    FiberHandle reader = env.scheduler.Spawn("reader", [&] {
      Status s = conn.ReadFull(echoed);
      EXPECT_TRUE(s.ok()) << s.ToString();
    });
    ASSERT_TRUE(conn.Write(payload).ok());
    reader.Join();
    EXPECT_TRUE(payload == echoed);

    conn.Close();
    server.Join();
  });
}

TEST(PosixNetworkTest, ConnectToClosedPortIsRefused) {
  // Proves: connecting where nothing listens fails with kConnectionRefused, not a hang.
  RunNode([](PosixEnv& posix) {
    Env& env = posix.env();
    std::unique_ptr<Listener> listener = ListenLoopback(env);
    Address address = listener->LocalAddress();
    listener->Close();
    Result<std::unique_ptr<Connection>> conn =
        env.network.Connect(address, std::chrono::seconds(10));
    EXPECT_EQ(conn.code(), ErrorCode::kConnectionRefused) << conn.status().ToString();
  });
}

TEST(PosixNetworkTest, ReadDeadlinePassesAndConnectionStaysUsable) {
  // Proves: a Read deadline ends the wait with kTimeout and the connection still works after.
  RunNode([](PosixEnv& posix) {
    Env& env = posix.env();
    auto [client, server] = ConnectPair(env);
    std::vector<uint8_t> buf(16);
    Result<size_t> n = client->Read(buf, env.scheduler.After(std::chrono::milliseconds(20)));
    EXPECT_EQ(n.code(), ErrorCode::kTimeout) << n.status().ToString();
    ASSERT_TRUE(server->Write(AsBytes("x")).ok());
    n = client->Read(buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(AsString(std::span(buf).first(*n)), "x");
  });
}

TEST(PosixNetworkTest, CloseWakesBlockedReaderWithClosed) {
  // Proves: Close() wakes a fiber of the same side blocked in Read() with kClosed, and the peer
  // then reads an orderly end of stream.
  RunNode([](PosixEnv& posix) {
    Env& env = posix.env();
    auto [client, server] = ConnectPair(env);
    ErrorCode read_code = ErrorCode::kOk;
    FiberHandle reader = env.scheduler.Spawn("reader", [&, &c = client] {
      std::vector<uint8_t> buf(16);
      read_code = c->Read(buf).code();
    });
    env.scheduler.Yield();  // the reader runs and parks in Read()
    ASSERT_FALSE(reader.done());
    client->Close();
    reader.Join();
    EXPECT_EQ(read_code, ErrorCode::kClosed);
    std::vector<uint8_t> buf(16);
    Result<size_t> n = server->Read(buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, 0u);
  });
}

TEST(PosixNetworkTest, DestroyingConnectionWakesBlockedReaderSafely) {
  // Proves: destroying a Connection while another fiber is blocked on it wakes that fiber with
  // kClosed without touching freed memory (ASan checks the second part).
  RunNode([](PosixEnv& posix) {
    Env& env = posix.env();
    auto [client, server] = ConnectPair(env);
    ErrorCode read_code = ErrorCode::kOk;
    Connection* raw = client.get();
    FiberHandle reader = env.scheduler.Spawn("reader", [&] {
      std::vector<uint8_t> buf(16);
      read_code = raw->Read(buf).code();
    });
    env.scheduler.Yield();
    ASSERT_FALSE(reader.done());
    client.reset();
    reader.Join();
    EXPECT_EQ(read_code, ErrorCode::kClosed);
  });
}

TEST(PosixNetworkTest, ResetIsSeenByPeerAsConnectionReset) {
  // Proves: Reset() is abortive: the peer's Read and then Write fail with kConnectionReset.
  RunNode([](PosixEnv& posix) {
    Env& env = posix.env();
    auto [client, server] = ConnectPair(env);
    client->Reset();
    std::vector<uint8_t> buf(16);
    Result<size_t> n = server->Read(buf);
    EXPECT_EQ(n.code(), ErrorCode::kConnectionReset) << n.status().ToString();
    EXPECT_EQ(server->Write(AsBytes("late")).code(), ErrorCode::kConnectionReset);
    EXPECT_EQ(client->Read(buf).code(), ErrorCode::kClosed);
    EXPECT_EQ(client->Write(AsBytes("x")).code(), ErrorCode::kClosed);
  });
}

TEST(PosixNetworkTest, CloseWithUnreadInputIsStillOrderly) {
  // Proves: Close() delivers everything written and then end of stream even when the closing
  // side left input unread (which would make a plain close(2) send RST).
  RunNode([](PosixEnv& posix) {
    Env& env = posix.env();
    auto [client, server] = ConnectPair(env);
    ASSERT_TRUE(server->Write(AsBytes("junk")).ok());
    uint8_t one = 0;
    ASSERT_TRUE(client->ReadFull(std::span(&one, 1)).ok());  // the rest stays unread
    std::vector<uint8_t> payload(256 * 1024, 0xab);
    FiberHandle reader = env.scheduler.Spawn("reader", [&, &s = server] {
      std::vector<uint8_t> got(payload.size());
      Status full = s->ReadFull(got);
      ASSERT_TRUE(full.ok()) << full.ToString();
      EXPECT_TRUE(got == payload);
      uint8_t more = 0;
      Result<size_t> end = s->Read(std::span(&more, 1));
      ASSERT_TRUE(end.ok()) << end.status().ToString();
      EXPECT_EQ(*end, 0u);
    });
    ASSERT_TRUE(client->Write(payload).ok());
    client->Close();
    reader.Join();
  });
}

TEST(PosixNetworkTest, WriteTimeoutAfterPartialSendResetsTheStream) {
  // Proves: a Write that times out after sending part of its data resets the connection, so
  // the peer sees kConnectionReset instead of a torn frame.
  RunNode([](PosixEnv& posix) {
    Env& env = posix.env();
    auto [client, server] = ConnectPair(env);
    // Far more than the loopback send and receive buffers can hold while nobody reads.
    std::vector<uint8_t> payload(96 * 1024 * 1024, 1);
    Status s = client->Write(payload, env.scheduler.After(std::chrono::milliseconds(50)));
    EXPECT_EQ(s.code(), ErrorCode::kTimeout) << s.ToString();
    EXPECT_EQ(client->Write(AsBytes("x")).code(), ErrorCode::kClosed);
    std::vector<uint8_t> buf(1 << 16);
    size_t received = 0;
    Result<size_t> n = size_t{0};
    do {
      n = server->Read(buf);
      if (n.ok()) received += *n;
    } while (n.ok() && *n > 0);
    EXPECT_EQ(n.code(), ErrorCode::kConnectionReset) << n.status().ToString();
    EXPECT_LT(received, payload.size());
  });
}

TEST(PosixNetworkTest, ListenOnTakenPortIsAddressInUse) {
  // Proves: a second listener on a port in use fails with kAddressInUse despite SO_REUSEADDR.
  RunNode([](PosixEnv& posix) {
    Env& env = posix.env();
    std::unique_ptr<Listener> first = ListenLoopback(env);
    Result<std::unique_ptr<Listener>> second =
        env.network.Listen({"127.0.0.1", first->LocalAddress().port});
    EXPECT_EQ(second.code(), ErrorCode::kAddressInUse) << second.status().ToString();
  });
}

TEST(PosixNetworkTest, MalformedAddressesAreInvalidArguments) {
  // Proves: bad hosts fail fast with kInvalidArgument instead of reaching the resolver.
  RunNode([](PosixEnv& posix) {
    Env& env = posix.env();
    EXPECT_EQ(env.network.Connect({"300.1.2.3", 80}, std::chrono::seconds(1)).code(),
              ErrorCode::kInvalidArgument);
    EXPECT_EQ(env.network.Connect({"", 80}, std::chrono::seconds(1)).code(),
              ErrorCode::kInvalidArgument);
    EXPECT_EQ(env.network.Listen({"not-an-ip", 0}).code(), ErrorCode::kInvalidArgument);
  });
}

TEST(PosixNetworkTest, AcceptHonoursDeadlineAndClose) {
  // Proves: Accept() ends with kTimeout at its deadline, and with kClosed when the listener is
  // closed under it.
  RunNode([](PosixEnv& posix) {
    Env& env = posix.env();
    std::unique_ptr<Listener> listener = ListenLoopback(env);
    EXPECT_EQ(listener->Accept(env.scheduler.After(std::chrono::milliseconds(5))).code(),
              ErrorCode::kTimeout);
    ErrorCode accept_code = ErrorCode::kOk;
    FiberHandle acceptor =
        env.scheduler.Spawn("acceptor", [&] { accept_code = listener->Accept().code(); });
    env.scheduler.Yield();
    ASSERT_FALSE(acceptor.done());
    listener->Close();
    acceptor.Join();
    EXPECT_EQ(accept_code, ErrorCode::kClosed);
  });
}

// --- Disk ---

TEST(PosixDiskTest, FileLifecycle) {
  // Proves: write, sync, read, size, truncate, append, rename, list, remove and SyncDir do
  // what disk.h says, seen through the Disk interface.
  RunNode([](PosixEnv& posix) {
    Disk& disk = posix.env().disk;
    ASSERT_TRUE(disk.MakeDirs("a/b").ok());
    ASSERT_TRUE(disk.MakeDirs("a/b").ok());  // exists: still OK
    Result<std::unique_ptr<File>> opened = disk.Open("a/b/f", OpenOptions{.create = true});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    File& file = **opened;
    EXPECT_EQ(file.path(), "a/b/f");
    ASSERT_TRUE(file.WriteAt(0, AsBytes("hello world")).ok());
    ASSERT_TRUE(file.Sync().ok());
    std::vector<uint8_t> buf(11);
    Result<size_t> n = file.ReadAt(0, buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(AsString(std::span(buf).first(*n)), "hello world");
    EXPECT_EQ(*file.Size(), 11u);
    ASSERT_TRUE(file.Truncate(5).ok());
    EXPECT_EQ(*file.Size(), 5u);
    Result<uint64_t> at = file.Append(AsBytes("!!"));
    ASSERT_TRUE(at.ok());
    EXPECT_EQ(*at, 5u);
    ASSERT_TRUE(file.DataSync().ok());
    // A write past the end leaves zeros over the gap.
    ASSERT_TRUE(file.WriteAt(20, AsBytes("z")).ok());
    std::vector<uint8_t> gap(14, 0xff);
    ASSERT_EQ(*file.ReadAt(7, gap), 14u);
    EXPECT_EQ(AsString(gap), std::string(13, '\0') + "z");
    ASSERT_TRUE(file.Truncate(7).ok());
    ASSERT_TRUE(file.Close().ok());
    EXPECT_EQ(file.Close().code(), ErrorCode::kBadFile);

    ASSERT_TRUE(disk.Rename("a/b/f", "a/b/g").ok());
    ASSERT_TRUE(disk.SyncDir("a/b").ok());
    ASSERT_TRUE(disk.SyncDir("").ok());  // the root itself
    EXPECT_EQ(*disk.List("a/b"), std::vector<std::string>{"g"});
    EXPECT_EQ(*disk.List("a"), std::vector<std::string>{"b"});
    Result<std::vector<uint8_t>> all = disk.ReadAll("a/b/g");
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(AsString(*all), "hello!!");
    EXPECT_TRUE(*disk.Exists("a/b/g"));
    ASSERT_TRUE(disk.Remove("a/b/g").ok());
    EXPECT_FALSE(*disk.Exists("a/b/g"));
    EXPECT_TRUE(disk.List("a/b")->empty());
    ASSERT_TRUE(disk.Remove("a/b").ok());
    EXPECT_FALSE(*disk.Exists("a/b"));
  });
}

TEST(PosixDiskTest, ListIsSortedAndWriteAtomicallyReplaces) {
  // Proves: List() returns sorted names without "." and "..", and WriteAtomically() replaces
  // a file's contents through a synced rename.
  RunNode([](PosixEnv& posix) {
    Disk& disk = posix.env().disk;
    for (const char* name : {"c", "a", "b"}) {
      ASSERT_TRUE(disk.WriteAtomically(name, AsBytes(name)).ok());
    }
    ASSERT_TRUE(disk.WriteAtomically("a", AsBytes("second")).ok());
    EXPECT_EQ(*disk.List(""), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(AsString(*disk.ReadAll("a")), "second");
    Result<DiskSpace> space = disk.Space();
    ASSERT_TRUE(space.ok()) << space.status().ToString();
    EXPECT_GT(space->capacity_bytes, 0u);
    EXPECT_LE(space->free_bytes, space->capacity_bytes);
  });
}

TEST(PosixDiskTest, MissingNamesAreNotFound) {
  // Proves: operations on names that do not exist fail with kNotFound.
  RunNode([](PosixEnv& posix) {
    Disk& disk = posix.env().disk;
    EXPECT_EQ(disk.Open("nope", {}).code(), ErrorCode::kNotFound);
    EXPECT_EQ(disk.Open("no/dir/f", OpenOptions{.create = true}).code(), ErrorCode::kNotFound);
    EXPECT_EQ(disk.List("nodir").code(), ErrorCode::kNotFound);
    EXPECT_EQ(disk.Remove("nope").code(), ErrorCode::kNotFound);
    EXPECT_EQ(disk.Rename("nope", "other").code(), ErrorCode::kNotFound);
    EXPECT_EQ(disk.SyncDir("nodir").code(), ErrorCode::kNotFound);
    EXPECT_EQ(disk.ReadAll("nope").code(), ErrorCode::kNotFound);
    EXPECT_FALSE(*disk.Exists("nope"));
  });
}

TEST(PosixDiskTest, ExclusiveCreateOfExistingFileIsAlreadyExists) {
  // Proves: create + exclusive fails with kAlreadyExists when the name exists, and plain
  // create opens the existing file without truncating it.
  RunNode([](PosixEnv& posix) {
    Disk& disk = posix.env().disk;
    OpenOptions exclusive{.create = true, .exclusive = true};
    Result<std::unique_ptr<File>> first = disk.Open("f", exclusive);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    ASSERT_TRUE((*first)->WriteAt(0, AsBytes("keep")).ok());
    EXPECT_EQ(disk.Open("f", exclusive).code(), ErrorCode::kAlreadyExists);
    Result<std::unique_ptr<File>> again = disk.Open("f", OpenOptions{.create = true});
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*(*again)->Size(), 4u);
  });
}

TEST(PosixDiskTest, ReadAtOrPastEndReturnsZero) {
  // Proves: a read at or past the end of a file returns 0, and a read across it returns only
  // the bytes that exist.
  RunNode([](PosixEnv& posix) {
    Disk& disk = posix.env().disk;
    Result<std::unique_ptr<File>> file = disk.Open("f", OpenOptions{.create = true});
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->WriteAt(0, AsBytes("abc")).ok());
    std::vector<uint8_t> buf(10);
    EXPECT_EQ(*(*file)->ReadAt(3, buf), 0u);
    EXPECT_EQ(*(*file)->ReadAt(1000, buf), 0u);
    Result<size_t> n = (*file)->ReadAt(1, buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(AsString(std::span(buf).first(*n)), "bc");
  });
}

TEST(PosixDiskTest, PathsStayUnderTheRoot) {
  // Proves: ".." is rejected with kInvalidArgument and absolute paths land under the root.
  TempDir dir;
  PosixEnv posix("posix-test", dir.path());
  posix.env().scheduler.Spawn("test", [&] {
    Disk& disk = posix.env().disk;
    EXPECT_EQ(disk.Open("../escape", OpenOptions{.create = true}).code(),
              ErrorCode::kInvalidArgument);
    EXPECT_EQ(disk.Open("a/../../escape", OpenOptions{.create = true}).code(),
              ErrorCode::kInvalidArgument);
    EXPECT_EQ(disk.MakeDirs("..").code(), ErrorCode::kInvalidArgument);
    EXPECT_TRUE(disk.Open("/inside", OpenOptions{.create = true}).ok());
    EXPECT_TRUE(disk.Open("./x//y", OpenOptions{.create = true}).code() == ErrorCode::kNotFound);
  });
  posix.Run();
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir.path()) / "inside"));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(dir.path()).parent_path() / "escape"));
}

TEST(PosixDiskTest, DirectoryErrorsAreMapped) {
  // Proves: directory misuse maps to kDirectoryNotEmpty, kIsADirectory and kNotADirectory.
  RunNode([](PosixEnv& posix) {
    Disk& disk = posix.env().disk;
    ASSERT_TRUE(disk.MakeDirs("d/e").ok());
    ASSERT_TRUE(disk.Open("file", OpenOptions{.create = true}).ok());
    EXPECT_EQ(disk.Remove("d").code(), ErrorCode::kDirectoryNotEmpty);
    EXPECT_EQ(disk.Open("d", {}).code(), ErrorCode::kIsADirectory);
    EXPECT_EQ(disk.Open("d", OpenOptions{.read_only = true}).code(), ErrorCode::kIsADirectory);
    EXPECT_EQ(disk.MakeDirs("file/sub").code(), ErrorCode::kNotADirectory);
    EXPECT_EQ(disk.List("file").code(), ErrorCode::kNotADirectory);
    EXPECT_EQ(disk.SyncDir("file").code(), ErrorCode::kNotADirectory);
    EXPECT_EQ(disk.Rename("d/e", "d/e/inside").code(), ErrorCode::kInvalidArgument);  // EINVAL
  });
}

TEST(PosixDiskTest, ClosedAndReadOnlyFilesRejectWritesWithBadFile) {
  // Proves: every call on a closed File, and every write on a read-only one, is kBadFile.
  RunNode([](PosixEnv& posix) {
    Disk& disk = posix.env().disk;
    ASSERT_TRUE(disk.WriteAtomically("f", AsBytes("data")).ok());
    Result<std::unique_ptr<File>> ro = disk.Open("f", OpenOptions{.read_only = true});
    ASSERT_TRUE(ro.ok());
    EXPECT_EQ((*ro)->WriteAt(0, AsBytes("x")).code(), ErrorCode::kBadFile);
    EXPECT_EQ((*ro)->Append(AsBytes("x")).code(), ErrorCode::kBadFile);
    EXPECT_EQ((*ro)->Truncate(0).code(), ErrorCode::kBadFile);
    EXPECT_EQ(*(*ro)->Size(), 4u);
    ASSERT_TRUE((*ro)->Close().ok());
    std::vector<uint8_t> buf(4);
    EXPECT_EQ((*ro)->ReadAt(0, buf).code(), ErrorCode::kBadFile);
    EXPECT_EQ((*ro)->Sync().code(), ErrorCode::kBadFile);
    EXPECT_EQ((*ro)->DataSync().code(), ErrorCode::kBadFile);
    EXPECT_EQ((*ro)->Size().code(), ErrorCode::kBadFile);
  });
}

TEST(PosixDiskTest, FullDeviceIsNoSpace) {
  // Proves: ENOSPC maps to kNoSpace for WriteAt and Append (on /dev/full, which always fails
  // writes with ENOSPC), and the failed calls leave the size as it was.
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  RunNode([](PosixEnv& posix) {
    PosixDisk dev(posix.pool(), "/dev");
    Result<std::unique_ptr<File>> full = dev.Open("full", {});
    ASSERT_TRUE(full.ok()) << full.status().ToString();
    Status s = (*full)->WriteAt(0, AsBytes("data"));
    EXPECT_EQ(s.code(), ErrorCode::kNoSpace) << s.ToString();
    EXPECT_EQ((*full)->Append(AsBytes("data")).code(), ErrorCode::kNoSpace);
    EXPECT_EQ(*(*full)->Size(), 0u);
    ASSERT_TRUE((*full)->Close().ok());
  });
}

// --- I/O pool ---

TEST(PosixIoPoolTest, BlockingJobDoesNotStallTimers) {
  // Proves: while a pool job blocks, the loop keeps firing timers: the job can only finish
  // after three 10 ms sleeps of another fiber have completed, which release it. (If the job
  // stalled the loop, the job would give up after 30 s and the test fail, not hang.)
  RunNode([](PosixEnv& posix) {
    Env& env = posix.env();
    std::vector<std::string> order;
    auto release = std::make_shared<std::promise<void>>();
    std::shared_future<void> released = release->get_future().share();
    FiberHandle ticker = env.scheduler.Spawn("ticker", [&] {
      for (int i = 1; i <= 3; i++) {
        env.scheduler.Sleep(std::chrono::milliseconds(10));
        order.push_back(fmt::format("tick{}", i));
      }
      release->set_value();
    });
    auto was_released = std::make_shared<bool>(false);
    Status s = posix.pool().Run([released, was_released] {
      *was_released = released.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
    order.push_back("job");
    EXPECT_TRUE(*was_released);
    EXPECT_EQ(order, (std::vector<std::string>{"tick1", "tick2", "tick3", "job"}));
    ticker.Join();
  });
}

TEST(PosixIoPoolTest, KillingFiberBlockedInFileOpIsSafe) {
  // Proves: fibers killed while their read, write and open wait on the pool unwind at once;
  // the jobs still run later, on copies rather than the fibers' freed buffers (ASan checks),
  // the write still lands, and every descriptor (the victims' Files, the dropped open) closes.
  size_t fds_before = OpenFdCount();
  RunNode(
      [](PosixEnv& posix) {
        Env& env = posix.env();
        Disk& disk = env.disk;
        Result<std::unique_ptr<File>> f = disk.Open("f", OpenOptions{.create = true});
        Result<std::unique_ptr<File>> g = disk.Open("g", OpenOptions{.create = true});
        ASSERT_TRUE(f.ok());
        ASSERT_TRUE(g.ok());
        std::vector<uint8_t> original(64 * 1024, 'A');
        ASSERT_TRUE((*f)->WriteAt(0, original).ok());

        // The only I/O thread waits on a gate, so the victims' jobs queue behind it.
        auto gate = std::make_shared<std::promise<void>>();
        std::shared_future<void> gate_open = gate->get_future().share();
        FiberHandle blocker = env.scheduler.Spawn("blocker", [&] {
          EXPECT_TRUE(posix.pool().Run([gate_open] { gate_open.wait(); }).ok());
        });
        env.scheduler.Yield();

        int returned = 0;
        std::vector<FiberHandle> victims;
        victims.push_back(env.scheduler.Spawn(
            "reader", [&returned, file = std::shared_ptr<File>(std::move(f).value())] {
              auto buf = std::make_unique<std::vector<uint8_t>>(64 * 1024);
              Result<size_t> n = file->ReadAt(0, *buf);  // parks: killed here
              returned++;
              (void)n;
            }));
        victims.push_back(env.scheduler.Spawn(
            "writer", [&returned, file = std::shared_ptr<File>(std::move(g).value())] {
              auto buf = std::make_unique<std::vector<uint8_t>>(32 * 1024, 'W');
              Status s = file->WriteAt(0, *buf);  // parks: killed here
              returned++;
              (void)s;
            }));
        victims.push_back(env.scheduler.Spawn("opener", [&] {
          Result<std::unique_ptr<File>> h = disk.Open("h", OpenOptions{.create = true});
          returned++;
          (void)h;
        }));
        env.scheduler.Yield();
        for (FiberHandle& victim : victims) {
          ASSERT_FALSE(victim.done());
          victim.Kill();
        }
        for (FiberHandle& victim : victims) victim.Join();
        EXPECT_EQ(returned, 0);

        gate->set_value();
        blocker.Join();
        // The abandoned jobs ran to their end; the disk still serves.
        EXPECT_TRUE(*disk.ReadAll("f") == original);
        EXPECT_TRUE(*disk.ReadAll("g") == std::vector<uint8_t>(32 * 1024, 'W'));
        EXPECT_TRUE(*disk.Exists("h"));
      },
      /*io_threads=*/1);
  EXPECT_EQ(OpenFdCount(), fds_before);
}

// --- Reactor and env ---

TEST(PosixReactorTest, PostFromAnotherThreadWakesTheLoop) {
  // Proves: a function posted from another thread runs on the loop and can wake a fiber, and
  // promised outside work keeps the loop waiting for it.
  RunNode([](PosixEnv& posix) {
    PosixReactor& reactor = posix.reactor();
    Event done(posix.runtime());
    std::thread::id ran_on;
    reactor.BeginOutsideWork();
    std::thread other([&] {
      reactor.Post([&] {
        ran_on = std::this_thread::get_id();
        done.Set();
        reactor.EndOutsideWork();
      });
    });
    ASSERT_TRUE(done.Wait().ok());
    other.join();
    EXPECT_EQ(ran_on, std::this_thread::get_id());
  });
}

TEST(PosixReactorTest, TimersNeverFireEarly) {
  // Proves: a sleep never ends before its time, at sub-millisecond and millisecond lengths.
  RunNode([](PosixEnv& posix) {
    Env& env = posix.env();
    for (Duration d :
         {Duration(std::chrono::microseconds(300)), Duration(std::chrono::milliseconds(1)),
          Duration(std::chrono::microseconds(2500))}) {
      Instant before = env.clock.Now();
      env.scheduler.Sleep(d);
      EXPECT_GE(env.clock.Now() - before, d);
    }
  });
}

TEST(PosixEnvTest, RunEndsWhenNoFiberCanBeWoken) {
  // Proves: Run() returns when the only fiber left waits on something nothing can set, and the
  // env's destruction unwinds that fiber (its destructors run).
  TempDir dir;
  bool unwound = false;
  {
    PosixEnv posix("posix-test", dir.path());
    posix.env().scheduler.Spawn("stuck", [&] {
      struct Flag {
        bool* set;
        ~Flag() { *set = true; }
      } flag{&unwound};
      Event never(posix.runtime());
      never.Wait().IgnoreError();
    });
    posix.Run();
    EXPECT_EQ(posix.runtime().live_fibers(), 1u);
    EXPECT_FALSE(unwound);
  }
  EXPECT_TRUE(unwound);
}

TEST(PosixEnvTest, StopFromAnotherThreadEndsRun) {
  // Proves: Stop() from another thread ends Run() while fibers are still busy sleeping.
  TempDir dir;
  PosixEnv posix("posix-test", dir.path());
  uint64_t ticks = 0;
  posix.env().scheduler.Spawn("forever", [&] {
    for (;;) {
      posix.env().scheduler.Sleep(std::chrono::milliseconds(1));
      ticks++;
    }
  });
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    posix.Stop();
  });
  posix.Run();
  stopper.join();
  EXPECT_EQ(posix.runtime().live_fibers(), 1u);
}

TEST(PosixEnvTest, RunMainRunsMainWithAWorkingEnv) {
  // Proves: RunMain runs `main` on a fiber of the named node with working clocks and random,
  // shows the node and time in the log prefix, and returns 0 when main returns.
  TempDir dir;
  std::string prefix;
  int code = PosixEnv::RunMain("node-7", dir.path(), [&](Env& env) {
    EXPECT_EQ(env.node, "node-7");
    EXPECT_EQ(env.scheduler.runtime().GroupName(env.scheduler.group()), "node-7");
    Instant a = env.clock.Now();
    Instant b = env.clock.Now();
    EXPECT_LE(a, b);
    // 2020-01-01 in Unix milliseconds: the wall clock is a calendar time.
    EXPECT_GT(ToMillis(env.clock.WallNow()), 1577836800000);
    EXPECT_NE(env.random.Next(), env.random.Next());
    EXPECT_FALSE(APOGEE_BUGGIFY(env));
    prefix = DiagPrefix();
  });
  EXPECT_EQ(code, 0);
  EXPECT_NE(prefix.find("node-7 t="), std::string::npos) << prefix;
}

TEST(PosixEnvTest, EnvsAreSeededIndependently) {
  // Proves: each node's random stream is seeded from the OS, not from a constant.
  TempDir dir;
  PosixEnv a("a", dir.path());
  PosixEnv b("b", dir.path());
  EXPECT_NE(a.seed(), b.seed());
}

}  // namespace
}  // namespace apogee::io
