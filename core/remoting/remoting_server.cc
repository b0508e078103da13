#include "core/remoting/remoting_server.h"

#include <fmt/format.h>

#include <utility>

#include "core/base/log.h"

namespace apogee {

void RequestDispatcher::Register(int32_t code, RequestHandler handler) {
  APOGEE_ASSERT(handler != nullptr);
  bool inserted = handlers_.emplace(code, std::move(handler)).second;
  APOGEE_ASSERT(inserted, "a handler for request code {} is already registered", code);
}

std::optional<RemotingCommand> RequestDispatcher::Dispatch(
    const std::shared_ptr<RemotingConnection>& connection, RemotingCommand request) const {
  APOGEE_ASSERT(!request.is_response());
  auto it = handlers_.find(request.code);
  if (it != handlers_.end()) return it->second(connection, std::move(request));
  LOG_DEBUG("remoting: request code {} from {} is not supported", request.code,
            connection->peer().ToString());
  if (request.is_oneway()) return std::nullopt;
  return MakeResponse(request, kCodeRequestCodeNotSupported,
                      fmt::format("request type {} not supported", request.code));
}

RequestHandler RequestDispatcher::AsHandler(std::shared_ptr<const RequestDispatcher> dispatcher) {
  APOGEE_ASSERT(dispatcher != nullptr);
  return [dispatcher = std::move(dispatcher)](const std::shared_ptr<RemotingConnection>& c,
                                              RemotingCommand request) {
    return dispatcher->Dispatch(c, std::move(request));
  };
}

// --- RemotingServer ---

RemotingServer::RemotingServer(io::Env& env, std::shared_ptr<const RequestDispatcher> dispatcher,
                               RemotingConnection::Options options)
    : env_(env), handler_(RequestDispatcher::AsHandler(std::move(dispatcher))), options_(options) {}

RemotingServer::~RemotingServer() { Stop(); }

Status RemotingServer::Start(const io::Address& address) {
  APOGEE_ASSERT(listener_ == nullptr, "server started twice");
  APOGEE_ASSERT(!stopped_);
  APOGEE_ASSIGN_OR_RETURN(listener_, env_.network.Listen(address));
  LOG_INFO("remoting: listening on {}", listener_->LocalAddress().ToString());
  acceptor_ = env_.scheduler.Spawn("remoting-acceptor", [this] { AcceptLoop(); });
  return Status::Ok();
}

io::Address RemotingServer::address() const {
  APOGEE_ASSERT(listener_ != nullptr);
  return listener_->LocalAddress();
}

void RemotingServer::AcceptLoop() {
  for (;;) {
    Result<std::unique_ptr<io::Connection>> accepted = listener_->Accept();
    if (!accepted.ok()) {
      if (accepted.code() != ErrorCode::kClosed) {
        LOG_WARN("remoting: accept on {} failed: {}", listener_->LocalAddress().ToString(),
                 accepted.status().ToString());
      }
      return;
    }
    // Forget the connections that have ended, so the list stays as long as the open ones.
    std::erase_if(connections_, [](const std::weak_ptr<RemotingConnection>& w) {
      std::shared_ptr<RemotingConnection> c = w.lock();
      return c == nullptr || c->closed();
    });
    LOG_DEBUG("remoting: accepted a connection from {}", (*accepted)->PeerAddress().ToString());
    connections_.push_back(
        RemotingConnection::Start(env_, std::move(accepted).value(), handler_, options_));
  }
}

std::vector<std::shared_ptr<RemotingConnection>> RemotingServer::connections() const {
  std::vector<std::shared_ptr<RemotingConnection>> open;
  for (const auto& w : connections_) {
    std::shared_ptr<RemotingConnection> c = w.lock();
    if (c != nullptr && !c->closed()) open.push_back(std::move(c));
  }
  return open;
}

void RemotingServer::Stop() {
  if (stopped_ || listener_ == nullptr) {
    stopped_ = true;
    return;
  }
  stopped_ = true;
  listener_->Close();
  acceptor_.Join();
  std::vector<std::shared_ptr<RemotingConnection>> live;
  for (const auto& w : connections_) {
    if (std::shared_ptr<RemotingConnection> c = w.lock()) live.push_back(std::move(c));
  }
  connections_.clear();
  for (auto& c : live) c->Close();
  for (auto& c : live) c->Join();
}

// --- RemotingClient ---

RemotingClient::RemotingClient(io::Env& env, RequestHandler handler,
                               RemotingConnection::Options options)
    : env_(env), handler_(std::move(handler)), options_(options) {}

RemotingClient::~RemotingClient() { CloseAll(); }

Result<std::shared_ptr<RemotingConnection>> RemotingClient::Connect(const io::Address& address,
                                                                    Duration timeout) {
  auto it = cache_.find(address);
  if (it != cache_.end()) {
    if (!it->second->closed()) return it->second;
    LOG_DEBUG("remoting: dropping the failed connection to {}: {}", address.ToString(),
              it->second->end_status().ToString());
    cache_.erase(it);
  }
  APOGEE_ASSIGN_OR_RETURN(std::unique_ptr<io::Connection> raw,
                          env_.network.Connect(address, timeout));
  std::shared_ptr<RemotingConnection> c =
      RemotingConnection::Start(env_, std::move(raw), handler_, options_);
  // Another fiber may have connected to the same address while this one waited: keep one.
  it = cache_.find(address);
  if (it != cache_.end() && !it->second->closed()) {
    c->Close();
    return it->second;
  }
  cache_[address] = c;
  return c;
}

void RemotingClient::CloseAll() {
  std::map<io::Address, std::shared_ptr<RemotingConnection>> cache = std::move(cache_);
  cache_.clear();
  for (auto& [address, c] : cache) c->Close();
  for (auto& [address, c] : cache) c->Join();
}

}  // namespace apogee
