// The seam's conformance suite: every case is written once against io::Env and runs on both
// backends, the simulator (/Sim) and the POSIX backend (/Posix). Whatever core code relies on
// must hold in both worlds, or the simulator is testing a different system from the one that
// ships.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/io/env.h"
#include "core/io/posix/posix_env.h"
#include "core/io/sync.h"
#include "sim/world.h"

namespace apogee::io {
namespace {

using namespace std::chrono_literals;

class Backend {
 public:
  virtual ~Backend() = default;
  // Runs `body` as the main fiber of a node and drives the world until every fiber the body
  // started has ended. Fails the test if the body does not finish.
  virtual void Run(std::function<void(Env&)> body) = 0;
  // The address the node's own listeners are reached at.
  virtual std::string host() const = 0;
};

class SimBackend final : public Backend {
 public:
  void Run(std::function<void(Env&)> body) override {
    sim::World world(/*seed=*/7);
    bool done = false;
    world.AddNode(sim::NodeSpec{"n1", "10.0.0.1", [&](Env& env) {
                                  body(env);
                                  done = true;
                                }});
    world.Start(0);
    Instant limit = world.Now() + 600s;
    while (!done && world.Now() < limit) world.RunFor(100ms);
    EXPECT_TRUE(done) << "the test body did not finish within 600 virtual seconds";
  }
  std::string host() const override { return "10.0.0.1"; }
};

class PosixBackend final : public Backend {
 public:
  void Run(std::function<void(Env&)> body) override {
    std::string dir_template =
        (std::filesystem::temp_directory_path() / "apogee-conformance-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir_template.data()), nullptr);
    std::filesystem::path dir = dir_template;
    int rc = PosixEnv::RunMain("n1", dir.string(), body);
    std::filesystem::remove_all(dir);
    EXPECT_EQ(rc, 0) << "the test body did not finish";
  }
  std::string host() const override { return "127.0.0.1"; }
};

enum class Kind { kSim, kPosix };

class SeamTest : public ::testing::TestWithParam<Kind> {
 protected:
  void Run(std::function<void(Env&)> body) {
    std::unique_ptr<Backend> backend;
    if (GetParam() == Kind::kSim)
      backend = std::make_unique<SimBackend>();
    else
      backend = std::make_unique<PosixBackend>();
    host_ = backend->host();
    backend->Run(std::move(body));
  }
  std::string host_;
};

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = static_cast<uint8_t>(seed + i * 31 + (i >> 8));
  return v;
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// One connection to a server fiber: listens on a free port, runs `serve` on a fiber with the
// first connection accepted, and connects to it. `client` is null if any step failed (the
// failure is already recorded). The caller joins `server` before returning.
struct OneConnection {
  std::unique_ptr<Listener> listener;
  FiberHandle server;
  std::unique_ptr<Connection> client;
};

OneConnection ConnectToServer(Env& env, const std::string& host,
                              std::function<void(Connection&)> serve) {
  OneConnection one;
  auto listener = env.network.Listen(Address{"", 0});
  EXPECT_TRUE(listener.ok()) << listener.status().ToString();
  if (!listener.ok()) return one;
  one.listener = std::move(listener).value();
  uint16_t port = one.listener->LocalAddress().port;
  EXPECT_NE(port, 0);
  one.server = env.scheduler.Spawn("server", [l = one.listener.get(), serve = std::move(serve)] {
    auto conn = l->Accept();
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    serve(**conn);
  });
  auto client = env.network.Connect(Address{host, port}, 5s);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  if (client.ok()) one.client = std::move(client).value();
  return one;
}

// --- Timers and fibers ---

TEST_P(SeamTest, TimersFireInDeadlineOrder) {
  // Proves sleeps wake in deadline order, not spawn order, and take at least their duration.
  Run([](Env& env) {
    std::vector<int> order;
    Instant start = env.clock.Now();
    std::vector<FiberHandle> fibers;
    for (int ms : {30, 10, 20}) {
      fibers.push_back(env.scheduler.Spawn("sleeper", [&env, &order, ms] {
        env.scheduler.Sleep(std::chrono::milliseconds(ms));
        order.push_back(ms);
      }));
    }
    for (auto& f : fibers) EXPECT_EQ(f.Join(), WakeReason::kNotified);
    EXPECT_EQ(order, (std::vector<int>{10, 20, 30}));
    EXPECT_GE(env.clock.Now() - start, 30ms);
  });
}

TEST_P(SeamTest, ClocksAreSane) {
  // Proves Now() is monotonic across a sleep and WallNow() is a plausible calendar time.
  Run([](Env& env) {
    Instant a = env.clock.Now();
    env.scheduler.Sleep(5ms);
    Instant b = env.clock.Now();
    EXPECT_GE(b - a, 5ms);
    // After 2020-01-01: both backends report Unix-epoch wall time.
    EXPECT_GT(env.clock.WallNow().time_since_epoch(), std::chrono::seconds(1577836800));
  });
}

TEST_P(SeamTest, PrimitivesHandOffBetweenFibers) {
  // Proves channel, mutex, future and event block and wake fibers correctly on this backend.
  Run([](Env& env) {
    Runtime& rt = env.scheduler.runtime();
    Channel<int> ch(rt, 4);
    int received_sum = 0;
    FiberHandle producer = env.scheduler.Spawn("producer", [&] {
      for (int i = 1; i <= 100; i++) ASSERT_TRUE(ch.Send(i).ok());
      ch.Close();
    });
    FiberHandle consumer = env.scheduler.Spawn("consumer", [&] {
      for (;;) {
        Result<int> r = ch.Recv();
        if (!r.ok()) {
          EXPECT_EQ(r.code(), ErrorCode::kClosed);
          return;
        }
        received_sum += *r;
      }
    });
    producer.Join();
    consumer.Join();
    EXPECT_EQ(received_sum, 5050);

    Mutex mu(rt);
    int in_critical = 0;
    int max_in_critical = 0;
    std::vector<FiberHandle> lockers;
    for (int i = 0; i < 4; i++) {
      lockers.push_back(env.scheduler.Spawn("locker", [&] {
        for (int k = 0; k < 5; k++) {
          MutexLock lock(mu);
          ASSERT_TRUE(lock.ok());
          in_critical++;
          max_in_critical = std::max(max_in_critical, in_critical);
          env.scheduler.Sleep(1ms);  // yields while holding the lock
          in_critical--;
        }
      }));
    }
    for (auto& f : lockers) f.Join();
    EXPECT_EQ(max_in_critical, 1);

    Promise<std::string> promise(rt);
    Future<std::string> future = promise.GetFuture();
    FiberHandle setter = env.scheduler.Spawn("setter", [&] {
      env.scheduler.Sleep(2ms);
      promise.SetValue("ready");
    });
    Result<std::string> value = future.Get(env.scheduler.After(10s));
    ASSERT_TRUE(value.ok());
    EXPECT_EQ(*value, "ready");
    setter.Join();

    Event event(rt);
    EXPECT_EQ(event.Wait(env.scheduler.After(3ms)).code(), ErrorCode::kTimeout);
    FiberHandle signal = env.scheduler.Spawn("signal", [&] { event.Set(); });
    EXPECT_TRUE(event.Wait(env.scheduler.After(10s)).ok());
    signal.Join();
  });
}

// --- Network ---

TEST_P(SeamTest, TcpEchoWithPartialReads) {
  // Proves a stream carries every byte once and in order, and that reads may return less than
  // asked, so callers must loop (the simulator does it on purpose, TCP does it by nature).
  Run([this](Env& env) {
    OneConnection one = ConnectToServer(env, host_, [](Connection& conn) {
      std::vector<uint8_t> buf(16 * 1024);
      for (;;) {
        Result<size_t> n = conn.Read(buf);
        ASSERT_TRUE(n.ok()) << n.status().ToString();
        if (*n == 0) break;
        ASSERT_TRUE(conn.Write(std::span(buf).first(*n)).ok());
      }
      conn.Close();
    });
    ASSERT_NE(one.client, nullptr);
    Connection* conn = one.client.get();
    const std::vector<uint8_t> sent = Pattern(512 * 1024, 3);
    FiberHandle writer = env.scheduler.Spawn("writer", [&] {
      for (size_t at = 0; at < sent.size(); at += 8192) {
        ASSERT_TRUE(conn->Write(std::span(sent).subspan(at, 8192)).ok());
      }
    });
    std::vector<uint8_t> got;
    size_t short_reads = 0;
    std::vector<uint8_t> buf(64 * 1024);
    while (got.size() < sent.size()) {
      Result<size_t> n = conn->Read(buf);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      ASSERT_GT(*n, 0u);
      if (*n < buf.size() && got.size() + *n < sent.size()) short_reads++;
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<ptrdiff_t>(*n));
    }
    writer.Join();
    EXPECT_EQ(got, sent);
    EXPECT_GT(short_reads, 0u);
    conn->Close();
    one.server.Join();
  });
}

TEST_P(SeamTest, CloseDeliversDataThenEndOfStream) {
  // Proves an orderly close lets the peer read everything written, then end of stream (0).
  Run([this](Env& env) {
    OneConnection one = ConnectToServer(env, host_, [](Connection& conn) {
      ASSERT_TRUE(conn.Write(Bytes("hello")).ok());
      conn.Close();
    });
    ASSERT_NE(one.client, nullptr);
    Connection* conn = one.client.get();
    uint8_t buf[5];
    ASSERT_TRUE(conn->ReadFull(buf).ok());
    EXPECT_EQ(std::string(buf, buf + 5), "hello");
    Result<size_t> eof = conn->Read(buf);
    ASSERT_TRUE(eof.ok()) << eof.status().ToString();
    EXPECT_EQ(*eof, 0u);
    EXPECT_EQ(conn->ReadFull(buf).code(), ErrorCode::kClosed);
    one.server.Join();
  });
}

TEST_P(SeamTest, ResetIsSeenAsConnectionReset) {
  // Proves an abortive close reaches the peer as kConnectionReset, not as end of stream.
  Run([this](Env& env) {
    Event accepted(env.scheduler.runtime());
    OneConnection one = ConnectToServer(env, host_, [&accepted](Connection& conn) {
      conn.Reset();
      accepted.Set();
    });
    ASSERT_NE(one.client, nullptr);
    Connection* conn = one.client.get();
    ASSERT_TRUE(accepted.Wait().ok());
    uint8_t buf[16];
    Result<size_t> n = conn->Read(buf, env.scheduler.After(10s));
    EXPECT_EQ(n.code(), ErrorCode::kConnectionReset) << n.status().ToString();
    one.server.Join();
  });
}

TEST_P(SeamTest, CloseWakesBlockedReader) {
  // Proves closing a connection wakes this side's fiber blocked in Read with kClosed.
  Run([this](Env& env) {
    Event done(env.scheduler.runtime());
    // The server keeps its end open until the client is finished.
    OneConnection one =
        ConnectToServer(env, host_, [&done](Connection&) { ASSERT_TRUE(done.Wait().ok()); });
    ASSERT_NE(one.client, nullptr);
    Connection* conn = one.client.get();
    ErrorCode seen = ErrorCode::kOk;
    FiberHandle reader = env.scheduler.Spawn("reader", [&] {
      uint8_t buf[8];
      seen = conn->Read(buf).code();
    });
    env.scheduler.Sleep(5ms);
    EXPECT_FALSE(reader.done());
    conn->Close();
    reader.Join();
    EXPECT_EQ(seen, ErrorCode::kClosed);
    done.Set();
    one.server.Join();
  });
}

TEST_P(SeamTest, DestroyingAConnectionWakesItsBlockedReader) {
  // Proves one fiber may destroy a connection while another waits in Read on it: the reader
  // wakes with kClosed and touches no freed memory (ASan builds check the latter).
  Run([this](Env& env) {
    Event done(env.scheduler.runtime());
    OneConnection one =
        ConnectToServer(env, host_, [&done](Connection&) { ASSERT_TRUE(done.Wait().ok()); });
    ASSERT_NE(one.client, nullptr);
    std::unique_ptr<Connection> conn = std::move(one.client);
    ErrorCode seen = ErrorCode::kOk;
    FiberHandle reader = env.scheduler.Spawn("reader", [&, c = conn.get()] {
      uint8_t buf[8];
      seen = c->Read(buf).code();
    });
    env.scheduler.Sleep(5ms);
    EXPECT_FALSE(reader.done());
    conn.reset();
    reader.Join();
    EXPECT_EQ(seen, ErrorCode::kClosed);
    done.Set();
    one.server.Join();
  });
}

TEST_P(SeamTest, DestroyingAListenerWakesItsBlockedAccept) {
  // Proves one fiber may destroy a listener while another waits in Accept: the acceptor wakes
  // with kClosed and touches no freed memory.
  Run([](Env& env) {
    auto listened = env.network.Listen(Address{"", 0});
    ASSERT_TRUE(listened.ok());
    std::unique_ptr<Listener> listener = std::move(listened).value();
    ErrorCode seen = ErrorCode::kOk;
    FiberHandle acceptor =
        env.scheduler.Spawn("acceptor", [&, l = listener.get()] { seen = l->Accept().code(); });
    env.scheduler.Sleep(5ms);
    EXPECT_FALSE(acceptor.done());
    listener.reset();
    acceptor.Join();
    EXPECT_EQ(seen, ErrorCode::kClosed);
  });
}

TEST_P(SeamTest, ReadDeadlineTimesOutAndConnectionSurvives) {
  // Proves a read deadline returns kTimeout and leaves the connection usable.
  Run([this](Env& env) {
    Event go(env.scheduler.runtime());
    OneConnection one = ConnectToServer(env, host_, [&go](Connection& conn) {
      ASSERT_TRUE(go.Wait().ok());
      ASSERT_TRUE(conn.Write(Bytes("late")).ok());
      conn.Close();
    });
    ASSERT_NE(one.client, nullptr);
    Connection* conn = one.client.get();
    uint8_t buf[4];
    EXPECT_EQ(conn->Read(buf, env.scheduler.After(10ms)).code(), ErrorCode::kTimeout);
    go.Set();
    ASSERT_TRUE(conn->ReadFull(buf, env.scheduler.After(10s)).ok());
    EXPECT_EQ(std::string(buf, buf + 4), "late");
    one.server.Join();
  });
}

TEST_P(SeamTest, ConnectToClosedPortIsRefused) {
  // Proves connecting where nothing listens fails with kConnectionRefused.
  Run([this](Env& env) {
    auto listener = env.network.Listen(Address{"", 0});
    ASSERT_TRUE(listener.ok());
    uint16_t port = (*listener)->LocalAddress().port;
    (*listener)->Close();
    auto conn = env.network.Connect(Address{host_, port}, 5s);
    EXPECT_EQ(conn.code(), ErrorCode::kConnectionRefused) << conn.status().ToString();
  });
}

TEST_P(SeamTest, ListenOnBusyPortFails) {
  // Proves a second listener on a taken port gets kAddressInUse.
  Run([](Env& env) {
    auto first = env.network.Listen(Address{"", 0});
    ASSERT_TRUE(first.ok());
    auto second = env.network.Listen(Address{"", (*first)->LocalAddress().port});
    EXPECT_EQ(second.code(), ErrorCode::kAddressInUse) << second.status().ToString();
  });
}

// --- Disk ---

TEST_P(SeamTest, FileWriteSyncReadTruncate) {
  // Proves positional writes, appends, sync, reads (short at end of file), and truncation.
  Run([](Env& env) {
    auto file = env.disk.Open("data.bin", OpenOptions{.create = true});
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    ASSERT_TRUE((*file)->WriteAt(0, Bytes("hello world")).ok());
    Result<uint64_t> at = (*file)->Append(Bytes("!!"));
    ASSERT_TRUE(at.ok());
    EXPECT_EQ(*at, 11u);
    ASSERT_TRUE((*file)->Sync().ok());
    ASSERT_TRUE((*file)->DataSync().ok());
    EXPECT_EQ(*(*file)->Size(), 13u);
    uint8_t buf[32];
    Result<size_t> n = (*file)->ReadAt(6, buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::string(buf, buf + *n), "world!!");
    EXPECT_EQ(*(*file)->ReadAt(13, buf), 0u);
    EXPECT_EQ(*(*file)->ReadAt(100, buf), 0u);
    // A write past the end leaves zeros in the gap.
    ASSERT_TRUE((*file)->WriteAt(16, Bytes("x")).ok());
    n = (*file)->ReadAt(13, buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::vector<uint8_t>(buf, buf + *n), (std::vector<uint8_t>{0, 0, 0, 'x'}));
    ASSERT_TRUE((*file)->Truncate(5).ok());
    EXPECT_EQ(*(*file)->Size(), 5u);
    ASSERT_TRUE((*file)->Truncate(8).ok());
    n = (*file)->ReadAt(0, buf);
    EXPECT_EQ(std::vector<uint8_t>(buf, buf + *n),
              (std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o', 0, 0, 0}));
    ASSERT_TRUE((*file)->Close().ok());
    EXPECT_EQ((*file)->ReadAt(0, buf).code(), ErrorCode::kBadFile);
    auto reopened = env.disk.ReadAll("data.bin");
    ASSERT_TRUE(reopened.ok());
    EXPECT_EQ(reopened->size(), 8u);
  });
}

TEST_P(SeamTest, DirectoriesListRenameRemove) {
  // Proves directory creation, sorted listing, atomic rename over a target, removal rules.
  Run([](Env& env) {
    ASSERT_TRUE(env.disk.MakeDirs("a/b").ok());
    ASSERT_TRUE(env.disk.MakeDirs("a/b").ok());  // idempotent
    for (const char* name : {"a/b/z", "a/b/m", "a/b/c"}) {
      auto f = env.disk.Open(name, OpenOptions{.create = true});
      ASSERT_TRUE(f.ok()) << name;
      ASSERT_TRUE((*f)->Append(Bytes(name)).ok());
    }
    ASSERT_TRUE(env.disk.SyncDir("a/b").ok());
    auto names = env.disk.List("a/b");
    ASSERT_TRUE(names.ok());
    EXPECT_EQ(*names, (std::vector<std::string>{"c", "m", "z"}));
    ASSERT_TRUE(env.disk.Rename("a/b/z", "a/b/c").ok());  // replaces c
    ASSERT_TRUE(env.disk.SyncDir("a/b").ok());
    EXPECT_EQ(*env.disk.List("a/b"), (std::vector<std::string>{"c", "m"}));
    auto c = env.disk.ReadAll("a/b/c");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(std::string(c->begin(), c->end()), "a/b/z");
    EXPECT_EQ(env.disk.Remove("a/b").code(), ErrorCode::kDirectoryNotEmpty);
    ASSERT_TRUE(env.disk.Remove("a/b/c").ok());
    ASSERT_TRUE(env.disk.Remove("a/b/m").ok());
    ASSERT_TRUE(env.disk.Remove("a/b").ok());
    EXPECT_FALSE(*env.disk.Exists("a/b"));
    EXPECT_TRUE(*env.disk.Exists("a"));
    std::vector<uint8_t> payload = Pattern(1000, 9);
    ASSERT_TRUE(env.disk.WriteAtomically("a/config", payload).ok());
    EXPECT_EQ(*env.disk.ReadAll("a/config"), payload);
    auto space = env.disk.Space();
    ASSERT_TRUE(space.ok());
    EXPECT_GT(space->capacity_bytes, 0u);
    EXPECT_LE(space->free_bytes, space->capacity_bytes);
  });
}

TEST_P(SeamTest, MissingFilesAndConflictsAreErrors) {
  // Proves each expected failure comes back as its own error code, never as a crash.
  Run([](Env& env) {
    EXPECT_EQ(env.disk.Open("missing", OpenOptions{}).code(), ErrorCode::kNotFound);
    EXPECT_EQ(env.disk.Open("no/such/dir/f", OpenOptions{.create = true}).code(),
              ErrorCode::kNotFound);
    EXPECT_EQ(env.disk.Rename("missing", "other").code(), ErrorCode::kNotFound);
    EXPECT_EQ(env.disk.Remove("missing").code(), ErrorCode::kNotFound);
    EXPECT_EQ(env.disk.List("missing").code(), ErrorCode::kNotFound);
    EXPECT_EQ(env.disk.ReadAll("missing").code(), ErrorCode::kNotFound);
    EXPECT_EQ(env.disk.Open("../escape", OpenOptions{.create = true}).code(),
              ErrorCode::kInvalidArgument);
    auto f = env.disk.Open("once", OpenOptions{.create = true, .exclusive = true});
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(env.disk.Open("once", OpenOptions{.create = true, .exclusive = true}).code(),
              ErrorCode::kAlreadyExists);
    auto ro = env.disk.Open("once", OpenOptions{.read_only = true});
    ASSERT_TRUE(ro.ok());
    EXPECT_FALSE((*ro)->WriteAt(0, Bytes("x")).ok());
    ASSERT_TRUE(env.disk.MakeDirs("d").ok());
    EXPECT_EQ(env.disk.Open("d", OpenOptions{}).code(), ErrorCode::kIsADirectory);
    EXPECT_EQ(env.disk.MakeDirs("once").code(), ErrorCode::kNotADirectory);
    EXPECT_EQ(env.disk.MakeDirs("once/sub").code(), ErrorCode::kNotADirectory);
    EXPECT_EQ(env.disk.Rename("d", "d/inside").code(), ErrorCode::kInvalidArgument);
    // Far beyond any file: reads find nothing; a write that far cannot grow the file.
    uint8_t buf[4];
    Result<size_t> far_read = (*f)->ReadAt(uint64_t{1} << 62, buf);
    ASSERT_TRUE(far_read.ok()) << far_read.status().ToString();
    EXPECT_EQ(*far_read, 0u);
    EXPECT_EQ((*f)->WriteAt(uint64_t{1} << 62, Bytes("x")).code(), ErrorCode::kNoSpace);
  });
}

INSTANTIATE_TEST_SUITE_P(, SeamTest, ::testing::Values(Kind::kSim, Kind::kPosix),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           return info.param == Kind::kSim ? "Sim" : "Posix";
                         });

}  // namespace
}  // namespace apogee::io
