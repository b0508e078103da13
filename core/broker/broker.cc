#include "core/broker/broker.h"

#include <fmt/format.h>

#include <utility>

#include "core/base/log.h"
#include "core/broker/processors.h"
#include "core/protocol/codes.h"

namespace apogee::broker {

namespace {

namespace request = protocol::request;
using Handler = Response (*)(BrokerContext&, const Connection&, const RemotingCommand&);

// A RequestHandler that serves `fn` while the broker is ready. It holds the context only for
// the length of one request.
RequestHandler Serve(std::weak_ptr<BrokerContext> weak, Handler fn) {
  return [weak = std::move(weak), fn](const Connection& connection,
                                      RemotingCommand cmd) -> std::optional<RemotingCommand> {
    std::shared_ptr<BrokerContext> ctx = weak.lock();
    if (ctx == nullptr) return Reply(cmd, protocol::response::kSystemError, "broker stopped");
    if (!ctx->ready) {
      return Reply(cmd, protocol::response::kSystemBusy, "broker is starting or stopping");
    }
    return fn(*ctx, connection, cmd);
  };
}

Response PullWithSuspend(BrokerContext& ctx, const Connection& connection,
                         const RemotingCommand& cmd) {
  return HandlePullMessage(ctx, connection, cmd, /*allow_suspend=*/true);
}

std::shared_ptr<RequestDispatcher> MakeDispatcher(const std::weak_ptr<BrokerContext>& ctx) {
  auto d = std::make_shared<RequestDispatcher>();
  d->Register(request::kSendMessage, Serve(ctx, HandleSendMessage));
  d->Register(request::kSendMessageV2, Serve(ctx, HandleSendMessage));
  d->Register(request::kSendBatchMessage, Serve(ctx, HandleSendMessage));
  d->Register(request::kPullMessage, Serve(ctx, PullWithSuspend));
  d->Register(request::kQueryMessage, Serve(ctx, HandleQueryMessage));
  d->Register(request::kViewMessageById, Serve(ctx, HandleViewMessageById));
  d->Register(request::kQueryConsumerOffset, Serve(ctx, HandleQueryConsumerOffset));
  d->Register(request::kUpdateConsumerOffset, Serve(ctx, HandleUpdateConsumerOffset));
  d->Register(request::kSearchOffsetByTimestamp, Serve(ctx, HandleSearchOffsetByTimestamp));
  d->Register(request::kGetMaxOffset, Serve(ctx, HandleGetMaxOffset));
  d->Register(request::kGetMinOffset, Serve(ctx, HandleGetMinOffset));
  d->Register(request::kHeartBeat, Serve(ctx, HandleHeartbeat));
  d->Register(request::kUnregisterClient, Serve(ctx, HandleUnregisterClient));
  d->Register(request::kGetConsumerListByGroup, Serve(ctx, HandleGetConsumerListByGroup));
  d->Register(request::kUpdateAndCreateTopic, Serve(ctx, HandleUpdateAndCreateTopic));
  d->Register(request::kGetAllTopicConfig, Serve(ctx, HandleGetAllTopicConfig));
  d->Register(request::kConsumerSendMsgBack, Serve(ctx, HandleConsumerSendMsgBack));
  d->Register(request::kLockBatchMq, Serve(ctx, HandleLockBatchMq));
  d->Register(request::kUnlockBatchMq, Serve(ctx, HandleUnlockBatchMq));
  d->Register(request::kEndTransaction, Serve(ctx, HandleEndTransaction));
  return d;
}

// Opens the store and loads the tables into `ctx`. May yield.
Status OpenState(const std::shared_ptr<BrokerContext>& ctx) {
  io::Env& env = ctx->env;
  const BrokerConfig& config = ctx->config;
  APOGEE_ASSIGN_OR_RETURN(ctx->store,
                          store::MessageStore::Open(env, config.store, config.store_root));
  // The config directory and its name must be durable before files are renamed into it.
  std::string config_dir = io::JoinPath(config.store_root, "config");
  APOGEE_RETURN_IF_ERROR(env.disk.MakeDirs(config_dir));
  APOGEE_RETURN_IF_ERROR(env.disk.SyncDir(config.store_root));

  ctx->topics =
      std::make_unique<TopicManager>(env, ctx->config, io::JoinPath(config_dir, "topics.json"));
  APOGEE_RETURN_IF_ERROR(ctx->topics->Load());
  ctx->topics->set_on_change([raw = ctx.get()] { raw->register_now.Set(); });

  ctx->offsets =
      std::make_unique<ConsumerOffsetManager>(env, io::JoinPath(config_dir, "consumerOffset.json"));
  APOGEE_RETURN_IF_ERROR(ctx->offsets->Load());
  // After a crash the store may have lost the tail an offset was committed against.
  size_t lowered = ctx->offsets->ClampTo([raw = ctx.get()](std::string_view topic, int32_t queue) {
    return raw->MaxOffset(topic, queue);
  });
  if (lowered > 0) LOG_WARN("broker: {} consumer offsets were past their queues", lowered);

  std::weak_ptr<BrokerContext> weak = ctx;
  ctx->consumers = std::make_unique<ConsumerManager>(
      [weak](const std::string& group, std::vector<Connection> members) {
        if (auto c = weak.lock()) NotifyConsumerIdsChanged(c, group, std::move(members));
      });
  ctx->hold = std::make_unique<PullHoldService>(
      env, config.long_polling_check, config.connection_requests_max,
      [weak](ParkedPull pull) {
        if (auto c = weak.lock()) AnswerParkedPull(c, std::move(pull));
      },
      [raw = ctx.get()](std::string_view topic, int32_t queue) {
        return raw->MaxOffset(topic, queue);
      });
  // Every record that becomes visible wakes the pulls parked on its queue: sent messages, and
  // also copies the schedule service puts with WAIT=false (delayed messages and retries), which
  // under SYNC_FLUSH become visible only when the flusher has made them durable.
  ctx->store->SetArrivalListener(
      [weak](std::string_view topic, int32_t queue_id, int64_t queue_offset, int64_t tags_code) {
        if (auto c = weak.lock()) c->hold->Notify(topic, queue_id, queue_offset + 1, tags_code);
      });
  ctx->namesrv_client = std::make_unique<RemotingClient>(env);
  ctx->locks = std::make_unique<QueueLockManager>(config.lock_expiry);
  APOGEE_ASSIGN_OR_RETURN(ctx->schedule,
                          ScheduleService::Create(env, ctx->store, ctx->config));  // may yield
  ctx->transactions = TransactionService::Create(
      env, ctx->store, ctx->config, ctx->offsets.get(), ctx->schedule,
      [weak](const std::string& group, RemotingCommand check) {
        auto c = weak.lock();
        return c != nullptr && SendTransactionCheck(c, group, std::move(check));
      });
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Broker>> Broker::Start(io::Env& env, BrokerConfig config) {
  std::optional<uint32_t> ip = ParseIpv4(config.announce_host);
  if (!ip.has_value()) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("announce host '{}' is not an IPv4 address", config.announce_host));
  }
  auto ctx = std::make_shared<BrokerContext>(env, std::move(config));
  ctx->announce_ipv4 = *ip;

  // The server starts first so that a listen port of 0 is known before the store (which writes
  // it into every record) opens; until then requests are answered SYSTEM_BUSY.
  RemotingConnection::Options options;
  options.requests_in_flight_max = ctx->config.connection_requests_max;
  ctx->server = std::make_unique<RemotingServer>(env, MakeDispatcher(ctx), options);
  APOGEE_RETURN_IF_ERROR(ctx->server->Start(ctx->config.listen));
  ctx->announce = io::Address{ctx->config.announce_host, ctx->server->address().port};
  ctx->config.store.store_ipv4 = *ip;
  ctx->config.store.store_port = ctx->announce.port;

  Status opened = OpenState(ctx);
  if (!opened.ok()) {
    LOG_ERROR("broker: cannot start: {}", opened.ToString());
    ctx->server->Stop();
    if (ctx->store != nullptr) ctx->store->Shutdown().IgnoreError();
    return opened;
  }
  ctx->schedule->Start();
  ctx->transactions->Start();
  ctx->ready = true;
  LOG_INFO("broker: {} of cluster {} serving at {} (store {})", ctx->config.broker_name,
           ctx->config.cluster_name, ctx->BrokerAddr(), ctx->config.store_root);
  std::unique_ptr<Broker> broker(new Broker(ctx));
  broker->SpawnLoops();
  return broker;
}

void Broker::SpawnLoops() {
  io::Scheduler& scheduler = ctx_->env.scheduler;
  std::shared_ptr<BrokerContext> ctx = ctx_;
  loops_.push_back(scheduler.Spawn("broker-hold", [ctx] { ctx->hold->Run(); }));
  loops_.push_back(scheduler.Spawn("broker-register", [ctx] {
    while (!ctx->shutting_down) {
      ctx->register_now.Reset();
      RegisterWithNameservers(*ctx);  // may yield
      if (ctx->shutting_down) break;
      ctx->register_now.Wait(ctx->env.scheduler.After(ctx->config.register_period))
          .IgnoreError();  // a timeout is the period passing
    }
  }));
  // Runs `fn` every `period` until shutdown.
  auto periodic = [&](std::string name, Duration period, std::function<void()> fn) {
    loops_.push_back(scheduler.Spawn(std::move(name), [ctx, period, fn = std::move(fn)] {
      while (!ctx->shutting_down) {
        ctx->stop.Wait(ctx->env.scheduler.After(period)).IgnoreError();
        if (ctx->shutting_down) break;
        fn();
      }
    }));
  };
  periodic("broker-offsets", ctx->config.offset_flush_interval, [ctx] {
    if (ctx->offsets->dirty()) ctx->offsets->Persist().IgnoreError();  // logged
    if (ctx->topics->dirty()) ctx->topics->Persist().IgnoreError();    // logged
  });
  periodic("broker-clients", ctx->config.client_scan_interval,
           [ctx] { ctx->consumers->ScanExpired(ctx->env.clock.Now(), ctx->config.client_expiry); });
}

Broker::~Broker() {
  // Without Shutdown() (a killed node) the fibers keep the context until they unwind.
}

void Broker::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  BrokerContext& ctx = *ctx_;
  LOG_INFO("broker: {} shutting down", ctx.config.broker_name);
  ctx.shutting_down = true;
  ctx.stop.Set();
  ctx.register_now.Set();
  ctx.hold->Shutdown();      // answers every parked pull (on task fibers)
  ctx.transactions->Stop();  // may yield: a check pass in progress ends first
  for (io::FiberHandle& loop : loops_) loop.Join();
  loops_.clear();
  UnregisterFromNameservers(ctx);
  // The answers to parked pulls go out before the server closes their connections.
  ctx.tasks.JoinAll();
  ctx.server->Stop();
  ctx.watchers.JoinAll();
  ctx.tasks.JoinAll();
  ctx.namesrv_client->CloseAll();
  ctx.ready = false;
  Status offsets = ctx.offsets->Persist();
  if (!offsets.ok()) LOG_ERROR("broker: offsets not persisted at shutdown: {}", offsets.ToString());
  if (ctx.topics->dirty()) ctx.topics->Persist().IgnoreError();  // logged
  // The schedule service stops before the store, and persists once more after the store's
  // shutdown made every delivered copy durable (so a restart repeats none).
  Status schedule = ctx.schedule->Stop();
  if (!schedule.ok()) LOG_WARN("broker: schedule service stop: {}", schedule.ToString());
  Status store = ctx.store->Shutdown();
  if (!store.ok()) LOG_ERROR("broker: store shutdown: {}", store.ToString());
  schedule = ctx.schedule->Persist();
  if (!schedule.ok()) LOG_WARN("broker: schedule offsets: {}", schedule.ToString());
  LOG_INFO("broker: {} stopped", ctx.config.broker_name);
}

}  // namespace apogee::broker
