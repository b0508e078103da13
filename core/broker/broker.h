#pragma once

// Broker: one RocketMQ broker node (RocketMQ's BrokerController), written against the seam.
//
// Start() listens on config.listen, opens the message store under config.store_root, loads the
// topic table (store_root/config/topics.json) and the consumer offsets
// (store_root/config/consumerOffset.json, each offset clamped to its queue's max offset), and
// starts its fibers:
//   - registration: REGISTER_BROKER to every nameserver at once, at start, every
//     register_period, and at once after a topic is created or changed; a failure is logged and
//     retried at the next round;
//   - long polling: releases parked pulls at their timeout and on a periodic check;
//   - offset flush: persists the consumer offsets (and a dirty topic table) every
//     offset_flush_interval;
//   - client scan: drops clients silent for client_expiry, every client_scan_interval.
// Requests that arrive before the store is open are answered SYSTEM_BUSY.
//
// Shutdown() stops in this order: the periodic fibers; UNREGISTER_BROKER to every nameserver
// (best effort); every parked pull is answered; the server (no request is in flight after it);
// offsets and topics are persisted; the store is shut down.
//
// A killed node needs no Shutdown(): every fiber of the broker shares its state (BrokerContext),
// so the state goes when the last of them has unwound. Otherwise Shutdown() is REQUIRED before
// the Broker is destroyed (its fibers would keep running).

#include <memory>

#include "core/base/status.h"
#include "core/broker/broker_config.h"
#include "core/broker/broker_context.h"
#include "core/io/env.h"

namespace apogee::broker {

class Broker {
 public:
  // Starts a broker as described above. Fails when the announce host is not an IPv4 address,
  // the address cannot be listened on, the store cannot be opened or a config file does not
  // parse; nothing keeps running then. May yield.
  static Result<std::unique_ptr<Broker>> Start(io::Env& env, BrokerConfig config);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // announce_host and the bound port: where clients and nameservers reach this broker.
  io::Address address() const { return ctx_->announce; }
  // Stops the broker as described above. Idempotent. May yield.
  void Shutdown();

  // For tests and the daemon.
  BrokerContext& context() { return *ctx_; }
  store::MessageStore& store() { return *ctx_->store; }
  TopicManager& topics() { return *ctx_->topics; }
  ConsumerOffsetManager& offsets() { return *ctx_->offsets; }
  ConsumerManager& consumers() { return *ctx_->consumers; }
  PullHoldService& hold() { return *ctx_->hold; }
  ScheduleService& schedule() { return *ctx_->schedule; }
  QueueLockManager& locks() { return *ctx_->locks; }
  const RegistrationStats& registration_stats() const { return ctx_->registration; }

 private:
  explicit Broker(std::shared_ptr<BrokerContext> ctx) : ctx_(std::move(ctx)) {}
  void SpawnLoops();

  std::shared_ptr<BrokerContext> ctx_;
  std::vector<io::FiberHandle> loops_;
  bool shut_down_ = false;
};

// One registration round: REGISTER_BROKER with every topic to every nameserver at once; waits
// for all of them (each bounded by register_timeout). May yield.
void RegisterWithNameservers(BrokerContext& ctx);
// UNREGISTER_BROKER to every nameserver at once, best effort. May yield.
void UnregisterFromNameservers(BrokerContext& ctx);

}  // namespace apogee::broker
