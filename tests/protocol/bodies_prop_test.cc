// Properties of the JSON bodies: random bodies round-trip, random text never crashes a decoder,
// and subscriptions are built from any tag expression as the Java client builds them.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "core/base/java_hash.h"
#include "core/protocol/bodies.h"

namespace apogee::protocol {
namespace {

// Strings with quotes, backslashes and control characters (ASCII: the reader checks UTF-8).
rc::Gen<std::string> Text() {
  return rc::gen::resize(24, rc::gen::container<std::string>(rc::gen::inRange<char>(1, 127)));
}

TopicRouteData GenRoute() {
  TopicRouteData r;
  if (*rc::gen::arbitrary<bool>()) r.order_topic_conf = *Text();
  int queues = *rc::gen::inRange(0, 4);
  for (int i = 0; i < queues; ++i) {
    r.queue_datas.push_back({*Text(), *rc::gen::arbitrary<int32_t>(),
                             *rc::gen::arbitrary<int32_t>(), *rc::gen::arbitrary<int32_t>(),
                             *rc::gen::arbitrary<int32_t>()});
  }
  int brokers = *rc::gen::inRange(0, 4);
  for (int i = 0; i < brokers; ++i) {
    BrokerData b{*Text(), *Text(), {}};
    b.broker_addrs = *rc::gen::resize(4, rc::gen::container<std::map<int64_t, std::string>>(
                                             rc::gen::arbitrary<int64_t>(), Text()));
    r.broker_datas.push_back(std::move(b));
  }
  r.filter_server_table =
      *rc::gen::resize(3, rc::gen::container<std::map<std::string, std::vector<std::string>>>(
                              Text(), rc::gen::container<std::vector<std::string>>(Text())));
  return r;
}

HeartbeatData GenHeartbeat() {
  HeartbeatData h;
  h.client_id = *Text();
  h.producer_data_set =
      *rc::gen::resize(3, rc::gen::container<std::vector<ProducerData>>(rc::gen::map(
                              Text(), [](std::string g) { return ProducerData{std::move(g)}; })));
  int consumers = *rc::gen::inRange(0, 3);
  for (int i = 0; i < consumers; ++i) {
    ConsumerData c;
    c.group_name = *Text();
    c.consume_type = static_cast<ConsumeType>(*rc::gen::inRange(0, 2));
    c.message_model = static_cast<MessageModel>(*rc::gen::inRange(0, 2));
    c.consume_from_where = static_cast<ConsumeFromWhere>(*rc::gen::inRange(0, 6));
    c.unit_mode = *rc::gen::arbitrary<bool>();
    int subs = *rc::gen::inRange(0, 3);
    for (int j = 0; j < subs; ++j) {
      SubscriptionData s;
      s.topic = *Text();
      s.sub_string = *Text();
      s.tags_set = *rc::gen::resize(4, rc::gen::container<std::set<std::string>>(Text()));
      s.code_set = *rc::gen::resize(4, rc::gen::arbitrary<std::set<int32_t>>());
      s.sub_version = *rc::gen::arbitrary<int64_t>();
      s.expression_type = *Text();
      s.class_filter_mode = *rc::gen::arbitrary<bool>();
      c.subscription_data_set.push_back(std::move(s));
    }
    h.consumer_data_set.push_back(std::move(c));
  }
  return h;
}

// Proves any route survives ToJson then FromJson.
RC_GTEST_PROP(BodiesPropTest, RouteRoundTrips, ()) {
  TopicRouteData r = GenRoute();
  Result<TopicRouteData> back = TopicRouteData::FromJson(r.ToJson());
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == r);
}

// Proves any heartbeat survives ToJson then FromJson.
RC_GTEST_PROP(BodiesPropTest, HeartbeatRoundTrips, ()) {
  HeartbeatData h = GenHeartbeat();
  Result<HeartbeatData> back = HeartbeatData::FromJson(h.ToJson());
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == h);
}

// Proves decoders never crash on random edits of a valid body; failures are kMalformed.
RC_GTEST_PROP(BodiesPropTest, MutatedJsonIsRefusedOrDecodes, ()) {
  std::string text = *rc::gen::arbitrary<bool>() ? GenHeartbeat().ToJson() : GenRoute().ToJson();
  int edits = *rc::gen::inRange(1, 4);
  for (int i = 0; i < edits && !text.empty(); ++i) {
    size_t at = *rc::gen::inRange<size_t>(0, text.size());
    text[at] = *rc::gen::element('{', '}', '[', ']', '"', ':', ',', '0', '7', 'x', ' ', 'n');
  }
  Result<HeartbeatData> h = HeartbeatData::FromJson(text);
  RC_ASSERT(h.ok() || h.code() == ErrorCode::kMalformed);
  Result<TopicRouteData> r = TopicRouteData::FromJson(text);
  RC_ASSERT(r.ok() || r.code() == ErrorCode::kMalformed);
}

// Proves tags joined with "||" and padded with spaces build the trimmed tag set, their Java
// hash codes, and a subscription that round-trips.
RC_GTEST_PROP(BodiesPropTest, SubscriptionFromTagExpression, ()) {
  auto tags = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(
      rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::inRange<char>('A', 'z')))));
  std::string expr;
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i > 0) expr += "||";
    expr += std::string(*rc::gen::inRange<size_t>(0, 3), ' ');
    expr += tags[i];
    expr += std::string(*rc::gen::inRange<size_t>(0, 3), ' ');
  }
  RC_PRE(expr != "*");
  Result<SubscriptionData> s = BuildSubscriptionData("T", expr, 42);
  RC_ASSERT(s.ok());
  std::set<std::string> want_tags(tags.begin(), tags.end());
  std::set<int32_t> want_codes;
  for (const std::string& t : tags) want_codes.insert(JavaStringHash(t));
  RC_ASSERT(s->tags_set == want_tags);
  RC_ASSERT(s->code_set == want_codes);
  RC_ASSERT(s->sub_string == expr);
  Result<SubscriptionData> back = SubscriptionData::FromJson(s->ToJson());
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == *s);
}

}  // namespace
}  // namespace apogee::protocol
