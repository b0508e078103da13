// Registration with the nameservers (RocketMQ's BrokerOuterAPI.registerBrokerAll and
// unregisterBrokerAll): one request to every nameserver at once, each on its own fiber, each
// bounded by register_timeout for the connect and again for the answer.

#include <fmt/format.h>

#include <vector>

#include "core/base/crc32.h"
#include "core/base/log.h"
#include "core/broker/broker.h"
#include "core/protocol/codes.h"
#include "core/protocol/headers.h"

namespace apogee::broker {

namespace {

// Sends `request` to every nameserver at once and waits for every answer. Returns how many
// were answered SUCCESS. May yield.
size_t SendToAll(BrokerContext& ctx, const RemotingCommand& request, const char* what) {
  // The calls share what they use, so none of it goes away under one that a kill unwinds.
  struct Round {
    RemotingCommand request;
    std::string what;
    size_t ok = 0;
  };
  auto round = std::make_shared<Round>(Round{request, what, 0});
  std::shared_ptr<BrokerContext> shared = ctx.shared_from_this();
  std::vector<io::FiberHandle> calls;
  for (const io::Address& namesrv : ctx.config.namesrv_addrs) {
    calls.push_back(
        ctx.env.scheduler.Spawn(fmt::format("broker-{}", what), [shared, round, namesrv] {
          BrokerContext& c = *shared;
          auto connection = c.namesrv_client->Connect(namesrv, c.config.register_timeout);
          if (!connection.ok()) {
            LOG_WARN("broker: {} with nameserver {} failed: {}", round->what, namesrv.ToString(),
                     connection.status().ToString());
            return;
          }
          auto answer = (*connection)->Invoke(round->request, c.config.register_timeout);
          if (!answer.ok()) {
            LOG_WARN("broker: {} with nameserver {} failed: {}", round->what, namesrv.ToString(),
                     answer.status().ToString());
            return;
          }
          if (answer->code != protocol::response::kSuccess) {
            LOG_WARN("broker: nameserver {} answered {} with code {}: {}", namesrv.ToString(),
                     round->what, answer->code, answer->remark.value_or(""));
            return;
          }
          round->ok++;
        }));
  }
  for (io::FiberHandle& call : calls) call.Join();
  return round->ok;
}

}  // namespace

void RegisterWithNameservers(BrokerContext& ctx) {
  if (ctx.config.namesrv_addrs.empty()) return;
  protocol::RegisterBrokerBody body;
  body.topic_config_serialize_wrapper = ctx.topics->Snapshot();
  std::string json = body.ToJson();
  std::vector<uint8_t> bytes(json.begin(), json.end());

  protocol::RegisterBrokerRequestHeader header;
  header.broker_name = ctx.config.broker_name;
  header.broker_addr = ctx.BrokerAddr();
  header.cluster_name = ctx.config.cluster_name;
  // RocketMQ's HA port is the listen port + 1 [haListenPort 10912].
  header.ha_server_addr = fmt::format("{}:{}", ctx.announce.host, ctx.announce.port + 1);
  header.broker_id = ctx.config.broker_id;
  header.compressed = false;
  header.body_crc32 = static_cast<int32_t>(MaskedCrc32(bytes));
  protocol::ExtFields fields;
  header.Encode(fields);
  RemotingCommand request = protocol::MakeRequest(protocol::request::kRegisterBroker,
                                                  std::move(fields), std::move(bytes));

  size_t sent = ctx.config.namesrv_addrs.size();
  size_t ok = SendToAll(ctx, request, "register");
  ctx.registration.rounds++;
  ctx.registration.ok += ok;
  ctx.registration.failed += sent - ok;
  LOG_DEBUG("broker: registered {} topics with {} of {} nameservers",
            body.topic_config_serialize_wrapper.topic_config_table.size(), ok, sent);
}

void UnregisterFromNameservers(BrokerContext& ctx) {
  if (ctx.config.namesrv_addrs.empty()) return;
  protocol::UnregisterBrokerRequestHeader header;
  header.broker_name = ctx.config.broker_name;
  header.broker_addr = ctx.BrokerAddr();
  header.cluster_name = ctx.config.cluster_name;
  header.broker_id = ctx.config.broker_id;
  protocol::ExtFields fields;
  header.Encode(fields);
  RemotingCommand request =
      protocol::MakeRequest(protocol::request::kUnregisterBroker, std::move(fields));
  size_t ok = SendToAll(ctx, request, "unregister");
  LOG_INFO("broker: unregistered from {} of {} nameservers", ok, ctx.config.namesrv_addrs.size());
}

}  // namespace apogee::broker
