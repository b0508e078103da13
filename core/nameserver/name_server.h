#pragma once

// NameServer: the RocketMQ nameserver node. It serves the route table (RouteInfoManager) over a
// RemotingServer and drops brokers that stop registering. It keeps no state on disk and shares
// none with other nameservers: each broker registers with every nameserver, and each nameserver
// answers from what it has been told (docs/nameserver.md).
//
// Requests (rocketmq-protocol.md sections 2-3):
//   REGISTER_BROKER (103)       header RegisterBrokerRequestHeader, body RegisterBrokerBody (an
//                               empty body registers no topics at data version 0). A non-zero
//                               bodyCrc32 must match the body's masked CRC-32, else SYSTEM_ERROR;
//                               compressed=true is answered SYSTEM_ERROR (not supported). Answer:
//                               RegisterBrokerResponseHeader (masterAddr, haServerAddr for slaves).
//   UNREGISTER_BROKER (104)     header UnregisterBrokerRequestHeader; always SUCCESS.
//   GET_ROUTEINFO_BY_TOPIC (105) header topic; body TopicRouteData, or TOPIC_NOT_EXIST (17).
//   GET_BROKER_CLUSTER_INFO (106) body ClusterInfo.
// A header that lacks a required field or holds a malformed one, and a body that is not the
// expected JSON, are answered SYSTEM_ERROR with a remark naming the problem; the connection
// stays open. Any other code is answered REQUEST_CODE_NOT_SUPPORTED by the dispatcher.
//
// Liveness: a scan fiber runs every config.scan_interval and drops brokers silent for
// config.broker_expiry (monotonic env.clock). A broker's connection closing does NOT unregister
// it: RocketMQ's nameserver drops a broker when its channel closes, we rely on the expiry alone
// (a broker that reconnects after a network blip keeps its routes; one that died is gone within
// broker_expiry + scan_interval).
//
// Concurrency: handlers run on fibers of their own but never yield while they read or change
// the route table, so each request sees and leaves it whole.

#include <memory>

#include "core/base/status.h"
#include "core/io/env.h"
#include "core/io/network.h"
#include "core/io/runtime.h"
#include "core/io/sync.h"
#include "core/nameserver/namesrv_config.h"
#include "core/nameserver/route_info_manager.h"
#include "core/remoting/command.h"
#include "core/remoting/remoting_server.h"

namespace apogee::nameserver {

class NameServer {
 public:
  // Listens on config.listen (port 0 picks a free port) and starts the scan fiber. Fails with
  // kInvalidArgument when broker_expiry or scan_interval is not positive, and as
  // io::Network::Listen does.
  static Result<std::unique_ptr<NameServer>> Start(io::Env& env, NamesrvConfig config);

  // Stops the node if it runs. May yield.
  ~NameServer();
  NameServer(const NameServer&) = delete;
  NameServer& operator=(const NameServer&) = delete;

  // The bound address (as the listener reports it: port 0 in the config is replaced).
  io::Address address() const;

  // Closes the server and every connection, and waits for every fiber of the node (acceptor,
  // readers, handlers, scanner). Idempotent. May yield.
  void Stop();

  const NamesrvConfig& config() const { return config_; }
  // The route table, for tests and tools.
  const RouteInfoManager& routes() const { return routes_; }

 private:
  NameServer(io::Env& env, NamesrvConfig config);

  RemotingCommand RegisterBroker(const RemotingCommand& request);
  RemotingCommand UnregisterBroker(const RemotingCommand& request);
  RemotingCommand GetRouteInfoByTopic(const RemotingCommand& request);
  RemotingCommand GetBrokerClusterInfo(const RemotingCommand& request);
  void ScanLoop();

  io::Env& env_;
  NamesrvConfig config_;
  RouteInfoManager routes_;
  std::unique_ptr<RemotingServer> server_;
  io::Event stopping_;
  io::FiberHandle scanner_;
  bool stopped_ = false;
};

}  // namespace apogee::nameserver
