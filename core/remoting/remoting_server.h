#pragma once

// RemotingServer: accepts remoting connections on an address and answers their requests through
// a RequestDispatcher (request code -> handler). RemotingClient: connects to servers, one cached
// connection per address, dropped once it has failed.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "core/base/status.h"
#include "core/io/env.h"
#include "core/remoting/remoting_connection.h"

namespace apogee {

// Routes requests by code. An unknown code is answered REQUEST_CODE_NOT_SUPPORTED (3) with
// remark "request type N not supported" (oneway requests get no answer).
// Registration happens before serving: Dispatch() may run on many fibers at once.
class RequestDispatcher {
 public:
  // REQUIRES: no handler registered for `code` yet; handler is not empty.
  void Register(int32_t code, RequestHandler handler);
  std::optional<RemotingCommand> Dispatch(const std::shared_ptr<RemotingConnection>& connection,
                                          RemotingCommand request) const;
  // A RequestHandler that dispatches through `dispatcher` (kept alive by the handler).
  static RequestHandler AsHandler(std::shared_ptr<const RequestDispatcher> dispatcher);

 private:
  std::map<int32_t, RequestHandler> handlers_;
};

// Invariants: after Stop() no connection of this server is open and none of its fibers runs.
class RemotingServer {
 public:
  RemotingServer(io::Env& env, std::shared_ptr<const RequestDispatcher> dispatcher,
                 RemotingConnection::Options options = {});
  // Stops the server if it runs. May yield.
  ~RemotingServer();
  RemotingServer(const RemotingServer&) = delete;
  RemotingServer& operator=(const RemotingServer&) = delete;

  // Listens on `address` (port 0 picks a free port) and starts accepting. Fails as
  // io::Network::Listen does. REQUIRES: not started.
  Status Start(const io::Address& address);
  // The bound address. REQUIRES: started.
  io::Address address() const;
  // Closes the listener and every connection and waits for every fiber of the server (the
  // acceptor, the readers, the handlers). Idempotent. May yield.
  void Stop();

  // The connections open now (for requests the server sends its clients).
  std::vector<std::shared_ptr<RemotingConnection>> connections() const;

 private:
  void AcceptLoop();

  io::Env& env_;
  RequestHandler handler_;
  RemotingConnection::Options options_;
  std::unique_ptr<io::Listener> listener_;
  io::FiberHandle acceptor_;
  // Weak: a connection lives as long as its reader; the server only needs to reach it to stop.
  std::vector<std::weak_ptr<RemotingConnection>> connections_;
  bool stopped_ = false;
};

class RemotingClient {
 public:
  // `handler` answers the requests servers send on this client's connections (may be empty:
  // they are then answered REQUEST_CODE_NOT_SUPPORTED).
  explicit RemotingClient(io::Env& env, RequestHandler handler = nullptr,
                          RemotingConnection::Options options = {});
  // Closes every connection and waits for their fibers. May yield.
  ~RemotingClient();
  RemotingClient(const RemotingClient&) = delete;
  RemotingClient& operator=(const RemotingClient&) = delete;

  // The cached open connection to `address`, or a new one (waiting at most `timeout` to
  // connect). A cached connection that has ended is dropped and replaced. Fails as
  // io::Network::Connect does. May yield.
  Result<std::shared_ptr<RemotingConnection>> Connect(const io::Address& address, Duration timeout);
  // Closes every cached connection and waits for their fibers. May yield.
  void CloseAll();

 private:
  io::Env& env_;
  RequestHandler handler_;
  RemotingConnection::Options options_;
  std::map<io::Address, std::shared_ptr<RemotingConnection>> cache_;
};

}  // namespace apogee
