#include "core/client/client_instance.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"

namespace apogee::client {

namespace req = protocol::request;
namespace rsp = protocol::response;

Status ResponseError(const RemotingCommand& response, std::string_view what) {
  APOGEE_ASSERT(response.code != rsp::kSuccess);
  ErrorCode code = ErrorCode::kInternal;
  switch (response.code) {
    case rsp::kTopicNotExist:
    case rsp::kQueryNotFound:
    case rsp::kSubscriptionNotExist:
    case rsp::kSubscriptionGroupNotExist:
      code = ErrorCode::kNotFound;
      break;
    case rsp::kSystemBusy:
    case rsp::kServiceNotAvailable:
    case rsp::kFlowControl:
      code = ErrorCode::kBusy;
      break;
    case rsp::kRequestCodeNotSupported:
    case rsp::kNoPermission:
      code = ErrorCode::kUnsupported;
      break;
    case rsp::kMessageIllegal:
    case rsp::kSubscriptionParseFailed:
      code = ErrorCode::kInvalidArgument;
      break;
    default:
      break;
  }
  return Status(code, fmt::format("{}: broker answered code {} ({})", what, response.code,
                                  response.remark.value_or("")));
}

ClientInstance::ClientInstance(io::Env& env, ClientConfig config)
    : env_(env),
      config_(std::move(config)),
      client_id_(config_.ClientId()),
      stop_(env.scheduler.runtime()),
      rebalance_wakeup_(env.scheduler.runtime()),
      route_mu_(env.scheduler.runtime()),
      members_mu_(env.scheduler.runtime()),
      remoting_(env,
                [this](const std::shared_ptr<RemotingConnection>& from, RemotingCommand request) {
                  return HandleServerRequest(from, std::move(request));
                }) {
  if (!config_.namesrv_addrs.empty()) {
    namesrv_index_ = env.random.Uniform(config_.namesrv_addrs.size());
  }
}

ClientInstance::~ClientInstance() { Shutdown(); }

void ClientInstance::Start() {
  if (running_) return;
  APOGEE_ASSERT(!stopping_, "a client instance does not start again after Shutdown");
  running_ = true;
  fibers_.push_back(env_.scheduler.Spawn("client-route", [this] { RouteLoop(); }));
  fibers_.push_back(env_.scheduler.Spawn("client-heartbeat", [this] { HeartbeatLoop(); }));
  fibers_.push_back(env_.scheduler.Spawn("client-rebalance", [this] { RebalanceLoop(); }));
  fibers_.push_back(env_.scheduler.Spawn("client-persist", [this] { PersistLoop(); }));
}

void ClientInstance::Shutdown() {
  if (stopping_) return;
  stopping_ = true;
  stop_.Set();
  rebalance_wakeup_.Set();
  for (io::FiberHandle& f : fibers_) f.Join();
  fibers_.clear();
  remoting_.CloseAll();
  running_ = false;
}

// --- Members ---

Status ClientInstance::RegisterProducer(const std::string& group) {
  if (!producers_.insert(group).second) {
    return Status(ErrorCode::kAlreadyExists, fmt::format("producer group {} registered", group));
  }
  return Status::Ok();
}

void ClientInstance::UnregisterProducer(const std::string& group) {
  if (producers_.erase(group) == 0) return;
  UnregisterFromBrokers(group, std::nullopt);
}

Status ClientInstance::RegisterConsumer(ConsumerMember* consumer) {
  APOGEE_ASSERT(consumer != nullptr);
  if (!consumers_.emplace(consumer->group(), consumer).second) {
    return Status(ErrorCode::kAlreadyExists,
                  fmt::format("consumer group {} registered", consumer->group()));
  }
  return Status::Ok();
}

void ClientInstance::UnregisterConsumer(const std::string& group) {
  {
    io::MutexLock lock(members_mu_);
    if (consumers_.erase(group) == 0) return;
  }
  UnregisterFromBrokers(std::nullopt, group);
}

std::vector<ConsumerMember*> ClientInstance::Consumers() const {
  std::vector<ConsumerMember*> out;
  for (const auto& [group, c] : consumers_) out.push_back(c);
  return out;
}

void ClientInstance::UnregisterFromBrokers(const std::optional<std::string>& producer_group,
                                           const std::optional<std::string>& consumer_group) {
  auto addrs = broker_addrs_;  // copied: invocations yield
  for (const auto& [name, by_id] : addrs) {
    for (const auto& [id, addr] : by_id) {
      protocol::UnregisterClientRequestHeader h;
      h.client_id = client_id_;
      h.producer_group = producer_group;
      h.consumer_group = consumer_group;
      protocol::ExtFields f;
      h.Encode(f);
      Result<RemotingCommand> r =
          Invoke(addr, protocol::MakeRequest(req::kUnregisterClient, f), config_.rpc_timeout);
      if (!r.ok()) {
        LOG_INFO("client {}: unregister from {} failed: {}", client_id_, addr,
                 r.status().ToString());
      }
    }
  }
}

// --- Routes ---

Result<TopicRouteData> ClientInstance::FetchRoute(const std::string& topic) {
  if (config_.namesrv_addrs.empty()) {
    return Status(ErrorCode::kInvalidArgument, "no nameserver address configured");
  }
  protocol::GetRouteInfoRequestHeader h{topic};
  protocol::ExtFields f;
  h.Encode(f);
  Status last(ErrorCode::kInternal, "no nameserver tried");
  const size_t n = config_.namesrv_addrs.size();
  for (size_t attempt = 0; attempt < n; ++attempt) {
    const std::string& addr = config_.namesrv_addrs[namesrv_index_ % n];
    Result<RemotingCommand> r =
        Invoke(addr, protocol::MakeRequest(req::kGetRouteInfoByTopic, f), config_.rpc_timeout);
    if (!r.ok()) {
      // This nameserver is unreachable or slow: the next fetch starts at the next one.
      last = r.status();
      namesrv_index_ = (namesrv_index_ + 1) % n;
      continue;
    }
    if (r->code == rsp::kTopicNotExist) {
      return Status(ErrorCode::kNotFound, fmt::format("no route for topic {}", topic));
    }
    if (r->code != rsp::kSuccess) {
      last = ResponseError(*r, "GET_ROUTEINFO_BY_TOPIC");
      namesrv_index_ = (namesrv_index_ + 1) % n;
      continue;
    }
    std::string_view body(reinterpret_cast<const char*>(r->body.data()), r->body.size());
    return TopicRouteData::FromJson(body);
  }
  return last;
}

Status ClientInstance::UpdateRoute(const std::string& topic) {
  io::MutexLock lock(route_mu_, env_.scheduler.After(config_.rpc_timeout * 2));
  APOGEE_RETURN_IF_ERROR(lock.status());
  APOGEE_ASSIGN_OR_RETURN(TopicRouteData route, FetchRoute(topic));
  ApplyRoute(topic, route);
  return Status::Ok();
}

void ClientInstance::ApplyRoute(const std::string& topic, const TopicRouteData& route) {
  auto old = routes_.find(topic);
  if (old != routes_.end() && old->second == route) return;
  LOG_DEBUG("client {}: route of {} changed", client_id_, topic);
  routes_[topic] = route;
  RebuildBrokerAddrs();
  auto pub = publish_infos_.find(topic);
  uint32_t start = pub == publish_infos_.end() ? static_cast<uint32_t>(env_.random.Next())
                                               : pub->second.send_which_queue;
  publish_infos_[topic] = BuildPublishInfo(topic, route, start);
  subscribe_queues_[topic] = BuildSubscribeQueues(topic, route);
}

void ClientInstance::RebuildBrokerAddrs() {
  broker_addrs_.clear();
  for (const auto& [topic, route] : routes_) {
    for (const protocol::BrokerData& b : route.broker_datas) {
      for (const auto& [id, addr] : b.broker_addrs) broker_addrs_[b.broker_name][id] = addr;
    }
  }
}

Result<TopicPublishInfo*> ClientInstance::PublishInfo(const std::string& topic,
                                                      const std::string& default_topic,
                                                      int32_t default_queue_nums) {
  auto it = publish_infos_.find(topic);
  if (it == publish_infos_.end() || !it->second.ok()) {
    Status updated = UpdateRoute(topic);
    if (updated.code() == ErrorCode::kNotFound && !default_topic.empty() &&
        default_topic != topic) {
      io::MutexLock lock(route_mu_, env_.scheduler.After(config_.rpc_timeout * 2));
      APOGEE_RETURN_IF_ERROR(lock.status());
      APOGEE_ASSIGN_OR_RETURN(TopicRouteData route, FetchRoute(default_topic));
      for (protocol::QueueData& q : route.queue_datas) {
        int32_t n = std::min(default_queue_nums, q.write_queue_nums);
        q.read_queue_nums = n;
        q.write_queue_nums = n;
      }
      LOG_INFO("client {}: topic {} is not known yet; sending through the route of {}", client_id_,
               topic, default_topic);
      ApplyRoute(topic, route);
    } else {
      APOGEE_RETURN_IF_ERROR(updated);
    }
    it = publish_infos_.find(topic);
  }
  if (it == publish_infos_.end() || !it->second.ok()) {
    return Status(ErrorCode::kNotFound, fmt::format("topic {} has no writable queue", topic));
  }
  return &it->second;
}

Result<std::vector<MessageQueue>> ClientInstance::SubscribeQueues(const std::string& topic) {
  auto it = subscribe_queues_.find(topic);
  if (it == subscribe_queues_.end()) {
    APOGEE_RETURN_IF_ERROR(UpdateRoute(topic));
    it = subscribe_queues_.find(topic);
    APOGEE_ASSERT(it != subscribe_queues_.end());
  }
  return it->second;
}

std::optional<std::string> ClientInstance::MasterAddress(const std::string& broker_name) const {
  auto it = broker_addrs_.find(broker_name);
  if (it == broker_addrs_.end()) return std::nullopt;
  auto m = it->second.find(protocol::kMasterId);
  if (m == it->second.end()) return std::nullopt;
  return m->second;
}

Result<std::string> ClientInstance::MasterAddressOrRefresh(const std::string& broker_name,
                                                           const std::string& topic) {
  std::optional<std::string> addr = MasterAddress(broker_name);
  if (!addr.has_value()) {
    APOGEE_RETURN_IF_ERROR(UpdateRoute(topic));
    addr = MasterAddress(broker_name);
  }
  if (!addr.has_value()) {
    return Status(ErrorCode::kNotFound, fmt::format("broker {} has no master", broker_name));
  }
  return *addr;
}

Result<std::vector<std::string>> ClientInstance::FindConsumerIds(const std::string& topic,
                                                                 const std::string& group) {
  auto route = routes_.find(topic);
  if (route == routes_.end()) {
    APOGEE_RETURN_IF_ERROR(UpdateRoute(topic));
    route = routes_.find(topic);
  }
  // Any broker of the topic knows the group's consumers (they heartbeat to all); pick one at
  // random as RocketMQ does, so one slow broker does not stall every rebalance.
  std::vector<std::string> addrs;
  for (const protocol::BrokerData& b : route->second.broker_datas) {
    for (const auto& [id, addr] : b.broker_addrs) addrs.push_back(addr);
  }
  if (addrs.empty()) {
    return Status(ErrorCode::kNotFound, fmt::format("topic {} has no broker", topic));
  }
  const std::string addr = addrs[env_.random.Uniform(addrs.size())];
  protocol::ConsumerGroupHeader h{group};
  protocol::ExtFields f;
  h.Encode(f);
  APOGEE_ASSIGN_OR_RETURN(
      RemotingCommand r,
      Invoke(addr, protocol::MakeRequest(req::kGetConsumerListByGroup, f), config_.rpc_timeout));
  if (r.code != rsp::kSuccess) return ResponseError(r, "GET_CONSUMER_LIST_BY_GROUP");
  std::string_view body(reinterpret_cast<const char*>(r.body.data()), r.body.size());
  APOGEE_ASSIGN_OR_RETURN(protocol::ConsumerListBody list,
                          protocol::ConsumerListBody::FromJson(body));
  std::vector<std::string> ids = std::move(list.consumer_id_list);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

// --- Requests ---

Result<RemotingCommand> ClientInstance::Invoke(const std::string& addr, RemotingCommand request,
                                               Duration timeout) {
  const Instant start = env_.clock.Now();
  APOGEE_ASSIGN_OR_RETURN(io::Address address, io::Address::Parse(addr));
  APOGEE_ASSIGN_OR_RETURN(std::shared_ptr<RemotingConnection> conn,
                          remoting_.Connect(address, std::min(timeout, config_.connect_timeout)));
  Duration left = timeout - (env_.clock.Now() - start);
  if (left <= Duration::zero()) {
    return Status(ErrorCode::kTimeout,
                  fmt::format("connecting to {} used the whole timeout", addr));
  }
  return conn->Invoke(std::move(request), left);
}

Status ClientInstance::InvokeOneway(const std::string& addr, RemotingCommand request) {
  APOGEE_ASSIGN_OR_RETURN(io::Address address, io::Address::Parse(addr));
  APOGEE_ASSIGN_OR_RETURN(std::shared_ptr<RemotingConnection> conn,
                          remoting_.Connect(address, config_.connect_timeout));
  return conn->InvokeOneway(std::move(request));
}

void ClientInstance::SendHeartbeatToAllBrokers() {
  protocol::HeartbeatData hb;
  hb.client_id = client_id_;
  for (const std::string& g : producers_) hb.producer_data_set.push_back({g});
  for (const ConsumerMember* c : Consumers()) hb.consumer_data_set.push_back(c->HeartbeatEntry());
  if (hb.producer_data_set.empty() && hb.consumer_data_set.empty()) return;
  const bool masters_only = hb.consumer_data_set.empty();
  std::string body = hb.ToJson();
  auto addrs = broker_addrs_;  // copied: invocations yield
  for (const auto& [name, by_id] : addrs) {
    for (const auto& [id, addr] : by_id) {
      if (masters_only && id != protocol::kMasterId) continue;
      RemotingCommand request = protocol::MakeRequest(
          req::kHeartBeat, {}, std::vector<uint8_t>(body.begin(), body.end()));
      Result<RemotingCommand> r = Invoke(addr, std::move(request), config_.rpc_timeout);
      if (!r.ok()) {
        LOG_INFO("client {}: heartbeat to {} failed: {}", client_id_, addr, r.status().ToString());
      } else if (r->code != rsp::kSuccess) {
        LOG_INFO("client {}: {}", client_id_, ResponseError(*r, "HEART_BEAT").ToString());
      }
    }
  }
}

void ClientInstance::SetTransactionCheckHandler(const std::string& group,
                                                TransactionCheckHandler handler) {
  if (handler == nullptr) {
    check_handlers_.erase(group);
  } else {
    check_handlers_[group] = std::move(handler);
  }
}

void ClientInstance::HandleCheckTransactionState(const std::shared_ptr<RemotingConnection>& from,
                                                 const RemotingCommand& request) {
  auto header = protocol::CheckTransactionStateRequestHeader::Decode(request.ext_fields);
  if (!header.ok()) {
    LOG_WARN("client {}: CHECK_TRANSACTION_STATE does not decode: {}", client_id_,
             header.status().ToString());
    return;
  }
  auto messages = protocol::DecodeMessages(request.body);
  if (!messages.ok() || messages->size() != 1) {
    LOG_WARN("client {}: CHECK_TRANSACTION_STATE body is not one message: {}", client_id_,
             messages.ok() ? fmt::format("{} messages", messages->size())
                           : messages.status().ToString());
    return;
  }
  protocol::MessageExt& message = messages->front();
  std::string group = message.Property(protocol::property::kProducerGroup);
  auto it = check_handlers_.find(group);
  if (it == check_handlers_.end()) {
    LOG_WARN(
        "client {}: transaction check for group '{}', which has no transactional producer "
        "here",
        client_id_, group);
    return;
  }
  it->second(from->peer().ToString(), *header, std::move(message));
}

std::optional<RemotingCommand> ClientInstance::HandleServerRequest(
    const std::shared_ptr<RemotingConnection>& from, RemotingCommand request) {
  if (request.code == req::kCheckTransactionState) {
    HandleCheckTransactionState(from, request);
    return std::nullopt;  // oneway: the answer is an END_TRANSACTION
  }
  if (request.code == req::kNotifyConsumerIdsChanged) {
    LOG_DEBUG("client {}: consumers of {} changed", client_id_,
              request.ext_fields.count("consumerGroup") ? request.ext_fields["consumerGroup"] : "");
    WakeRebalance();
    return protocol::MakeResponseCommand(rsp::kSuccess);
  }
  return protocol::MakeResponseCommand(
      rsp::kRequestCodeNotSupported,
      fmt::format("request type {} not supported by the client", request.code));
}

// --- Timer fibers ---

bool ClientInstance::SleepOrStop(Duration interval) {
  Status s = stop_.Wait(env_.scheduler.After(interval));
  return !stopping_ && !s.ok() && s.code() == ErrorCode::kTimeout;
}

void ClientInstance::RouteLoop() {
  while (SleepOrStop(config_.poll_name_server_interval)) {
    std::set<std::string> topics;
    for (const auto& [topic, info] : publish_infos_) topics.insert(topic);
    for (const ConsumerMember* c : Consumers()) {
      for (const std::string& t : c->Topics()) topics.insert(t);
    }
    for (const std::string& topic : topics) {
      if (stopping_) return;
      Status s = UpdateRoute(topic);
      if (!s.ok()) LOG_INFO("client {}: route of {}: {}", client_id_, topic, s.ToString());
    }
  }
}

void ClientInstance::HeartbeatLoop() {
  while (SleepOrStop(config_.heartbeat_broker_interval)) SendHeartbeatToAllBrokers();
}

void ClientInstance::RebalanceLoop() {
  while (!stopping_) {
    Status s = rebalance_wakeup_.Wait(env_.scheduler.After(config_.rebalance_interval));
    rebalance_wakeup_.Reset();
    if (stopping_) return;
    (void)s;  // woken or timed out: either way, rebalance
    io::MutexLock lock(members_mu_);
    if (!lock.ok()) return;
    for (ConsumerMember* c : Consumers()) c->DoRebalance();
  }
}

void ClientInstance::PersistLoop() {
  while (SleepOrStop(config_.persist_consumer_offset_interval)) {
    io::MutexLock lock(members_mu_);
    if (!lock.ok()) return;
    for (ConsumerMember* c : Consumers()) c->PersistOffsets();
  }
}

}  // namespace apogee::client
