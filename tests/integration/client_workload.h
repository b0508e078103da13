#pragma once

// Producing and consuming with the project's own client library from a test's client env
// (daemon_harness.h RunClient): every message's body is its key ("<prefix>-<n>"), so a test can
// account for each one.

#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/client/client_instance.h"
#include "core/client/producer.h"
#include "core/client/push_consumer.h"
#include "core/io/env.h"
#include "core/io/sync.h"

namespace apogee::integration {

struct Produced {
  std::set<std::string> attempted;  // every key a send was started for
  std::set<std::string> acked;      // keys the broker acknowledged (SEND_OK)
  uint64_t failed = 0;              // sends that returned an error or a status other than OK
  std::string first_error;
};

struct ProduceOptions {
  std::string namesrv;
  std::string topic;
  std::string prefix = "m";
  uint64_t count = 1000;  // keys prefix-0 .. prefix-(count-1), unless `stop` ends it first
  size_t fibers = 16;     // sync sends in flight
  Duration send_timeout = 3s;
  // Asked before each send; true ends that sender.
  std::function<bool()> stop;
  // Called after each acknowledged send with the number acknowledged so far.
  std::function<void(size_t)> on_ack;
};

inline ProduceOptions Sends(std::string namesrv, std::string topic, std::string prefix,
                            uint64_t count) {
  ProduceOptions o;
  o.namesrv = std::move(namesrv);
  o.topic = std::move(topic);
  o.prefix = std::move(prefix);
  o.count = count;
  return o;
}

inline std::shared_ptr<client::ClientInstance> NewInstance(io::Env& env, const std::string& namesrv,
                                                           const std::string& name) {
  client::ClientConfig config;
  config.namesrv_addrs = {namesrv};
  config.instance_name = name;
  return std::make_shared<client::ClientInstance>(env, config);
}

// Sends with `fibers` sync senders until `count` keys were attempted or `stop` says so. May
// yield.
inline Produced Produce(io::Env& env, const ProduceOptions& o) {
  Produced out;
  client::ProducerConfig config;
  config.group = "it-producer";
  config.send_timeout = o.send_timeout;
  client::Producer producer(NewInstance(env, o.namesrv, "it-producer-" + o.prefix), config);
  Status started = producer.Start();
  if (!started.ok()) {
    out.first_error = started.ToString();
    return out;
  }
  uint64_t next = 0;
  std::vector<io::FiberHandle> senders;
  for (size_t i = 0; i < o.fibers; ++i) {
    senders.push_back(env.scheduler.Spawn(fmt::format("it-sender-{}", i), [&] {
      while (next < o.count && !(o.stop && o.stop())) {
        std::string key = fmt::format("{}-{}", o.prefix, next++);
        protocol::Message msg;
        msg.topic = o.topic;
        msg.body.assign(key.begin(), key.end());
        msg.SetKeys(key);
        out.attempted.insert(key);
        Result<client::SendResult> r = producer.Send(msg);
        if (r.ok() && r->status == client::SendStatus::kSendOk) {
          out.acked.insert(key);
          if (o.on_ack) o.on_ack(out.acked.size());
        } else {
          if (out.failed++ == 0) {
            out.first_error =
                r.ok() ? std::string(client::ToString(r->status)) : r.status().ToString();
          }
        }
      }
    }));
  }
  for (io::FiberHandle& s : senders) s.Join();
  producer.Shutdown();
  return out;
}

struct Consumed {
  std::map<std::string, int> deliveries;  // key -> times delivered
  uint64_t duplicates = 0;                // deliveries of a key already delivered
  bool started = false;
  bool done = false;  // the `done` predicate held before the timeout
};

struct ConsumeOptions {
  std::string namesrv;
  std::string topic;
  std::string group;
  std::string instance = "it-consumer";
  Duration timeout = 20s;
  // Asked after each delivered batch; true ends the consumption.
  std::function<bool(const Consumed&)> done;
};

inline ConsumeOptions Receives(std::string namesrv, std::string topic, std::string group,
                               std::string instance, std::function<bool(const Consumed&)> done) {
  ConsumeOptions o;
  o.namesrv = std::move(namesrv);
  o.topic = std::move(topic);
  o.group = std::move(group);
  o.instance = std::move(instance);
  o.done = std::move(done);
  return o;
}

// Runs a clustering push consumer (from the first offset when the group has none) until `done`
// or the timeout, then shuts it down (which commits its offsets to the broker). May yield.
inline Consumed Consume(io::Env& env, const ConsumeOptions& o) {
  Consumed out;
  client::PushConsumerConfig config;
  config.group = o.group;
  config.consume_from_where = protocol::ConsumeFromWhere::kFirstOffset;
  config.consume_message_batch_max_size = 16;
  config.consume_fibers = 4;
  client::PushConsumer consumer(NewInstance(env, o.namesrv, o.instance), config);
  if (!consumer.Subscribe(o.topic, "*").ok()) return out;
  io::Event finished(env.scheduler.runtime());
  consumer.RegisterListener(client::ConcurrentListener(
      [&](const std::vector<protocol::MessageExt>& msgs, client::ConsumeConcurrentlyContext&) {
        for (const protocol::MessageExt& m : msgs) {
          std::string key(m.body.begin(), m.body.end());
          if (out.deliveries[key]++ > 0) out.duplicates++;
        }
        if (o.done(out)) finished.Set();
        return client::ConsumeConcurrentlyStatus::kConsumeSuccess;
      }));
  out.started = consumer.Start().ok();
  if (out.started) {
    out.done = finished.Wait(env.scheduler.After(o.timeout)).ok();
  }
  consumer.Shutdown();
  return out;
}

// True when every key of `keys` was delivered at least once.
inline bool AllDelivered(const Consumed& c, const std::set<std::string>& keys) {
  if (c.deliveries.size() < keys.size()) return false;
  for (const std::string& k : keys) {
    if (c.deliveries.count(k) == 0) return false;
  }
  return true;
}

// The keys of `keys` never delivered.
inline std::vector<std::string> Missing(const Consumed& c, const std::set<std::string>& keys) {
  std::vector<std::string> out;
  for (const std::string& k : keys) {
    if (c.deliveries.count(k) == 0) out.push_back(k);
  }
  return out;
}

}  // namespace apogee::integration
