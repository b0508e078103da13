// The remoting connection layer (RemotingConnection, RemotingServer, RemotingClient) on both
// backends: every case runs on the simulator (/Sim) and on real sockets (/Posix).

#include "core/remoting/remoting_connection.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/io/sync.h"
#include "core/remoting/remoting_server.h"
#include "tests/remoting/remoting_backend.h"

namespace apogee::remoting_test {
namespace {

constexpr int32_t kCodeEcho = 100;         // answers "pong:" + body
constexpr int32_t kCodeSlowEcho = 101;     // sleeps ext "delay_ms", then echoes the body
constexpr int32_t kCodeNeverAnswer = 102;  // stores the request, answers nothing

RemotingCommand Request(int32_t code, std::string_view body = "") {
  RemotingCommand cmd;
  cmd.code = code;
  cmd.body.assign(body.begin(), body.end());
  return cmd;
}

std::string BodyOf(const RemotingCommand& cmd) { return {cmd.body.begin(), cmd.body.end()}; }

std::optional<RemotingCommand> Echo(const std::shared_ptr<RemotingConnection>&,
                                    RemotingCommand request) {
  RemotingCommand response = MakeResponse(request, kCodeSuccess);
  std::string body = "pong:" + BodyOf(request);
  response.body.assign(body.begin(), body.end());
  return response;
}

// A server with a dispatcher on the server env and a client on the client env.
struct Harness {
  explicit Harness(Nodes& nodes, RemotingConnection::Options server_options = {},
                   RequestHandler client_handler = nullptr)
      : dispatcher(std::make_shared<RequestDispatcher>()),
        server_options(server_options),
        client(nodes.client, std::move(client_handler)),
        nodes(nodes) {
    dispatcher->Register(kCodeEcho, Echo);
  }
  // Starts the server. Call after registering handlers.
  void Start() {
    server = std::make_unique<RemotingServer>(nodes.server, dispatcher, server_options);
    Status s = server->Start(io::Address{"", 0});
    ASSERT_TRUE(s.ok()) << s.ToString();
    address = io::Address{nodes.server_host, server->address().port};
  }
  std::shared_ptr<RemotingConnection> Connect() {
    auto c = client.Connect(address, 5s);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : nullptr;
  }

  std::shared_ptr<RequestDispatcher> dispatcher;
  RemotingConnection::Options server_options;
  std::unique_ptr<RemotingServer> server;
  RemotingClient client;
  Nodes& nodes;
  io::Address address;
};

void ExpectEcho(RemotingConnection& conn, std::string_view body) {
  Result<RemotingCommand> r = conn.Invoke(Request(kCodeEcho, body), 5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->code, kCodeSuccess);
  EXPECT_EQ(BodyOf(*r), "pong:" + std::string(body));
}

using RemotingTest = BackendTest;

TEST_P(RemotingTest, RequestResponseRoundTrip) {
  // Proves a request reaches its handler and the response comes back with the request's opaque,
  // and that the client's cache hands out the same connection twice.
  Run([](Nodes& nodes) {
    Harness h(nodes);
    h.Start();
    std::shared_ptr<RemotingConnection> conn = h.Connect();
    ASSERT_NE(conn, nullptr);
    Result<RemotingCommand> r = conn->Invoke(Request(kCodeEcho, "ping"), 5s);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->is_response());
    EXPECT_EQ(r->opaque, 1);
    EXPECT_EQ(r->code, kCodeSuccess);
    EXPECT_EQ(BodyOf(*r), "pong:ping");
    EXPECT_EQ(h.Connect(), conn);
    ExpectEcho(*conn, "again");
    EXPECT_EQ(conn->pending_invocations(), 0u);
  });
}

TEST_P(RemotingTest, ResponsesUseTheRequestsHeaderKind) {
  // Proves a response goes out in the serialize type of its request, whatever the handler set:
  // a JSON request (a RocketMQ client's default) gets a JSON answer, a ROCKETMQ one a binary
  // answer. The handler here sets the other kind on purpose.
  Run([](Nodes& nodes) {
    Harness h(nodes);
    constexpr int32_t kCodeContrary = 103;
    h.dispatcher->Register(kCodeContrary,
                           [](const std::shared_ptr<RemotingConnection>&,
                              RemotingCommand request) -> std::optional<RemotingCommand> {
                             RemotingCommand response = MakeResponse(request, kCodeSuccess);
                             response.serialize_type =
                                 request.serialize_type == SerializeType::kJson
                                     ? SerializeType::kRocketmq
                                     : SerializeType::kJson;
                             response.ext_fields["seen"] =
                                 request.serialize_type == SerializeType::kJson ? "json" : "binary";
                             return response;
                           });
    h.Start();
    std::shared_ptr<RemotingConnection> conn = h.Connect();
    ASSERT_NE(conn, nullptr);
    for (SerializeType type : {SerializeType::kJson, SerializeType::kRocketmq}) {
      RemotingCommand request = Request(kCodeContrary);
      request.serialize_type = type;
      request.ext_fields["k"] = "v";
      Result<RemotingCommand> r = conn->Invoke(std::move(request), 5s);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->serialize_type, type);
      EXPECT_EQ(r->ext_fields.at("seen"), type == SerializeType::kJson ? "json" : "binary");
    }
  });
}

TEST_P(RemotingTest, ConcurrentInvokesAnsweredOutOfOrderAreMatchedByOpaque) {
  // Proves many Invokes in flight on one connection each get their own response although the
  // server answers them in the reverse order of their sending.
  Run([](Nodes& nodes) {
    Harness h(nodes);
    io::Env& server_env = nodes.server;
    h.dispatcher->Register(
        kCodeSlowEcho,
        [&server_env](const std::shared_ptr<RemotingConnection>&,
                      RemotingCommand request) -> std::optional<RemotingCommand> {
          server_env.scheduler.Sleep(
              std::chrono::milliseconds(std::stoi(request.ext_fields.at("delay_ms"))));
          RemotingCommand response = MakeResponse(request, kCodeSuccess);
          response.body = request.body;
          return response;
        });
    h.Start();
    std::shared_ptr<RemotingConnection> conn = h.Connect();
    ASSERT_NE(conn, nullptr);
    constexpr int kInvokes = 20;
    std::vector<int> completion_order;
    std::vector<io::FiberHandle> fibers;
    for (int i = 0; i < kInvokes; i++) {
      fibers.push_back(nodes.client.scheduler.Spawn("invoker", [&, i] {
        RemotingCommand request = Request(kCodeSlowEcho, std::to_string(i));
        request.ext_fields["delay_ms"] = std::to_string((kInvokes - i) * 10);
        Result<RemotingCommand> r = conn->Invoke(std::move(request), 30s);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        EXPECT_EQ(BodyOf(*r), std::to_string(i));
        completion_order.push_back(i);
      }));
    }
    for (auto& f : fibers) f.Join();
    ASSERT_EQ(completion_order.size(), static_cast<size_t>(kInvokes));
    // The longest delay went first: it cannot have been answered first.
    EXPECT_NE(completion_order.front(), 0);
    EXPECT_EQ(completion_order.back(), 0);
    EXPECT_EQ(conn->stats().responses_unmatched, 0u);
  });
}

TEST_P(RemotingTest, OnewayReachesHandlerAndIsNotAnswered) {
  // Proves a oneway request is handled and that even a handler returning a response sends
  // nothing back (the client sees no stray response).
  Run([](Nodes& nodes) {
    Harness h(nodes);
    io::Event handled(nodes.client.scheduler.runtime());
    std::string seen;
    h.dispatcher->Register(kCodeNeverAnswer,
                           [&](const std::shared_ptr<RemotingConnection>&,
                               RemotingCommand request) -> std::optional<RemotingCommand> {
                             EXPECT_TRUE(request.is_oneway());
                             seen = BodyOf(request);
                             handled.Set();
                             return MakeResponse(
                                 request, kCodeSuccess);  // must be dropped: the request is oneway
                           });
    h.Start();
    std::shared_ptr<RemotingConnection> conn = h.Connect();
    ASSERT_NE(conn, nullptr);
    ASSERT_TRUE(conn->InvokeOneway(Request(kCodeNeverAnswer, "fire")).ok());
    ASSERT_TRUE(handled.Wait(nodes.client.scheduler.After(5s)).ok());
    EXPECT_EQ(seen, "fire");
    // A round trip after it: any response to the oneway would have arrived first.
    ExpectEcho(*conn, "after");
    EXPECT_EQ(conn->stats().responses_unmatched, 0u);
  });
}

TEST_P(RemotingTest, UnknownCodeIsAnsweredNotSupported) {
  // Proves a request code without a handler is answered REQUEST_CODE_NOT_SUPPORTED with the
  // RocketMQ remark.
  Run([](Nodes& nodes) {
    Harness h(nodes);
    h.Start();
    std::shared_ptr<RemotingConnection> conn = h.Connect();
    ASSERT_NE(conn, nullptr);
    Result<RemotingCommand> r = conn->Invoke(Request(999), 5s);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->code, kCodeRequestCodeNotSupported);
    EXPECT_EQ(r->remark, "request type 999 not supported");
  });
}

TEST_P(RemotingTest, InvokeTimesOutAndTheLateAnswerIsDropped) {
  // Proves Invoke fails with kTimeout at its deadline when the handler does not answer, and that
  // the answer sent after the deadline is dropped without disturbing the connection.
  Run([](Nodes& nodes) {
    Harness h(nodes);
    std::shared_ptr<RemotingConnection> server_side;
    std::optional<RemotingCommand> held;
    h.dispatcher->Register(kCodeNeverAnswer,
                           [&](const std::shared_ptr<RemotingConnection>& c,
                               RemotingCommand request) -> std::optional<RemotingCommand> {
                             server_side = c;
                             held = std::move(request);
                             return std::nullopt;
                           });
    h.Start();
    std::shared_ptr<RemotingConnection> conn = h.Connect();
    ASSERT_NE(conn, nullptr);
    Instant start = nodes.client.clock.Now();
    Result<RemotingCommand> r = conn->Invoke(Request(kCodeNeverAnswer), 200ms);
    EXPECT_EQ(r.code(), ErrorCode::kTimeout) << r.status().ToString();
    EXPECT_GE(nodes.client.clock.Now() - start, 200ms);
    EXPECT_EQ(conn->pending_invocations(), 0u);
    ASSERT_TRUE(held.has_value());
    ASSERT_TRUE(server_side->SendResponse(MakeResponse(*held, kCodeSuccess, "late")).ok());
    // The late response precedes this one on the stream.
    ExpectEcho(*conn, "still fine");
    EXPECT_EQ(conn->stats().responses_unmatched, 1u);
    server_side.reset();
  });
}

TEST_P(RemotingTest, PeerClosingFailsPendingInvokesAtOnce) {
  // Proves that when the peer closes the connection every pending Invoke fails with a
  // connection error long before its deadline, and that the client then reconnects.
  Run([](Nodes& nodes) {
    Harness h(nodes);
    constexpr int kInvokes = 3;
    int arrived = 0;
    io::Event all_arrived(nodes.client.scheduler.runtime());
    std::shared_ptr<RemotingConnection> server_side;
    h.dispatcher->Register(kCodeNeverAnswer,
                           [&](const std::shared_ptr<RemotingConnection>& c,
                               RemotingCommand) -> std::optional<RemotingCommand> {
                             server_side = c;
                             if (++arrived == kInvokes) all_arrived.Set();
                             return std::nullopt;
                           });
    h.Start();
    std::shared_ptr<RemotingConnection> conn = h.Connect();
    ASSERT_NE(conn, nullptr);
    Instant start = nodes.client.clock.Now();
    std::vector<io::FiberHandle> fibers;
    for (int i = 0; i < kInvokes; i++) {
      fibers.push_back(nodes.client.scheduler.Spawn("invoker", [&] {
        Result<RemotingCommand> r = conn->Invoke(Request(kCodeNeverAnswer), 60s);
        EXPECT_TRUE(r.code() == ErrorCode::kClosed || r.code() == ErrorCode::kConnectionReset)
            << r.status().ToString();
      }));
    }
    ASSERT_TRUE(all_arrived.Wait(nodes.client.scheduler.After(5s)).ok());
    server_side->Close();
    server_side.reset();
    for (auto& f : fibers) f.Join();
    EXPECT_LT(nodes.client.clock.Now() - start, 10s);
    EXPECT_TRUE(conn->closed());
    // The cache drops the failed connection.
    std::shared_ptr<RemotingConnection> again = h.Connect();
    ASSERT_NE(again, nullptr);
    EXPECT_NE(again, conn);
    ExpectEcho(*again, "reconnected");
  });
}

TEST_P(RemotingTest, GarbageFrameClosesOnlyThatConnection) {
  // Proves a connection that sends garbage is reset by the server while another client's
  // connection keeps working.
  Run([](Nodes& nodes) {
    Harness h(nodes);
    h.Start();
    std::shared_ptr<RemotingConnection> good = h.Connect();
    ASSERT_NE(good, nullptr);
    ExpectEcho(*good, "before");

    auto raw = nodes.client.network.Connect(h.address, 5s);
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    std::vector<uint8_t> garbage(64);
    for (auto& b : garbage) b = static_cast<uint8_t>(nodes.client.random.Next());
    garbage[0] = 0x7f;  // frame_len over the limit, whatever the rest says
    ASSERT_TRUE((*raw)->Write(garbage).ok());
    std::vector<uint8_t> buf(64);
    Result<size_t> n = (*raw)->Read(buf, nodes.client.scheduler.After(5s));
    EXPECT_TRUE(n.code() == ErrorCode::kConnectionReset || (n.ok() && *n == 0))
        << (n.ok() ? "read bytes" : n.status().ToString());

    ExpectEcho(*good, "after");
    EXPECT_EQ(h.server->connections().size(), 1u);
  });
}

TEST_P(RemotingTest, GarbageFromTheServerFailsPendingInvokesAtOnce) {
  // Proves a client that receives a malformed frame resets the connection and fails the Invoke
  // waiting on it with kConnectionReset at once, not at its deadline.
  Run([](Nodes& nodes) {
    auto listener = nodes.server.network.Listen(io::Address{"", 0});
    ASSERT_TRUE(listener.ok()) << listener.status().ToString();
    io::Address address{nodes.server_host, (*listener)->LocalAddress().port};
    io::FiberHandle raw_server = nodes.server.scheduler.Spawn("raw-server", [&] {
      auto accepted = (*listener)->Accept();
      ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
      std::vector<uint8_t> prefix(kFramePrefixBytes);
      ASSERT_TRUE((*accepted)->ReadFull(prefix).ok());  // the request has started to arrive
      // frame_len 8, header_len 4 with serialize type 9: no such type.
      std::vector<uint8_t> garbage = {0, 0, 0, 8, 9, 0, 0, 4, 1, 2, 3, 4};
      ASSERT_TRUE((*accepted)->Write(garbage).ok());
      std::vector<uint8_t> buf(4096);
      while (true) {  // until the client resets
        Result<size_t> n = (*accepted)->Read(buf, nodes.server.scheduler.After(10s));
        if (!n.ok() || *n == 0) break;
      }
    });
    RemotingClient client(nodes.client);
    auto conn = client.Connect(address, 5s);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    Instant start = nodes.client.clock.Now();
    Result<RemotingCommand> r = (*conn)->Invoke(Request(kCodeEcho), 60s);
    EXPECT_EQ(r.code(), ErrorCode::kConnectionReset) << r.status().ToString();
    EXPECT_LT(nodes.client.clock.Now() - start, 10s);
    EXPECT_TRUE((*conn)->closed());
    raw_server.Join();
  });
}

TEST_P(RemotingTest, RequestLimitAnswersSystemBusy) {
  // Proves that beyond requests_in_flight_max a request is answered SYSTEM_BUSY at once and a
  // oneway one is dropped, and that the requests in flight still complete.
  Run([](Nodes& nodes) {
    RemotingConnection::Options options;
    options.requests_in_flight_max = 2;
    Harness h(nodes, options);
    int arrived = 0;
    io::Event limit_reached(nodes.client.scheduler.runtime());
    io::Event release(nodes.client.scheduler.runtime());
    // Frees the blocked handlers however the body ends, so a failed assertion cannot leave them
    // waiting on a destroyed event.
    std::shared_ptr<void> release_at_exit(nullptr, [&release](void*) { release.Set(); });
    h.dispatcher->Register(kCodeNeverAnswer,
                           [&](const std::shared_ptr<RemotingConnection>&,
                               RemotingCommand request) -> std::optional<RemotingCommand> {
                             if (++arrived == 2) limit_reached.Set();
                             EXPECT_TRUE(release.Wait().ok());
                             return MakeResponse(request, kCodeSuccess);
                           });
    h.Start();
    std::shared_ptr<RemotingConnection> conn = h.Connect();
    ASSERT_NE(conn, nullptr);
    std::vector<io::FiberHandle> fibers;
    for (int i = 0; i < 2; i++) {
      fibers.push_back(nodes.client.scheduler.Spawn("invoker", [&] {
        Result<RemotingCommand> r = conn->Invoke(Request(kCodeNeverAnswer), 30s);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        EXPECT_EQ(r->code, kCodeSuccess);
      }));
    }
    ASSERT_TRUE(limit_reached.Wait(nodes.client.scheduler.After(5s)).ok());
    ASSERT_TRUE(conn->InvokeOneway(Request(kCodeNeverAnswer)).ok());
    Result<RemotingCommand> busy = conn->Invoke(Request(kCodeNeverAnswer), 5s);
    ASSERT_TRUE(busy.ok()) << busy.status().ToString();
    EXPECT_EQ(busy->code, kCodeSystemBusy);
    EXPECT_EQ(arrived, 2);
    ASSERT_EQ(h.server->connections().size(), 1u);
    EXPECT_EQ(h.server->connections()[0]->stats().requests_rejected_busy, 2u);
    release.Set();
    for (auto& f : fibers) f.Join();
    EXPECT_EQ(arrived, 2);
  });
}

TEST_P(RemotingTest, HandlerAnswersLaterWithSendResponse) {
  // Proves a handler may return nothing and answer from another fiber later.
  Run([](Nodes& nodes) {
    Harness h(nodes);
    io::Env& server_env = nodes.server;
    std::vector<io::FiberHandle> answerers;
    h.dispatcher->Register(
        kCodeNeverAnswer,
        [&](const std::shared_ptr<RemotingConnection>& c,
            RemotingCommand request) -> std::optional<RemotingCommand> {
          answerers.push_back(server_env.scheduler.Spawn("answerer", [c, request, &server_env] {
            server_env.scheduler.Sleep(20ms);
            ASSERT_TRUE(c->SendResponse(MakeResponse(request, kCodeSuccess, "later")).ok());
          }));
          return std::nullopt;
        });
    h.Start();
    std::shared_ptr<RemotingConnection> conn = h.Connect();
    ASSERT_NE(conn, nullptr);
    Result<RemotingCommand> r = conn->Invoke(Request(kCodeNeverAnswer), 5s);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->code, kCodeSuccess);
    EXPECT_EQ(r->remark, "later");
    for (auto& f : answerers) f.Join();
  });
}

TEST_P(RemotingTest, ServerInvokesOnTheClientsConnection) {
  // Proves Invoke works from the server to the client over the client's own connection (as a
  // broker asks a consumer for its state), with the client's handler answering.
  Run([](Nodes& nodes) {
    constexpr int32_t kCodeAskClient = 200;
    auto client_handler = [](const std::shared_ptr<RemotingConnection>&,
                             RemotingCommand request) -> std::optional<RemotingCommand> {
      if (request.code != kCodeAskClient) {
        return MakeResponse(request, kCodeRequestCodeNotSupported);
      }
      RemotingCommand response = MakeResponse(request, kCodeSuccess);
      response.body = {'o', 'k'};
      return response;
    };
    Harness h(nodes, {}, client_handler);
    h.Start();
    std::shared_ptr<RemotingConnection> conn = h.Connect();
    ASSERT_NE(conn, nullptr);
    ExpectEcho(*conn, "hello");  // the server has accepted it by now
    std::vector<std::shared_ptr<RemotingConnection>> accepted = h.server->connections();
    ASSERT_EQ(accepted.size(), 1u);
    Result<RemotingCommand> r = accepted[0]->Invoke(Request(kCodeAskClient), 5s);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->code, kCodeSuccess);
    EXPECT_EQ(BodyOf(*r), "ok");
    EXPECT_EQ(r->opaque, 1);  // the server's own opaque sequence on this connection
    // Both directions at once still work.
    ExpectEcho(*conn, "both ways");
  });
}

// Partitions exist only in the simulator, so this one runs there alone (no /Posix variant).
TEST(RemotingSimTest, PartitionTimesOutAndHealingRestores) {
  // Proves that an Invoke across a partition times out, and that after the partition heals new
  // Invokes on the same connection succeed.
  RunOnSim([](Nodes& nodes) {
    Harness h(nodes);
    h.Start();
    std::shared_ptr<RemotingConnection> conn = h.Connect();
    ASSERT_NE(conn, nullptr);
    ExpectEcho(*conn, "before");
    nodes.partition();
    Result<RemotingCommand> r = conn->Invoke(Request(kCodeEcho, "lost"), 500ms);
    EXPECT_EQ(r.code(), ErrorCode::kTimeout) << r.status().ToString();
    nodes.heal();
    ExpectEcho(*conn, "after");
    nodes.client.scheduler.Sleep(100ms);
    // The held request was answered after the heal, too late for its invoker.
    EXPECT_EQ(conn->stats().responses_unmatched, 1u);
  });
}

INSTANTIATE_TEST_SUITE_P(, RemotingTest, ::testing::Values(Kind::kSim, Kind::kPosix),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           return info.param == Kind::kSim ? "Sim" : "Posix";
                         });

}  // namespace
}  // namespace apogee::remoting_test
