#include "core/nameserver/name_server.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <string_view>
#include <utility>

#include "core/base/crc32.h"
#include "core/base/log.h"
#include "core/protocol/bodies.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"
#include "core/remoting/frame.h"

namespace apogee::nameserver {

namespace {

namespace request = protocol::request;
namespace response = protocol::response;

std::string_view BodyText(const RemotingCommand& cmd) {
  return {reinterpret_cast<const char*>(cmd.body.data()), cmd.body.size()};
}

std::vector<uint8_t> BodyBytes(const std::string& json) { return {json.begin(), json.end()}; }

// The answer to a request the node refuses: SYSTEM_ERROR with `why`, logged once.
RemotingCommand Refuse(const RemotingCommand& request, std::string why) {
  LOG_WARN("nameserver: request {} refused: {}", request.code, why);
  return MakeResponse(request, response::kSystemError, std::move(why));
}

}  // namespace

Result<std::unique_ptr<NameServer>> NameServer::Start(io::Env& env, NamesrvConfig config) {
  if (config.broker_expiry <= Duration::zero()) {
    return Status(ErrorCode::kInvalidArgument, "nameserver: broker_expiry must be positive");
  }
  if (config.scan_interval <= Duration::zero()) {
    return Status(ErrorCode::kInvalidArgument, "nameserver: scan_interval must be positive");
  }
  std::unique_ptr<NameServer> node(new NameServer(env, std::move(config)));
  NameServer* self = node.get();

  auto dispatcher = std::make_shared<RequestDispatcher>();
  // Each handler answers at once: none of them yields.
  auto handler = [self](RemotingCommand (NameServer::*method)(const RemotingCommand&)) {
    return [self, method](const std::shared_ptr<RemotingConnection>&,
                          RemotingCommand req) -> std::optional<RemotingCommand> {
      return (self->*method)(req);
    };
  };
  dispatcher->Register(request::kRegisterBroker, handler(&NameServer::RegisterBroker));
  dispatcher->Register(request::kUnregisterBroker, handler(&NameServer::UnregisterBroker));
  dispatcher->Register(request::kGetRouteInfoByTopic, handler(&NameServer::GetRouteInfoByTopic));
  dispatcher->Register(request::kGetBrokerClusterInfo, handler(&NameServer::GetBrokerClusterInfo));

  node->server_ = std::make_unique<RemotingServer>(env, std::move(dispatcher));
  APOGEE_RETURN_IF_ERROR(node->server_->Start(node->config_.listen));
  node->scanner_ = env.scheduler.Spawn("namesrv-scan", [self] { self->ScanLoop(); });
  LOG_INFO("nameserver: serving on {} (broker expiry {:.0f} s, scan every {:.0f} s)",
           node->address().ToString(), ToSeconds(node->config_.broker_expiry),
           ToSeconds(node->config_.scan_interval));
  return node;
}

NameServer::NameServer(io::Env& env, NamesrvConfig config)
    : env_(env),
      config_(std::move(config)),
      routes_(config_.broker_expiry),
      stopping_(env.scheduler.runtime()) {}

NameServer::~NameServer() { Stop(); }

io::Address NameServer::address() const {
  APOGEE_ASSERT(server_ != nullptr);
  return server_->address();
}

void NameServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // The server first: once it has stopped no handler runs, so the table is still.
  if (server_ != nullptr) server_->Stop();
  stopping_.Set();
  if (scanner_.valid()) scanner_.Join();
  LOG_INFO("nameserver: stopped");
}

void NameServer::ScanLoop() {
  for (;;) {
    Status s = stopping_.Wait(env_.scheduler.After(config_.scan_interval));
    // Set means stopping; a kill (kCancelled) ends the fiber too.
    if (s.code() != ErrorCode::kTimeout) return;
    std::vector<std::string> dropped = routes_.ScanNotActiveBroker(env_.clock.Now());
    if (!dropped.empty()) {
      LOG_WARN("nameserver: dropped {} silent broker(s): {}", dropped.size(),
               fmt::join(dropped, ", "));
    }
  }
}

RemotingCommand NameServer::RegisterBroker(const RemotingCommand& request) {
  APOGEE_ASSERT(request.code == request::kRegisterBroker);
  Result<protocol::RegisterBrokerRequestHeader> header =
      protocol::RegisterBrokerRequestHeader::Decode(request.ext_fields);
  if (!header.ok()) return Refuse(request, header.status().message());
  if (header->broker_name.empty()) return Refuse(request, "brokerName is empty");
  if (header->broker_addr.empty()) return Refuse(request, "brokerAddr is empty");
  if (header->cluster_name.empty()) return Refuse(request, "clusterName is empty");
  if (header->broker_id < 0) {
    return Refuse(request, fmt::format("brokerId {} is negative", header->broker_id));
  }
  // A broker that does not compute the CRC sends 0 (the Java header's default).
  if (header->body_crc32.has_value() && *header->body_crc32 != 0) {
    auto actual = static_cast<int32_t>(MaskedCrc32(request.body));
    if (actual != *header->body_crc32) {
      return Refuse(request, fmt::format("crc32 not match: header bodyCrc32 {}, body has {}",
                                         *header->body_crc32, actual));
    }
  }
  if (header->compressed) {
    return Refuse(request,
                  "compressed REGISTER_BROKER bodies are not supported by this "
                  "nameserver; set compressedRegister=false on the broker");
  }
  // No body: a broker with nothing to tell, at data version 0 (as RocketMQ reads it).
  protocol::RegisterBrokerBody body;
  if (!request.body.empty()) {
    Result<protocol::RegisterBrokerBody> parsed =
        protocol::RegisterBrokerBody::FromJson(BodyText(request));
    if (!parsed.ok()) return Refuse(request, parsed.status().message());
    body = std::move(parsed).value();
  }

  RouteInfoManager::RegisterResult result =
      routes_.Register(*header, body.topic_config_serialize_wrapper, env_.clock.Now());
  LOG_DEBUG("nameserver: {} {} id {} registered ({} topics{})", header->broker_name,
            header->broker_addr, header->broker_id,
            body.topic_config_serialize_wrapper.topic_config_table.size(),
            result.topics_updated ? ", updated" : "");
  APOGEE_ASSERT(routes_.broker_live_table().contains(header->broker_addr));

  RemotingCommand answer = MakeResponse(request, response::kSuccess);
  protocol::RegisterBrokerResponseHeader out{result.ha_server_addr, result.master_addr};
  out.Encode(answer.ext_fields);
  return answer;
}

RemotingCommand NameServer::UnregisterBroker(const RemotingCommand& request) {
  APOGEE_ASSERT(request.code == request::kUnregisterBroker);
  Result<protocol::UnregisterBrokerRequestHeader> header =
      protocol::UnregisterBrokerRequestHeader::Decode(request.ext_fields);
  if (!header.ok()) return Refuse(request, header.status().message());
  // RocketMQ answers SUCCESS whether or not the broker was known; so do we.
  bool removed = routes_.Unregister(*header);
  LOG_INFO("nameserver: unregister {} {} id {}: {}", header->broker_name, header->broker_addr,
           header->broker_id, removed ? "removed" : "not registered there");
  return MakeResponse(request, response::kSuccess);
}

RemotingCommand NameServer::GetRouteInfoByTopic(const RemotingCommand& request) {
  APOGEE_ASSERT(request.code == request::kGetRouteInfoByTopic);
  Result<protocol::GetRouteInfoRequestHeader> header =
      protocol::GetRouteInfoRequestHeader::Decode(request.ext_fields);
  if (!header.ok()) return Refuse(request, header.status().message());
  std::optional<TopicRouteData> route = routes_.PickupTopicRouteData(header->topic);
  if (!route.has_value()) {
    LOG_DEBUG("nameserver: no route for topic {}", header->topic);
    return MakeResponse(
        request, response::kTopicNotExist,
        fmt::format("No topic route info in name server for the topic: {}", header->topic));
  }
  APOGEE_ASSERT(!route->queue_datas.empty());
  RemotingCommand answer = MakeResponse(request, response::kSuccess);
  answer.body = BodyBytes(route->ToJson());
  return answer;
}

RemotingCommand NameServer::GetBrokerClusterInfo(const RemotingCommand& request) {
  APOGEE_ASSERT(request.code == request::kGetBrokerClusterInfo);
  RemotingCommand answer = MakeResponse(request, response::kSuccess);
  answer.body = BodyBytes(routes_.GetClusterInfo().ToJson());
  return answer;
}

}  // namespace apogee::nameserver
