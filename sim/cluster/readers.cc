// The harness's observers outside the product's nodes: the auditor (reads the stores once after
// a run), the DLQ reader (reads the failing groups' dead-letter queues throughout the run) and
// the clock sampler (the brokers' wall-clock offsets, for the delay checker). None is ever the
// target of a fault.

#include <fmt/format.h>

#include <map>
#include <optional>
#include <set>

#include "core/base/crc32.h"
#include "core/base/log.h"
#include "core/client/client_instance.h"
#include "core/client/pull_consumer.h"
#include "core/protocol/codes.h"
#include "sim/cluster/cluster.h"

namespace apogee::sim {

namespace {

constexpr Duration kClockSamplePeriod = std::chrono::milliseconds(10);
// A sampled offset is recorded when it moved at least this much since the last one recorded.
constexpr Duration kClockSampleStep = std::chrono::microseconds(100);
constexpr Duration kDlqReadInterval = std::chrono::milliseconds(500);
// Failed pulls of one schedule queue before the auditor gives up on it.
constexpr int kScheduleReadTries = 10;

[[noreturn]] void ServeForever(io::Env& env) {
  for (;;) env.scheduler.Sleep(std::chrono::hours(1));
}

std::shared_ptr<client::ClientInstance> ReaderInstance(io::Env& env,
                                                       const std::vector<std::string>& namesrvs,
                                                       const std::string& host,
                                                       const std::string& name) {
  client::ClientConfig cc;
  cc.namesrv_addrs = namesrvs;
  cc.client_ip = host;
  cc.instance_name = name;
  return std::make_shared<client::ClientInstance>(env, cc);
}

}  // namespace

void Cluster::AddAuditor() {
  const std::string host = "10.0.9.1";
  auditor_ = world_.AddNode(NodeSpec{
      "auditor", host, [this, host](io::Env& env) {
        auto instance = ReaderInstance(env, namesrv_addrs_, host, "auditor");
        client::PullConsumerConfig pc;
        pc.group = "sim-auditor";
        client::PullConsumer reader(instance, pc);
        reader.RegisterTopic(spec_.topic);
        Status started = reader.Start();
        APOGEE_ASSERT(started.ok(), "auditor start: {}", started.ToString());
        // Every broker must answer for each of its queues: a queue that cannot be read yet (a
        // broker still recovering) is read again a second later.
        std::vector<client::MessageQueue> queues;
        for (;;) {
          Result<std::vector<client::MessageQueue>> qs =
              reader.FetchSubscribeMessageQueues(spec_.topic);
          if (qs.ok() && static_cast<int>(qs->size()) == spec_.brokers * spec_.queues_per_broker) {
            queues = std::move(*qs);
            break;
          }
          env.scheduler.Sleep(std::chrono::seconds(1));
        }
        for (const client::MessageQueue& mq : queues) {
          int64_t offset = 0;
          for (;;) {
            Result<client::PullResult> r = reader.Pull(mq, "*", offset, 32);
            if (!r.ok()) {
              env.scheduler.Sleep(std::chrono::seconds(1));
              continue;
            }
            // Offsets the answer passes over without a message are records the broker refused to
            // serve (they failed validation).
            int64_t expect = offset;
            for (const protocol::MessageExt& m : r->messages) {
              for (int64_t o = expect; o < m.queue_offset; o++)
                history_->audit.refused.insert({mq, o});
              expect = m.queue_offset + 1;
              history_->audit.keys.insert(m.Keys());
              history_->audit.records++;
              history_->audit.reads.push_back(
                  AuditRead{m.Keys(), MessageQueue{mq.topic, mq.broker_name, mq.queue_id},
                            m.queue_offset, Crc32(m.body)});
            }
            if (r->status == client::PullStatus::kFound || r->next_begin_offset > offset) {
              for (int64_t o = expect; o < r->next_begin_offset; o++) {
                history_->audit.refused.insert({mq, o});
              }
              offset = r->next_begin_offset;
              continue;
            }
            break;  // nothing after `offset`
          }
        }
        // A delayed message waits in its broker's SCHEDULE_TOPIC_XXXX (and stays there after its
        // copy is put): stored, not lost. Read the levels the workload uses.
        if (spec_.delay_fraction > 0) {
          std::set<std::string> brokers;
          for (const client::MessageQueue& mq : queues) brokers.insert(mq.broker_name);
          for (const std::string& broker : brokers) {
            for (int level = 1; level <= spec_.delay_level_max; level++) {
              client::MessageQueue mq{protocol::kScheduleTopic, broker, level - 1};
              int64_t offset = 0;
              for (int errors = 0; errors < kScheduleReadTries;) {
                Result<client::PullResult> r = reader.Pull(mq, "*", offset, 32);
                if (!r.ok()) {
                  errors++;
                  env.scheduler.Sleep(std::chrono::seconds(1));
                  continue;
                }
                for (const protocol::MessageExt& m : r->messages)
                  history_->audit.keys.insert(m.Keys());
                if (r->status != client::PullStatus::kFound && r->next_begin_offset <= offset)
                  break;
                offset = r->next_begin_offset;
              }
            }
          }
        }
        history_->audit.done = true;
        ServeForever(env);
      }});
}

void Cluster::StartAudit() { world_.Start(auditor_); }

void Cluster::AddDlqReader() {
  const std::string host = "10.0.9.2";
  dlq_reader_ = world_.AddNode(NodeSpec{
      "dlq-reader", host, [this, host](io::Env& env) {
        auto instance = ReaderInstance(env, namesrv_addrs_, host, "dlq-reader");
        client::PullConsumerConfig pc;
        pc.group = "sim-dlq-reader";
        client::PullConsumer reader(instance, pc);
        std::vector<std::pair<std::string, std::string>> dlqs;  // group, its DLQ topic
        for (const GroupSpec& g : spec_.groups) {
          if (!g.failing || g.broadcasting) continue;
          dlqs.emplace_back(g.name, std::string(protocol::kDlqGroupTopicPrefix) + g.name);
          reader.RegisterTopic(dlqs.back().second);
        }
        Status started = reader.Start();
        APOGEE_ASSERT(started.ok(), "DLQ reader start: {}", started.ToString());
        std::map<client::MessageQueue, int64_t> next;
        for (;;) {
          for (const auto& [group, topic] : dlqs) {
            Result<std::vector<client::MessageQueue>> qs =
                reader.FetchSubscribeMessageQueues(topic);
            if (!qs.ok()) continue;
            for (const client::MessageQueue& mq : *qs) {
              int64_t& offset = next[mq];
              for (;;) {
                Result<client::PullResult> r = reader.Pull(mq, "*", offset, 32);
                if (!r.ok()) break;  // again next round
                for (const protocol::MessageExt& m : r->messages) {
                  history_->dlq.push_back(DlqRecord{group, m.Keys(), m.msg_id, mq.broker_name,
                                                    m.queue_offset, m.reconsume_times,
                                                    Crc32(m.body), world_.Now()});
                }
                if (r->status == client::PullStatus::kFound || r->next_begin_offset > offset) {
                  offset = r->next_begin_offset;
                  continue;
                }
                // The queue ends before `offset` (a crash took an unsynced tail): follow it back,
                // so what is stored there later is read.
                if (r->next_begin_offset < offset) {
                  offset = r->next_begin_offset;
                  continue;
                }
                break;
              }
            }
          }
          env.scheduler.Sleep(kDlqReadInterval);
        }
      }});
}

void Cluster::StartClockSampler() {
  history_->clock_sample_period = kClockSamplePeriod;
  world_.SpawnController("clock-sampler", [this] {
    std::vector<std::optional<Duration>> last(brokers_.size());
    for (;;) {
      for (size_t i = 0; i < brokers_.size(); i++) {
        Duration offset = world_.clock(brokers_[i]).Offset();
        if (!last[i].has_value() || offset - *last[i] >= kClockSampleStep ||
            *last[i] - offset >= kClockSampleStep) {
          history_->clocks.push_back(ClockSample{world_.name(brokers_[i]), world_.Now(), offset});
          last[i] = offset;
        }
      }
      world_.controller().Sleep(kClockSamplePeriod);
    }
  });
}

}  // namespace apogee::sim
