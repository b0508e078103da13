// RouteInfoManager under random sequences of registrations, unregistrations and scans: its
// invariants (asserted inside after every change) hold, and its answers stay consistent with
// what was just done.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "core/nameserver/route_info_manager.h"

namespace apogee::nameserver {
namespace {

using namespace std::chrono_literals;

struct Op {
  int kind = 0;       // 0 register, 1 unregister, 2 scan
  int name = 0;       // broker-a..broker-c
  int addr = 0;       // one of 5 addresses
  int id = 0;         // 0..1
  int cluster = 0;    // c0..c1
  int topics = 0;     // bitmask over T0..T3
  int version = 0;    // data version counter 0..2
  int advance_s = 0;  // seconds that pass before the op
};

rc::Gen<Op> GenOp() {
  return rc::gen::build<Op>(rc::gen::set(&Op::kind, rc::gen::inRange(0, 3)),
                            rc::gen::set(&Op::name, rc::gen::inRange(0, 3)),
                            rc::gen::set(&Op::addr, rc::gen::inRange(0, 5)),
                            rc::gen::set(&Op::id, rc::gen::inRange(0, 2)),
                            rc::gen::set(&Op::cluster, rc::gen::inRange(0, 2)),
                            rc::gen::set(&Op::topics, rc::gen::inRange(0, 16)),
                            rc::gen::set(&Op::version, rc::gen::inRange(0, 3)),
                            rc::gen::set(&Op::advance_s, rc::gen::inRange(0, 70)));
}

std::string Addr(int i) { return fmt::format("10.0.0.{}:10911", i + 1); }
std::string Name(int i) { return fmt::format("broker-{}", static_cast<char>('a' + i)); }

TopicConfigSerializeWrapper TopicsOf(const Op& op) {
  TopicConfigSerializeWrapper w;
  for (int t = 0; t < 4; t++) {
    if ((op.topics & (1 << t)) == 0) continue;
    TopicConfig c;
    c.topic_name = fmt::format("T{}", t);
    w.topic_config_table[c.topic_name] = c;
  }
  w.data_version.counter = op.version;
  return w;
}

RC_GTEST_PROP(RouteInfoManagerPropTest, RandomHistoriesKeepTheTablesConsistent, ()) {
  // Proves that under any history the internal invariants hold, every route pairs each queue
  // data with its broker data in sorted order, a master's fresh topics route to it, an
  // unregistered or expired address is no longer live, and a scan leaves only recent brokers.
  std::vector<Op> ops = *rc::gen::container<std::vector<Op>>(GenOp());
  RouteInfoManager m(120s);
  Instant now = InstantFromNanos(0);
  for (const Op& op : ops) {
    now += std::chrono::seconds(op.advance_s);
    if (op.kind == 0) {
      protocol::RegisterBrokerRequestHeader h;
      h.broker_name = Name(op.name);
      h.broker_addr = Addr(op.addr);
      h.cluster_name = fmt::format("c{}", op.cluster);
      h.ha_server_addr = "ha";
      h.broker_id = op.id;
      TopicConfigSerializeWrapper topics = TopicsOf(op);
      RouteInfoManager::RegisterResult r = m.Register(h, topics, now);
      RC_ASSERT(m.broker_live_table().at(h.broker_addr).last_update == now);
      RC_ASSERT(m.broker_addr_table().at(h.broker_name).broker_addrs.at(op.id) == h.broker_addr);
      if (r.topics_updated) {
        for (const auto& [topic, config] : topics.topic_config_table) {
          std::optional<TopicRouteData> route = m.PickupTopicRouteData(topic);
          RC_ASSERT(route.has_value());
          bool found = false;
          for (const QueueData& q : route->queue_datas) found |= q.broker_name == h.broker_name;
          RC_ASSERT(found);
        }
      }
    } else if (op.kind == 1) {
      protocol::UnregisterBrokerRequestHeader h{Name(op.name), Addr(op.addr),
                                                fmt::format("c{}", op.cluster), op.id};
      if (m.Unregister(h)) RC_ASSERT(!m.broker_live_table().contains(h.broker_addr));
    } else {
      std::vector<std::string> dropped = m.ScanNotActiveBroker(now);
      for (const std::string& a : dropped) RC_ASSERT(!m.broker_live_table().contains(a));
      for (const auto& [addr, live] : m.broker_live_table()) {
        RC_ASSERT(now - live.last_update < 120s);
      }
    }
    for (const auto& [topic, queues] : m.topic_queue_table()) {
      std::optional<TopicRouteData> route = m.PickupTopicRouteData(topic);
      RC_ASSERT(route.has_value());
      RC_ASSERT(route->queue_datas.size() == route->broker_datas.size());
      for (size_t i = 0; i < route->queue_datas.size(); i++) {
        RC_ASSERT(route->queue_datas[i].broker_name == route->broker_datas[i].broker_name);
        if (i > 0)
          RC_ASSERT(route->queue_datas[i - 1].broker_name < route->queue_datas[i].broker_name);
      }
    }
  }
  // Long silence empties everything.
  m.ScanNotActiveBroker(now + 120s);
  RC_ASSERT(m.broker_live_table().empty());
  RC_ASSERT(m.broker_addr_table().empty());
  RC_ASSERT(m.cluster_addr_table().empty());
  RC_ASSERT(m.topic_queue_table().empty());
}

}  // namespace
}  // namespace apogee::nameserver
