#include "sim/sim_network.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/bytes.h"
#include "core/io/network.h"
#include "core/io/runtime.h"
#include "sim/kernel.h"
#include "sim/world.h"

namespace apogee::sim {
namespace {

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Status WriteString(io::Connection& c, std::string_view s, Deadline deadline = {}) {
  return c.Write(AsBytes(s), deadline);
}

// Reads until `want` bytes arrived, the stream ended or an error came.
Result<std::string> ReadString(io::Connection& c, size_t want, Deadline deadline = {}) {
  std::string got;
  std::vector<uint8_t> buf(want);
  while (got.size() < want) {
    Result<size_t> n = c.Read(std::span(buf.data(), want - got.size()), deadline);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    got.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return got;
}

NetworkOptions FixedLatency(Duration latency) {
  NetworkOptions options;
  options.latency_min = latency;
  options.latency_max = latency;
  return options;
}

struct Pair {
  std::unique_ptr<io::Connection> client;
  std::unique_ptr<io::Connection> server;
};

// A kernel, a network on it and a scheduler for the test's fibers. The network is destroyed
// before the kernel, so fibers still parked at the end unwind with handles that outlive it.
struct Sim {
  explicit Sim(uint64_t seed, NetworkOptions options = {})
      : kernel(seed),
        net(kernel, options),
        sched(kernel.runtime(), kernel.runtime().NewGroup("test")) {}

  Instant Now() { return kernel.runtime().Now(); }
  Deadline After(Duration d) { return Now() + d; }

  // Runs `fn` on a fiber until it returns (at most a minute of virtual time).
  void Run(std::function<void()> fn) {
    io::FiberHandle fiber = sched.Spawn("run", std::move(fn));
    Instant limit = Now() + std::chrono::minutes(1);
    while (!fiber.done() && Now() < limit) kernel.RunFor(100us);
    ASSERT_TRUE(fiber.done()) << "fiber did not finish";
  }

  // Connects `client` to `listener` and accepts the connection.
  Pair Connect(io::Network& client, io::Listener& listener) {
    Pair pair;
    Run([&] {
      auto c = client.Connect(listener.LocalAddress(), 1s);
      ASSERT_TRUE(c.ok()) << c.status().ToString();
      auto s = listener.Accept(After(1s));
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      pair.client = std::move(*c);
      pair.server = std::move(*s);
    });
    return pair;
  }

  Kernel kernel;
  SimNetwork net;
  io::Scheduler sched;
};

TEST(SimNetworkTest, EchoWithPartialReads) {
  // Proves: bytes come back intact through an echo server, and that reads are cut into chunks
  // that do not follow write boundaries when chunking is on (and follow them when it is off).
  for (double chunk : {0.3, 0.0}) {
    NetworkOptions options;
    options.chunk_probability = chunk;
    Sim sim(42, options);
    auto server_net = sim.net.Attach("10.0.0.1");
    auto client_net = sim.net.Attach("10.0.0.2");
    std::vector<size_t> server_reads;
    std::string sent;
    std::string echoed;
    sim.sched.Spawn("echo", [&] {
      auto listener = server_net->Listen({"", 9876});
      ASSERT_TRUE(listener.ok());
      auto conn = (*listener)->Accept();
      ASSERT_TRUE(conn.ok());
      std::vector<uint8_t> buf(64 * 1024);
      for (;;) {
        auto n = (*conn)->Read(buf);
        ASSERT_TRUE(n.ok()) << n.status().ToString();
        if (*n == 0) break;
        server_reads.push_back(*n);
        ASSERT_TRUE((*conn)->Write(std::span(buf.data(), *n)).ok());
      }
    });
    sim.Run([&] {
      auto conn = client_net->Connect({"10.0.0.1", 9876}, 1s);
      ASSERT_TRUE(conn.ok()) << conn.status().ToString();
      for (int i = 0; i < 200; i++) {
        std::string message(100, static_cast<char>('a' + i % 26));
        ASSERT_TRUE(WriteString(**conn, message).ok());
        sent += message;
      }
      auto got = ReadString(**conn, sent.size());
      ASSERT_TRUE(got.ok());
      echoed = *got;
      (*conn)->Close();
    });
    sim.kernel.RunFor(1s);
    EXPECT_EQ(echoed, sent);
    size_t cut = 0;
    for (size_t n : server_reads) cut += n % 100 != 0 ? 1 : 0;
    if (chunk > 0) {
      EXPECT_GT(cut, 0u) << "no read was cut short";
    } else {
      EXPECT_EQ(cut, 0u) << "a read was cut short with chunking off";
    }
    EXPECT_EQ(sim.net.live_connections(), 0u);
  }
}

TEST(SimNetworkTest, ManyWritesArriveInOrderDespiteRandomLatency) {
  // Proves: per-direction FIFO holds when every message draws its own latency from a wide range.
  NetworkOptions options;
  options.latency_min = 1us;
  options.latency_max = 20ms;
  Sim sim(7, options);
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto listener = b->Listen({"b", 1});
  ASSERT_TRUE(listener.ok());
  Pair pair = sim.Connect(*a, **listener);
  constexpr uint32_t kCount = 3000;
  sim.sched.Spawn("writer", [&] {
    for (uint32_t i = 0; i < kCount; i++) {
      uint8_t word[4];
      PutU32(word, i);
      ASSERT_TRUE(pair.client->Write(word).ok());
      if (i % 100 == 99) sim.sched.Sleep(3ms);
    }
  });
  uint32_t next = 0;
  sim.Run([&] {
    for (; next < kCount; next++) {
      uint8_t word[4];
      ASSERT_TRUE(pair.server->ReadFull(word).ok());
      ASSERT_EQ(GetU32(word), next) << "out of order";
    }
  });
  EXPECT_EQ(next, kCount);
  EXPECT_EQ(sim.net.stats().writes, kCount);
  EXPECT_EQ(sim.net.stats().deliveries, kCount);
}

TEST(SimNetworkTest, OrderlyCloseGivesEndOfStreamAfterData) {
  // Proves: after the peer's Close() the reader gets all data, then 0 (again and again), and the
  // closing side's own calls fail with kClosed.
  Sim sim(3);
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto listener = b->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  Pair pair = sim.Connect(*a, **listener);
  sim.Run([&] {
    ASSERT_TRUE(WriteString(*pair.client, "hello ").ok());
    ASSERT_TRUE(WriteString(*pair.client, "world").ok());
    pair.client->Close();
    uint8_t buf[8];
    EXPECT_EQ(pair.client->Read(buf).code(), ErrorCode::kClosed);
    EXPECT_EQ(WriteString(*pair.client, "x").code(), ErrorCode::kClosed);
  });
  sim.Run([&] {
    auto got = ReadString(*pair.server, 100);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "hello world");
    uint8_t buf[8];
    auto n = pair.server->Read(buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u);
    n = pair.server->Read(buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u);
  });
}

TEST(SimNetworkTest, ResetGivesPeerConnectionResetAndDropsUnreadData) {
  // Proves: Reset() is abortive: after one latency the peer's unread data is gone and its reads
  // and writes fail with kConnectionReset, while the resetting side gets kClosed.
  Sim sim(4, FixedLatency(1ms));
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto listener = b->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  Pair pair = sim.Connect(*a, **listener);
  sim.Run([&] { ASSERT_TRUE(WriteString(*pair.client, "unread").ok()); });
  sim.kernel.RunFor(5ms);  // delivered, not read
  pair.client->Reset();
  uint8_t buf[8];
  sim.Run([&] { EXPECT_EQ(pair.client->Read(buf).code(), ErrorCode::kClosed); });
  sim.kernel.RunFor(5ms);
  sim.Run([&] {
    EXPECT_EQ(pair.server->Read(buf).code(), ErrorCode::kConnectionReset);
    EXPECT_EQ(WriteString(*pair.server, "x").code(), ErrorCode::kConnectionReset);
  });
  EXPECT_EQ(sim.net.stats().resets, 1u);
  EXPECT_EQ(sim.net.live_connections(), 0u);
}

TEST(SimNetworkTest, WriteToClosedPeerIsAnsweredWithReset) {
  // Proves: data arriving at a side that was closed is dropped and answered with an RST, so the
  // writer learns the peer is gone (after first reading the peer's end of stream).
  Sim sim(5, FixedLatency(1ms));
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto listener = b->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  Pair pair = sim.Connect(*a, **listener);
  pair.client->Close();
  sim.kernel.RunFor(5ms);
  uint8_t buf[8];
  sim.Run([&] {
    auto n = pair.server->Read(buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u);
    ASSERT_TRUE(WriteString(*pair.server, "late").ok());
    sim.sched.Sleep(5ms);
    EXPECT_EQ(pair.server->Read(buf).code(), ErrorCode::kConnectionReset);
  });
}

TEST(SimNetworkTest, CloseWakesOwnBlockedReaderWithClosed) {
  // Proves: Close() on a side wakes that side's fiber blocked in Read() at once with kClosed,
  // and the peer then reads end of stream.
  Sim sim(6, FixedLatency(1ms));
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto listener = b->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  Pair pair = sim.Connect(*a, **listener);
  Status read_status;
  Instant woke{};
  sim.sched.Spawn("reader", [&] {
    uint8_t buf[8];
    read_status = pair.server->Read(buf).status();
    woke = sim.Now();
  });
  sim.kernel.RunFor(10ms);
  EXPECT_TRUE(read_status.ok());  // still blocked
  Instant closed_at = sim.Now();
  pair.server->Close();
  sim.kernel.RunFor(10ms);
  EXPECT_EQ(read_status.code(), ErrorCode::kClosed);
  EXPECT_EQ(woke, closed_at);
  sim.Run([&] {
    uint8_t buf[8];
    auto n = pair.client->Read(buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u);
  });
}

TEST(SimNetworkTest, ReadDeadlineTimesOutAndConnectionStaysUsable) {
  // Proves: a read deadline gives kTimeout at the deadline and leaves the connection working.
  Sim sim(8);
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto listener = b->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  Pair pair = sim.Connect(*a, **listener);
  sim.Run([&] {
    uint8_t buf[8];
    Instant start = sim.Now();
    auto n = pair.server->Read(buf, sim.After(10ms));
    EXPECT_EQ(n.code(), ErrorCode::kTimeout);
    EXPECT_EQ(sim.Now(), start + 10ms);
  });
  sim.Run([&] {
    ASSERT_TRUE(WriteString(*pair.client, "still here").ok());
    auto got = ReadString(*pair.server, 10, sim.After(1s));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "still here");
    ASSERT_TRUE(WriteString(*pair.server, "pong").ok());
    got = ReadString(*pair.client, 4, sim.After(1s));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "pong");
  });
}

TEST(SimNetworkTest, ConnectTakesARoundTripAndRefusedWithoutListener) {
  // Proves: a connect completes after two one-way latencies; without a listener on the port it
  // fails with kConnectionRefused after the same round trip.
  Sim sim(9, FixedLatency(1ms));
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto listener = b->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  sim.Run([&] {
    Instant start = sim.Now();
    auto ok = a->Connect({"b", 80}, 1s);
    EXPECT_TRUE(ok.ok());
    EXPECT_EQ(sim.Now(), start + 2ms);
    start = sim.Now();
    auto refused = a->Connect({"b", 81}, 1s);
    EXPECT_EQ(refused.code(), ErrorCode::kConnectionRefused);
    EXPECT_EQ(sim.Now(), start + 2ms);
  });
  EXPECT_EQ(sim.net.stats().connects, 1u);
  EXPECT_EQ(sim.net.stats().refused, 1u);
}

TEST(SimNetworkTest, ConnectToUnknownHostIsUnreachable) {
  // Proves: a connect to a host nobody attached fails with kHostUnreachable after one latency.
  Sim sim(10, FixedLatency(1ms));
  auto a = sim.net.Attach("a");
  sim.Run([&] {
    Instant start = sim.Now();
    auto c = a->Connect({"10.9.9.9", 80}, 1s);
    EXPECT_EQ(c.code(), ErrorCode::kHostUnreachable);
    EXPECT_EQ(sim.Now(), start + 1ms);
  });
}

TEST(SimNetworkTest, AcceptReturnsConnectionsInArrivalOrder) {
  // Proves: Accept() hands out connections in the order their SYNs arrived.
  Sim sim(11, FixedLatency(1ms));
  auto server = sim.net.Attach("s");
  auto listener = server->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  std::vector<std::unique_ptr<io::Network>> clients;
  for (std::string host : {"c1", "c2", "c3"}) clients.push_back(sim.net.Attach(host));
  std::vector<std::unique_ptr<io::Connection>> held;
  for (size_t i = 0; i < clients.size(); i++) {
    sim.sched.Spawn("client", [&, i] {
      sim.sched.Sleep(Duration(5ms) * static_cast<int>(3 - i));  // c3 first, c1 last
      auto c = clients[i]->Connect({"s", 80}, 1s);
      ASSERT_TRUE(c.ok());
      held.push_back(std::move(*c));
    });
  }
  sim.kernel.RunFor(100ms);
  std::vector<std::string> order;
  sim.Run([&] {
    for (int i = 0; i < 3; i++) {
      auto c = (*listener)->Accept(sim.After(1s));
      ASSERT_TRUE(c.ok());
      order.push_back((*c)->PeerAddress().host);
    }
  });
  EXPECT_EQ(order, (std::vector<std::string>{"c3", "c2", "c1"}));
}

TEST(SimNetworkTest, SymmetricPartitionHoldsDataBothWaysUntilHealed) {
  // Proves: a partition blocks both directions without losing data: reads time out, and the
  // held bytes arrive in order after the heal.
  NetworkOptions options = FixedLatency(1ms);
  options.partition_reset_probability = 0;
  Sim sim(12, options);
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto listener = b->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  Pair pair = sim.Connect(*a, **listener);
  sim.net.Partition("a", "b");
  EXPECT_TRUE(sim.net.Blocked("a", "b"));
  EXPECT_TRUE(sim.net.Blocked("b", "a"));
  sim.Run([&] {
    ASSERT_TRUE(WriteString(*pair.client, "ping1").ok());
    ASSERT_TRUE(WriteString(*pair.client, "ping2").ok());
    ASSERT_TRUE(WriteString(*pair.server, "pong").ok());
    uint8_t buf[8];
    EXPECT_EQ(pair.server->Read(buf, sim.After(100ms)).code(), ErrorCode::kTimeout);
    EXPECT_EQ(pair.client->Read(buf, sim.After(100ms)).code(), ErrorCode::kTimeout);
  });
  Instant healed = sim.Now();
  sim.net.Heal("a", "b");
  EXPECT_FALSE(sim.net.Blocked("a", "b"));
  sim.Run([&] {
    auto got = ReadString(*pair.server, 10, sim.After(1s));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "ping1ping2");
    got = ReadString(*pair.client, 4, sim.After(1s));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "pong");
    EXPECT_GE(sim.Now(), healed + 1ms);
  });
  EXPECT_EQ(sim.net.stats().resets, 0u);
}

TEST(SimNetworkTest, AsymmetricPartitionBlocksOneDirectionOnly) {
  // Proves: PartitionOneWay(a, b) holds a -> b traffic while b -> a keeps flowing.
  NetworkOptions options = FixedLatency(1ms);
  options.partition_reset_probability = 0;
  Sim sim(13, options);
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto listener = b->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  Pair pair = sim.Connect(*a, **listener);
  sim.net.PartitionOneWay("a", "b");
  EXPECT_TRUE(sim.net.Blocked("a", "b"));
  EXPECT_FALSE(sim.net.Blocked("b", "a"));
  sim.Run([&] {
    ASSERT_TRUE(WriteString(*pair.client, "held").ok());
    ASSERT_TRUE(WriteString(*pair.server, "flows").ok());
    auto got = ReadString(*pair.client, 5, sim.After(100ms));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "flows");
    uint8_t buf[8];
    EXPECT_EQ(pair.server->Read(buf, sim.After(100ms)).code(), ErrorCode::kTimeout);
  });
  sim.net.HealAll();
  sim.Run([&] {
    auto got = ReadString(*pair.server, 4, sim.After(1s));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "held");
  });
}

TEST(SimNetworkTest, IsolateCutsOneHostFromAllOthers) {
  // Proves: Isolate(b) blocks b's links in both directions with every other host, connects to b
  // time out (never refused), other links keep working, and HealAll releases the held data.
  NetworkOptions options = FixedLatency(1ms);
  options.partition_reset_probability = 0;
  Sim sim(14, options);
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto c = sim.net.Attach("c");
  auto lb = b->Listen({"", 80});
  auto lc = c->Listen({"", 80});
  ASSERT_TRUE(lb.ok());
  ASSERT_TRUE(lc.ok());
  Pair ab = sim.Connect(*a, **lb);
  Pair ac = sim.Connect(*a, **lc);
  sim.net.Isolate("b");
  EXPECT_TRUE(sim.net.Blocked("a", "b"));
  EXPECT_TRUE(sim.net.Blocked("b", "c"));
  EXPECT_FALSE(sim.net.Blocked("a", "c"));
  sim.Run([&] {
    ASSERT_TRUE(WriteString(*ab.client, "to b").ok());
    ASSERT_TRUE(WriteString(*ac.client, "to c").ok());
    auto got = ReadString(*ac.server, 4, sim.After(100ms));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "to c");
    uint8_t buf[8];
    EXPECT_EQ(ab.server->Read(buf, sim.After(100ms)).code(), ErrorCode::kTimeout);
    Instant start = sim.Now();
    auto timed_out = c->Connect({"b", 80}, 200ms);
    EXPECT_EQ(timed_out.code(), ErrorCode::kTimeout);
    EXPECT_EQ(sim.Now(), start + 200ms);
  });
  EXPECT_EQ(sim.net.stats().connect_timeouts, 1u);
  sim.net.HealAll();
  sim.Run([&] {
    auto got = ReadString(*ab.server, 4, sim.After(1s));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "to b");
  });
}

TEST(SimNetworkTest, ConnectAcrossPartitionCompletesWhenHealedInTime) {
  // Proves: a SYN held by a partition is sent again on heal, so the connect completes if the
  // heal comes before the caller's timeout.
  NetworkOptions options = FixedLatency(1ms);
  Sim sim(15, options);
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto listener = b->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  sim.net.Partition("a", "b");
  Status status(ErrorCode::kInternal, "not finished");
  Instant done{};
  sim.sched.Spawn("connect", [&] {
    auto conn = a->Connect({"b", 80}, 1s);
    status = conn.status();
    done = sim.Now();
  });
  sim.kernel.RunFor(300ms);
  EXPECT_EQ(status.code(), ErrorCode::kInternal);  // still waiting
  Instant healed = sim.Now();
  sim.net.Heal("a", "b");
  sim.kernel.RunFor(100ms);
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(done, healed + 2ms);
}

TEST(SimNetworkTest, PartitionResetsConnectionsAcrossItByProbability) {
  // Proves: when a partition starts, each connection across it is reset with the configured
  // probability (all at 1, none at 0), and connections elsewhere are untouched.
  for (double p : {1.0, 0.0}) {
    NetworkOptions options = FixedLatency(1ms);
    options.partition_reset_probability = p;
    Sim sim(16, options);
    auto a = sim.net.Attach("a");
    auto b = sim.net.Attach("b");
    auto c = sim.net.Attach("c");
    auto lb = b->Listen({"", 80});
    auto lc = c->Listen({"", 80});
    ASSERT_TRUE(lb.ok());
    ASSERT_TRUE(lc.ok());
    Pair ab1 = sim.Connect(*a, **lb);
    Pair ab2 = sim.Connect(*a, **lb);
    Pair ac = sim.Connect(*a, **lc);
    sim.net.Partition("a", "b");
    sim.Run([&] {
      uint8_t buf[8];
      ErrorCode want = p > 0 ? ErrorCode::kConnectionReset : ErrorCode::kTimeout;
      EXPECT_EQ(ab1.client->Read(buf, sim.After(10ms)).code(), want);
      EXPECT_EQ(ab1.server->Read(buf, sim.After(10ms)).code(), want);
      EXPECT_EQ(ab2.server->Read(buf, sim.After(10ms)).code(), want);
      EXPECT_EQ(ac.client->Read(buf, sim.After(10ms)).code(), ErrorCode::kTimeout);
      ASSERT_TRUE(WriteString(*ac.client, "ok").ok());
      auto got = ReadString(*ac.server, 2, sim.After(1s));
      ASSERT_TRUE(got.ok());
      EXPECT_EQ(*got, "ok");
    });
    EXPECT_EQ(sim.net.stats().resets, p > 0 ? 4u : 0u);
  }
}

TEST(SimNetworkTest, ClogDelaysTrafficWithoutResetting) {
  // Proves: Clog(a, b, d) delays a -> b messages until its end, leaves b -> a alone, and resets
  // nothing.
  Sim sim(17, FixedLatency(1ms));
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto listener = b->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  Pair pair = sim.Connect(*a, **listener);
  Instant clogged = sim.Now();
  sim.net.Clog("a", "b", 50ms);
  sim.Run([&] {
    ASSERT_TRUE(WriteString(*pair.client, "slow").ok());
    ASSERT_TRUE(WriteString(*pair.server, "fast").ok());
    auto got = ReadString(*pair.client, 4, sim.After(1s));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "fast");
    EXPECT_EQ(sim.Now(), clogged + 1ms);
    got = ReadString(*pair.server, 4, sim.After(1s));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "slow");
    EXPECT_EQ(sim.Now(), clogged + 50ms);
  });
  EXPECT_EQ(sim.net.stats().resets, 0u);
}

TEST(SimNetworkTest, ResetConnectionsAbortsOnlyThatPair) {
  // Proves: ResetConnections(a, b) aborts every connection between a and b in either direction
  // (both sides see kConnectionReset) and leaves other connections alone.
  Sim sim(18, FixedLatency(1ms));
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto c = sim.net.Attach("c");
  auto la = a->Listen({"", 80});
  auto lb = b->Listen({"", 80});
  auto lc = c->Listen({"", 80});
  ASSERT_TRUE(la.ok());
  ASSERT_TRUE(lb.ok());
  ASSERT_TRUE(lc.ok());
  Pair ab = sim.Connect(*a, **lb);
  Pair ba = sim.Connect(*b, **la);
  Pair ac = sim.Connect(*a, **lc);
  sim.net.ResetConnections("b", "a");
  sim.Run([&] {
    uint8_t buf[8];
    EXPECT_EQ(ab.client->Read(buf).code(), ErrorCode::kConnectionReset);
    EXPECT_EQ(ab.server->Read(buf).code(), ErrorCode::kConnectionReset);
    EXPECT_EQ(WriteString(*ba.client, "x").code(), ErrorCode::kConnectionReset);
    EXPECT_EQ(ba.server->Read(buf).code(), ErrorCode::kConnectionReset);
    ASSERT_TRUE(WriteString(*ac.client, "ok").ok());
    auto got = ReadString(*ac.server, 2, sim.After(1s));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "ok");
  });
  EXPECT_EQ(sim.net.stats().resets, 4u);
}

TEST(SimNetworkTest, CrashHostResetsPeersAndRetiresOldHandles) {
  // Proves: CrashHost(b) wakes b's blocked fibers with kClosed, makes every old handle of b fail
  // with kClosed, resets b's peers after one latency, refuses connects until b listens again,
  // and a new Attach(b) works.
  Sim sim(19, FixedLatency(1ms));
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto listener = b->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  Pair pair = sim.Connect(*a, **listener);
  Status accept_status;
  Status server_read;
  Status client_read;
  Instant client_woke{};
  sim.sched.Spawn("accept", [&] { accept_status = (*listener)->Accept().status(); });
  sim.sched.Spawn("server-read", [&] {
    uint8_t buf[8];
    server_read = pair.server->Read(buf).status();
  });
  sim.sched.Spawn("client-read", [&] {
    uint8_t buf[8];
    client_read = pair.client->Read(buf).status();
    client_woke = sim.Now();
  });
  sim.kernel.RunFor(5ms);
  Instant crashed = sim.Now();
  sim.net.CrashHost("b");
  sim.kernel.RunFor(5ms);
  EXPECT_EQ(accept_status.code(), ErrorCode::kClosed);
  EXPECT_EQ(server_read.code(), ErrorCode::kClosed);
  EXPECT_EQ(client_read.code(), ErrorCode::kConnectionReset);
  EXPECT_EQ(client_woke, crashed + 1ms);
  sim.Run([&] {
    EXPECT_EQ(b->Listen({"", 81}).code(), ErrorCode::kClosed);
    EXPECT_EQ(b->Connect({"a", 80}, 1s).code(), ErrorCode::kClosed);
    EXPECT_EQ((*listener)->Accept().code(), ErrorCode::kClosed);
    EXPECT_EQ(WriteString(*pair.server, "x").code(), ErrorCode::kClosed);
    EXPECT_EQ(a->Connect({"b", 80}, 1s).code(), ErrorCode::kConnectionRefused);
  });
  auto b2 = sim.net.Attach("b");
  auto listener2 = b2->Listen({"", 80});
  ASSERT_TRUE(listener2.ok()) << listener2.status().ToString();
  Pair again = sim.Connect(*a, **listener2);
  ASSERT_NE(again.server, nullptr);
  sim.Run([&] {
    ASSERT_TRUE(WriteString(*again.client, "hi").ok());
    auto got = ReadString(*again.server, 2, sim.After(1s));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "hi");
  });
}

TEST(SimNetworkTest, BackpressureHoldsWriterUntilReaderDrains) {
  // Proves: a writer waits once send_buffer_bytes are unread, a write deadline then gives
  // kTimeout without sending anything, and the writer continues as the reader drains.
  NetworkOptions options = FixedLatency(1ms);
  options.send_buffer_bytes = 1000;
  Sim sim(20, options);
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto listener = b->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  Pair pair = sim.Connect(*a, **listener);
  sim.Run([&] {
    ASSERT_TRUE(WriteString(*pair.client, std::string(1000, 'z')).ok());
    EXPECT_EQ(WriteString(*pair.client, "x", sim.After(10ms)).code(), ErrorCode::kTimeout);
    auto got = ReadString(*pair.server, 1000, sim.After(1s));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, std::string(1000, 'z'));
  });
  int writes_done = 0;
  std::string sent;
  sim.sched.Spawn("writer", [&] {
    for (int i = 0; i < 10; i++) {
      std::string chunk(400, static_cast<char>('a' + i));
      ASSERT_TRUE(WriteString(*pair.client, chunk).ok());
      sent += chunk;
      writes_done++;
    }
  });
  sim.kernel.RunFor(50ms);
  EXPECT_EQ(writes_done, 3);  // 0, 400 and 800 bytes were below the limit; 1200 is not
  std::string got;
  sim.Run([&] {
    auto r = ReadString(*pair.server, 4000, sim.After(10s));
    ASSERT_TRUE(r.ok());
    got = *r;
  });
  EXPECT_EQ(writes_done, 10);
  EXPECT_EQ(got, sent);
}

TEST(SimNetworkTest, PortsInUseAndEphemeralPorts) {
  // Proves: a taken port gives kAddressInUse until its listener closes, port 0 picks ephemeral
  // ports deterministically, wildcard hosts mean the attached host, foreign hosts are refused,
  // and a client connection's local address is an ephemeral port of its own host.
  Sim sim(21);
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto first = b->Listen({"0.0.0.0", 9876});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)->LocalAddress(), (io::Address{"b", 9876}));
  EXPECT_EQ(b->Listen({"b", 9876}).code(), ErrorCode::kAddressInUse);
  EXPECT_TRUE(a->Listen({"a", 9876}).ok());  // ports are per host
  EXPECT_EQ(b->Listen({"a", 9877}).code(), ErrorCode::kInvalidArgument);
  (*first)->Close();
  auto again = b->Listen({"", 9876});
  ASSERT_TRUE(again.ok());
  auto e1 = b->Listen({"", 0});
  auto e2 = b->Listen({"", 0});
  ASSERT_TRUE(e1.ok());
  ASSERT_TRUE(e2.ok());
  EXPECT_EQ((*e1)->LocalAddress().port, 40000);
  EXPECT_EQ((*e2)->LocalAddress().port, 40001);
  Pair pair = sim.Connect(*a, **again);
  ASSERT_NE(pair.client, nullptr);
  EXPECT_EQ(pair.client->LocalAddress(), (io::Address{"a", 40000}));
  EXPECT_EQ(pair.client->PeerAddress(), (io::Address{"b", 9876}));
  EXPECT_EQ(pair.server->LocalAddress(), (io::Address{"b", 9876}));
  EXPECT_EQ(pair.server->PeerAddress(), (io::Address{"a", 40000}));
}

TEST(SimNetworkTest, KilledConnectResetsTheHalfOpenConnection) {
  // Proves: a client killed after its SYN reached the server (but before the SYN-ACK came back)
  // leaves no half-open connection: the server's side is reset and then retired.
  Sim sim(23, FixedLatency(1ms));
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto listener = b->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  io::GroupId doomed = sim.kernel.runtime().NewGroup("doomed");
  bool returned = false;
  sim.kernel.runtime().Spawn(doomed, "connect", [&] {
    auto conn = a->Connect({"b", 80}, 1s);
    returned = true;
  });
  sim.kernel.RunFor(1500us);  // the SYN arrived at 1ms; the SYN-ACK is due at 2ms
  EXPECT_EQ(sim.net.live_connections(), 1u);
  sim.kernel.runtime().KillGroup(doomed);
  sim.kernel.RunFor(10ms);
  EXPECT_FALSE(returned);
  sim.Run([&] {
    auto conn = (*listener)->Accept(sim.After(1s));
    ASSERT_TRUE(conn.ok());
    uint8_t buf[8];
    EXPECT_EQ((*conn)->Read(buf).code(), ErrorCode::kConnectionReset);
  });
  EXPECT_EQ(sim.net.live_connections(), 0u);
}

TEST(SimNetworkTest, FullAcceptBacklogDropsSyns) {
  // Proves: once accept_backlog_max connections wait for Accept(), further SYNs are dropped and
  // those connects time out; accepting makes room again.
  NetworkOptions options = FixedLatency(1ms);
  options.accept_backlog_max = 1;
  Sim sim(24, options);
  auto a = sim.net.Attach("a");
  auto b = sim.net.Attach("b");
  auto listener = b->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  sim.Run([&] {
    auto first = a->Connect({"b", 80}, 1s);
    EXPECT_TRUE(first.ok());
    auto second = a->Connect({"b", 80}, 100ms);
    EXPECT_EQ(second.code(), ErrorCode::kTimeout);
    auto accepted = (*listener)->Accept(sim.After(1s));
    EXPECT_TRUE(accepted.ok());
    auto third = a->Connect({"b", 80}, 1s);
    EXPECT_TRUE(third.ok());
  });
  EXPECT_EQ(sim.net.stats().connect_timeouts, 1u);
  EXPECT_EQ(sim.net.stats().connects, 2u);
}

TEST(SimNetworkTest, HandlesOutliveTheNetwork) {
  // Proves: destroying the network wakes fibers blocked on its objects with kClosed, later calls
  // on old handles fail with kClosed, and destroying them afterwards is harmless.
  Kernel kernel(22);
  auto net = std::make_unique<SimNetwork>(kernel);
  io::Scheduler sched(kernel.runtime(), kernel.runtime().NewGroup("t"));
  auto a = net->Attach("a");
  auto b = net->Attach("b");
  auto listener = b->Listen({"", 80});
  ASSERT_TRUE(listener.ok());
  std::unique_ptr<io::Connection> client;
  std::unique_ptr<io::Connection> server;
  Status read_status;
  Status accept_status;
  sched.Spawn("connect", [&] {
    auto c = a->Connect({"b", 80}, 1s);
    ASSERT_TRUE(c.ok());
    client = std::move(*c);
    auto s = (*listener)->Accept();
    ASSERT_TRUE(s.ok());
    server = std::move(*s);
    accept_status = (*listener)->Accept().status();  // blocks: nobody else connects
  });
  kernel.RunFor(10ms);
  ASSERT_NE(client, nullptr);
  sched.Spawn("read", [&] {
    uint8_t buf[8];
    read_status = client->Read(buf).status();
  });
  kernel.RunFor(10ms);
  net.reset();
  kernel.RunFor(10ms);
  EXPECT_EQ(read_status.code(), ErrorCode::kClosed);
  EXPECT_EQ(accept_status.code(), ErrorCode::kClosed);
  io::Address address{"b", 81};
  EXPECT_EQ(b->Listen(address).code(), ErrorCode::kClosed);
  EXPECT_EQ(server->Write(AsBytes("x")).code(), ErrorCode::kClosed);
  client.reset();
  server.reset();
  listener = Status(ErrorCode::kClosed, "dropped");
}

// A small workload with faults; returns the trace hash and the stats of the run.
std::pair<uint64_t, uint64_t> RunWorkload(uint64_t seed) {
  Sim sim(seed);
  auto server = sim.net.Attach("s");
  std::vector<std::unique_ptr<io::Network>> clients;
  for (std::string host : {"c1", "c2", "c3"}) clients.push_back(sim.net.Attach(host));
  sim.sched.Spawn("server", [&] {
    auto listener = server->Listen({"", 80});
    ASSERT_TRUE(listener.ok());
    for (;;) {
      auto conn = (*listener)->Accept();
      if (!conn.ok()) return;
      std::shared_ptr<io::Connection> c = std::move(*conn);
      sim.sched.Spawn("echo", [c] {
        std::vector<uint8_t> buf(512);
        for (;;) {
          auto n = c->Read(buf);
          if (!n.ok() || *n == 0) return;
          if (!c->Write(std::span(buf.data(), *n)).ok()) return;
        }
      });
    }
  });
  for (auto& client : clients) {
    sim.sched.Spawn("client", [&sim, net = client.get()] {
      for (int round = 0; round < 5; round++) {
        auto conn = net->Connect({"s", 80}, 100ms);
        if (!conn.ok()) continue;
        for (int i = 0; i < 20; i++) {
          if (!WriteString(**conn, std::string(50, 'q')).ok()) break;
          if (!ReadString(**conn, 50, sim.After(50ms)).ok()) break;
        }
      }
    });
  }
  sim.kernel.RunFor(20ms);
  sim.net.Partition("s", "c1");
  sim.net.Clog("c2", "s", 10ms);
  sim.kernel.RunFor(50ms);
  sim.net.HealAll();
  sim.kernel.RunFor(2s);
  return {sim.kernel.trace().hash(), sim.net.stats().deliveries};
}

TEST(SimNetworkTest, SameSeedGivesSameTrace) {
  // Proves: the network is deterministic under the seed (same seed, same trace hash and stats),
  // and that the seed matters (another seed gives another hash).
  auto first = RunWorkload(99);
  auto second = RunWorkload(99);
  auto other = RunWorkload(100);
  EXPECT_EQ(first, second);
  EXPECT_GT(first.second, 0u);
  EXPECT_NE(first.first, other.first);
}

}  // namespace
}  // namespace apogee::sim

namespace apogee::sim {
namespace {

TEST(SimNetworkLifetimeTest, WriterDestroyingARetiredConnectionLeavesTheReaderSafe) {
  // Proves a reader woken by a peer's crash may run after another fiber destroyed the (now
  // retired) connection: it returns an error and touches no freed memory. Which of the two runs
  // first is the seed's choice, so several seeds cover both orders; ASan builds catch a use
  // after free. (Found by review: the handle used to be the last owner of the state.)
  int writer_first = 0;
  for (uint64_t seed = 1; seed <= 20; seed++) {
    World::Options options;
    options.network.send_buffer_bytes = 1;  // the writer blocks on backpressure at once
    World world(seed, options);
    std::string order;
    world.AddNode(NodeSpec{"server", "10.0.0.2", [](io::Env& env) {
                             auto listener = env.network.Listen(io::Address{"", 7000});
                             ASSERT_TRUE(listener.ok());
                             auto conn = (*listener)->Accept();
                             env.scheduler.Sleep(std::chrono::hours(1));  // never reads
                           }});
    world.AddNode(NodeSpec{"client", "10.0.0.1", [&order](io::Env& env) {
                             env.scheduler.Sleep(1ms);
                             auto c = env.network.Connect(io::Address{"10.0.0.2", 7000}, 1s);
                             ASSERT_TRUE(c.ok());
                             auto conn = std::make_shared<std::unique_ptr<io::Connection>>(
                                 std::move(c).value());
                             io::Connection* raw = conn->get();
                             env.scheduler.Spawn("reader", [raw, &order] {
                               uint8_t buf[16];
                               EXPECT_FALSE(raw->Read(buf).ok());
                               order += "R";
                             });
                             env.scheduler.Spawn("writer", [conn, &order] {
                               std::vector<uint8_t> data(100, 1);
                               while ((*conn)->Write(data).ok()) {
                               }
                               order += "W";
                               conn->reset();  // drops the connection on error
                             });
                             env.scheduler.Sleep(std::chrono::hours(1));
                           }});
    world.Start(0);
    world.Start(1);
    world.RunFor(1s);
    world.Crash(0, CrashMode::kDrop);
    world.RunFor(1s);
    EXPECT_EQ(order.size(), 2u) << "seed " << seed << ": both fibers should have finished";
    if (order.rfind('W', 0) == 0) writer_first++;
  }
  // Both orders happened, so the dangerous one was exercised.
  EXPECT_GT(writer_first, 0);
  EXPECT_LT(writer_first, 20);
}

}  // namespace
}  // namespace apogee::sim
