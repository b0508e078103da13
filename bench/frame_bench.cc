// Remoting codec benchmarks: the work every request and response costs on its way through a
// connection, without the network. A SEND_MESSAGE_V2 and a PULL_MESSAGE request as the clients
// build them (typed header -> extFields -> ROCKETMQ binary frame), and the reverse on the
// receiving side (bytes -> FrameDecoder -> extFields -> typed header). Items = commands.

#include <benchmark/benchmark.h>

#include <vector>

#include "core/protocol/codes.h"
#include "core/protocol/headers.h"
#include "core/remoting/frame.h"

namespace apogee {
namespace {

protocol::SendMessageRequestHeader SendHeader() {
  protocol::SendMessageRequestHeader h;
  h.producer_group = "reference-producer-group";
  h.topic = "reference-topic";
  h.queue_id = 3;
  h.born_timestamp = 1700000000123;
  h.properties =
      "UNIQ_KEY\x01"
      "0A000001000018B4AAC2\x02WAIT\x01true\x02";
  h.max_reconsume_times = 16;
  h.broker_name.emplace("broker-a");
  return h;
}

protocol::PullMessageRequestHeader PullHeader() {
  protocol::PullMessageRequestHeader h;
  h.consumer_group = "reference-consumer-group";
  h.topic = "reference-topic";
  h.queue_id = 2;
  h.queue_offset = 123456;
  h.commit_offset = 123400;
  h.suspend_timeout_millis = 15000;
  h.subscription.emplace("*");
  h.sub_version = 1700000000000;
  h.expression_type.emplace("TAG");
  return h;
}

RemotingCommand SendCommand() {
  RemotingCommand cmd = protocol::MakeRequest(protocol::request::kSendMessageV2);
  SendHeader().Encode(cmd.ext_fields, /*short_names=*/true);
  cmd.body.assign(256, 0x61);
  return cmd;
}

RemotingCommand PullCommand() {
  RemotingCommand cmd = protocol::MakeRequest(protocol::request::kPullMessage);
  PullHeader().Encode(cmd.ext_fields);
  return cmd;
}

// Typed header -> extFields -> frame bytes, appended to a reused output buffer.
void BM_EncodeSendRequest(benchmark::State& state) {
  const protocol::SendMessageRequestHeader h = SendHeader();
  const std::vector<uint8_t> body(256, 0x61);
  std::vector<uint8_t> out;
  for (auto _ : state) {
    RemotingCommand cmd = protocol::MakeRequest(protocol::request::kSendMessageV2, {}, body);
    h.Encode(cmd.ext_fields, /*short_names=*/true);
    out.clear();
    EncodeFrameTo(cmd, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeSendRequest);

void BM_EncodePullRequest(benchmark::State& state) {
  const protocol::PullMessageRequestHeader h = PullHeader();
  std::vector<uint8_t> out;
  for (auto _ : state) {
    RemotingCommand cmd = protocol::MakeRequest(protocol::request::kPullMessage);
    h.Encode(cmd.ext_fields);
    out.clear();
    EncodeFrameTo(cmd, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodePullRequest);

// Frame bytes -> FrameDecoder -> typed header, one frame per Feed.
void BM_DecodeSendRequest(benchmark::State& state) {
  const std::vector<uint8_t> frame = EncodeFrame(SendCommand());
  FrameDecoder d;
  for (auto _ : state) {
    d.Feed(frame);
    auto cmd = d.Next();
    auto h = protocol::SendMessageRequestHeader::Decode(**cmd);
    benchmark::DoNotOptimize(h);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeSendRequest);

void BM_DecodePullRequest(benchmark::State& state) {
  const std::vector<uint8_t> frame = EncodeFrame(PullCommand());
  FrameDecoder d;
  for (auto _ : state) {
    d.Feed(frame);
    auto cmd = d.Next();
    auto h = protocol::PullMessageRequestHeader::Decode((**cmd).ext_fields);
    benchmark::DoNotOptimize(h);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodePullRequest);

// The same PULL_MESSAGE with a JSON header, as a client that does not send ROCKETMQ headers.
void BM_JsonRoundTripPullRequest(benchmark::State& state) {
  RemotingCommand pull = PullCommand();
  pull.serialize_type = SerializeType::kJson;
  std::vector<uint8_t> out;
  FrameDecoder d;
  for (auto _ : state) {
    out.clear();
    EncodeFrameTo(pull, &out);
    d.Feed(out);
    auto cmd = d.Next();
    auto h = protocol::PullMessageRequestHeader::Decode((**cmd).ext_fields);
    benchmark::DoNotOptimize(h);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JsonRoundTripPullRequest);

}  // namespace
}  // namespace apogee
