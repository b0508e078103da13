#include "core/load/load_runner.h"

#include <fmt/format.h>

#include <memory>
#include <unordered_set>

#include "core/base/log.h"
#include "core/client/client_instance.h"
#include "core/client/producer.h"
#include "core/client/push_consumer.h"
#include "core/io/sync.h"

namespace apogee::load {

namespace {

using client::ClientConfig;
using client::ClientInstance;

// The stop rule shared by both modes: a count, a deadline, or both.
struct StopRule {
  std::optional<uint64_t> count;
  Instant deadline = Instant::max();
};

StopRule MakeStopRule(io::Env& env, const LoadOptions& o) {
  StopRule rule;
  rule.count = o.count;
  if (o.duration.has_value()) {
    rule.deadline = env.clock.Now() + *o.duration;
  } else if (!o.count.has_value()) {
    rule.deadline = env.clock.Now() + std::chrono::seconds(10);
  }
  return rule;
}

std::shared_ptr<ClientInstance> MakeInstance(io::Env& env, const LoadOptions& o,
                                             const std::string& role) {
  ClientConfig config;
  config.namesrv_addrs = o.namesrv;
  config.instance_name = fmt::format("apogee-load-{}-{:x}", role, env.random.Next() & 0xffffff);
  return std::make_shared<ClientInstance>(env, config);
}

// Logs a progress line every `every` until `*done`.
void ProgressLoop(io::Env& env, Duration every, const uint64_t& ok, const uint64_t& failed,
                  const bool& done, const char* what) {
  uint64_t last = 0;
  while (!done) {
    env.scheduler.Sleep(every);
    if (done) break;
    double secs = std::chrono::duration<double>(every).count();
    LOG_INFO("{} {} ({:.0f}/s), {} failed", what, ok, static_cast<double>(ok - last) / secs,
             failed);
    last = ok;
  }
}

std::vector<uint8_t> Body(size_t size, uint64_t index) {
  std::vector<uint8_t> body(size, 'x');
  std::string prefix = fmt::format("{:016x}", index);
  for (size_t i = 0; i < prefix.size() && i < size; ++i) body[i] = static_cast<uint8_t>(prefix[i]);
  return body;
}

Result<LoadReport> RunProduce(io::Env& env, const LoadOptions& o) {
  std::shared_ptr<ClientInstance> instance = MakeInstance(env, o, "producer");
  client::ProducerConfig config;
  config.group = o.group.empty() ? "apogee-load-producer" : o.group;
  config.send_timeout = o.send_timeout;
  client::Producer producer(instance, config);
  Status started = producer.Start();
  if (!started.ok()) return started;
  // Fails fast when the topic has no route, rather than counting every send as failed.
  Result<std::vector<client::MessageQueue>> queues = producer.FetchPublishMessageQueues(o.topic);
  if (!queues.ok()) {
    producer.Shutdown();
    return Status(queues.status().code(),
                  fmt::format("no route for topic {}: {}", o.topic, queues.status().message()));
  }

  LoadReport report;
  report.mode = LoadMode::kProduce;
  StopRule rule = MakeStopRule(env, o);
  uint64_t next = 0;
  bool done = false;
  Instant start = env.clock.Now();
  io::FiberHandle progress;
  if (o.progress_every > Duration::zero()) {
    progress = env.scheduler.Spawn("load-progress", [&] {
      ProgressLoop(env, o.progress_every, report.ok, report.failed, done, "sent");
    });
  }
  std::vector<io::FiberHandle> senders;
  for (size_t i = 0; i < o.inflight; ++i) {
    senders.push_back(env.scheduler.Spawn(fmt::format("load-sender-{}", i), [&] {
      for (;;) {
        if (rule.count.has_value() && next >= *rule.count) return;
        if (env.clock.Now() >= rule.deadline) return;
        uint64_t index = next++;
        protocol::Message msg;
        msg.topic = o.topic;
        msg.body = Body(o.size, index);
        if (!o.tag.empty()) msg.SetTags(o.tag);
        Instant sent = env.clock.Now();
        Result<client::SendResult> r = producer.Send(msg);
        report.latency.Record((env.clock.Now() - sent).count());
        if (r.ok()) {
          report.ok++;
        } else {
          if (report.failed++ == 0) report.first_error = r.status().ToString();
        }
      }
    }));
  }
  for (io::FiberHandle& f : senders) f.Join();
  report.elapsed = env.clock.Now() - start;
  done = true;
  if (progress.valid()) progress.Join();
  producer.Shutdown();
  return report;
}

Result<LoadReport> RunConsume(io::Env& env, const LoadOptions& o) {
  std::shared_ptr<ClientInstance> instance = MakeInstance(env, o, "consumer");
  client::PushConsumerConfig config;
  config.group = o.group.empty() ? "apogee-load-consumer" : o.group;
  config.consume_from_where = protocol::ConsumeFromWhere::kFirstOffset;
  config.consume_fibers = std::max<size_t>(1, o.inflight);
  config.consume_message_batch_max_size = 32;
  client::PushConsumer consumer(instance, config);
  Status subscribed = consumer.Subscribe(o.topic, o.tag.empty() ? "*" : o.tag);
  if (!subscribed.ok()) return subscribed;

  LoadReport report;
  report.mode = LoadMode::kConsume;
  StopRule rule = MakeStopRule(env, o);
  std::unordered_set<std::string> seen;
  io::Event finished(env.scheduler.runtime());
  bool done = false;
  Instant start = env.clock.Now();
  consumer.RegisterListener(client::ConcurrentListener(
      [&](const std::vector<protocol::MessageExt>& msgs, client::ConsumeConcurrentlyContext&) {
        int64_t now_ms = ToMillis(env.clock.WallNow());
        for (const protocol::MessageExt& m : msgs) {
          if (!seen.insert(m.msg_id).second) {
            report.duplicates++;
            continue;
          }
          report.ok++;
          report.latency.Record((now_ms - m.born_timestamp) * 1'000'000);
        }
        if (rule.count.has_value() && report.ok >= *rule.count) finished.Set();
        return client::ConsumeConcurrentlyStatus::kConsumeSuccess;
      }));
  Status started = consumer.Start();
  if (!started.ok()) return started;
  io::FiberHandle progress;
  if (o.progress_every > Duration::zero()) {
    progress = env.scheduler.Spawn("load-progress", [&] {
      ProgressLoop(env, o.progress_every, report.ok, report.failed, done, "received");
    });
  }
  (void)finished.Wait(rule.deadline == Instant::max() ? Deadline{} : Deadline{rule.deadline});
  report.elapsed = env.clock.Now() - start;
  done = true;
  if (progress.valid()) progress.Join();
  consumer.Shutdown();
  return report;
}

double Millis(int64_t nanos) { return static_cast<double>(nanos) / 1e6; }

}  // namespace

double LoadReport::throughput() const {
  double secs = std::chrono::duration<double>(elapsed).count();
  return secs <= 0 ? 0.0 : static_cast<double>(ok) / secs;
}

Result<LoadReport> RunLoad(io::Env& env, const LoadOptions& options) {
  return options.mode == LoadMode::kProduce ? RunProduce(env, options) : RunConsume(env, options);
}

std::string ReportText(const LoadOptions& o, const LoadReport& r) {
  const bool produce = r.mode == LoadMode::kProduce;
  std::string out = fmt::format(
      "{} topic={} size={}B inflight={}\n"
      "  {}: {}  failed: {}{}\n"
      "  elapsed: {:.3f} s  throughput: {:.0f} msg/s\n"
      "  {} latency ms: p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  max {:.3f}  mean "
      "{:.3f}\n",
      produce ? "produce" : "consume", o.topic, o.size, o.inflight, produce ? "sent" : "received",
      r.ok, r.failed, produce ? "" : fmt::format("  duplicates: {}", r.duplicates),
      std::chrono::duration<double>(r.elapsed).count(), r.throughput(),
      produce ? "send" : "end-to-end", Millis(r.latency.Percentile(50)),
      Millis(r.latency.Percentile(90)), Millis(r.latency.Percentile(99)),
      Millis(r.latency.Percentile(99.9)), Millis(r.latency.max()), r.latency.mean() / 1e6);
  if (!r.first_error.empty()) out += fmt::format("  first error: {}\n", r.first_error);
  return out;
}

std::string ReportJson(const LoadOptions& o, const LoadReport& r) {
  const bool produce = r.mode == LoadMode::kProduce;
  return fmt::format(
      "{{\"mode\":\"{}\",\"topic\":\"{}\",\"size\":{},\"inflight\":{},\"{}\":{},\"failed\":{},"
      "\"duplicates\":{},\"elapsed_s\":{:.6f},\"throughput_msgs_per_s\":{:.1f},\"p50_ms\":{:.3f},"
      "\"p90_ms\":{:.3f},\"p99_ms\":{:.3f},\"p999_ms\":{:.3f},\"max_ms\":{:.3f},"
      "\"mean_ms\":{:.3f}}}",
      produce ? "produce" : "consume", o.topic, o.size, o.inflight, produce ? "sent" : "received",
      r.ok, r.failed, r.duplicates, std::chrono::duration<double>(r.elapsed).count(),
      r.throughput(), Millis(r.latency.Percentile(50)), Millis(r.latency.Percentile(90)),
      Millis(r.latency.Percentile(99)), Millis(r.latency.Percentile(99.9)), Millis(r.latency.max()),
      r.latency.mean() / 1e6);
}

}  // namespace apogee::load
