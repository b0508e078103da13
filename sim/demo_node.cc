#include "sim/demo_node.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "core/base/bytes.h"
#include "core/base/crc32.h"
#include "core/base/log.h"
#include "core/io/random.h"
#include "core/io/sync.h"

namespace apogee::sim::demo {
namespace {

constexpr uint8_t kTypeMessage = 1;
constexpr uint8_t kTypeAck = 2;
constexpr size_t kHeaderBytes = 8;

std::vector<uint8_t> Frame(std::span<const uint8_t> payload) {
  APOGEE_ASSERT(payload.size() <= kPayloadBytesMax);
  std::vector<uint8_t> out;
  ByteWriter w(&out);
  w.U32(static_cast<uint32_t>(payload.size()));
  w.U32(MaskedCrc32(payload));
  w.Bytes(payload);
  return out;
}

// Reads one frame's payload. A CRC failure on the network is a violation: the stream promises
// bytes exactly once and in order.
Result<std::vector<uint8_t>> ReadFrame(io::Connection& conn, Deadline deadline,
                                       DemoObserver* observer) {
  uint8_t header[kHeaderBytes];
  APOGEE_RETURN_IF_ERROR(conn.ReadFull(header, deadline));
  uint32_t size = GetU32(header);
  uint32_t crc = GetU32(header + 4);
  if (size == 0 || size > kPayloadBytesMax) {
    observer->on_violation(fmt::format("network delivered a frame of {} bytes", size));
    return Status(ErrorCode::kMalformed, "bad frame size");
  }
  std::vector<uint8_t> payload(size);
  APOGEE_RETURN_IF_ERROR(conn.ReadFull(payload, deadline));
  if (MaskedCrc32(payload) != crc) {
    observer->on_violation("network delivered a frame with a bad CRC");
    return Status(ErrorCode::kCorruption, "bad frame crc");
  }
  return payload;
}

// The node's inbox file. Appends are serialized by a mutex; a failed write or sync leaves the
// file in an unknown state, so the next append first recovers it (scan and cut the bad tail).
class Inbox {
 public:
  explicit Inbox(io::Env& env) : env_(env), mu_(env.scheduler.runtime()) {}

  // Opens and scans the inbox, cutting any invalid tail. Retries through transient disk errors.
  // May yield.
  std::vector<InboxRecord> Recover(uint64_t* cut_bytes) {
    for (uint32_t attempt = 0;; attempt++) {
      Result<std::vector<InboxRecord>> r = TryRecover(cut_bytes);
      if (r.ok()) return std::move(r).value();
      LOG_INFO("inbox recovery failed ({}), attempt {}", r.status().ToString(), attempt);
      env_.scheduler.Sleep(std::chrono::milliseconds(env_.random.Range(20, 200)));
    }
  }

  // Appends and syncs one message frame. OK means it is durable. May yield.
  Status AppendDurably(std::span<const uint8_t> frame) {
    io::MutexLock lock(mu_);
    if (!lock.ok()) return lock.status();
    if (broken_) APOGEE_RETURN_IF_ERROR(Repair());
    Status s = file_->WriteAt(end_, frame);
    if (s.ok()) s = file_->Sync();
    if (!s.ok()) {
      // The tail past end_ is in an unknown state (a failed sync may have dropped it, a failed
      // write may have left part of it). Everything before end_ was synced: keep it, cut the rest.
      broken_ = true;
      return s;
    }
    end_ += frame.size();
    return Status::Ok();
  }

 private:
  Result<std::vector<InboxRecord>> TryRecover(uint64_t* cut_bytes) {
    file_.reset();
    APOGEE_ASSIGN_OR_RETURN(file_, env_.disk.Open(kInboxPath, io::OpenOptions{.create = true}));
    APOGEE_RETURN_IF_ERROR(env_.disk.SyncDir(""));
    APOGEE_ASSIGN_OR_RETURN(std::vector<uint8_t> image, env_.disk.ReadAll(kInboxPath));
    uint64_t valid = 0;
    uint64_t damaged = 0;
    std::vector<InboxRecord> records = ParseInbox(image, &valid, &damaged);
    if (damaged > 0) LOG_WARN("inbox has {} damaged records, skipped", damaged);
    *cut_bytes = image.size() - valid;
    if (valid != image.size()) {
      APOGEE_RETURN_IF_ERROR(file_->Truncate(valid));
      APOGEE_RETURN_IF_ERROR(file_->Sync());
    }
    end_ = valid;
    broken_ = false;
    return records;
  }

  // Cuts the file back to the end of the last synced record.
  Status Repair() {
    APOGEE_RETURN_IF_ERROR(file_->Truncate(end_));
    APOGEE_RETURN_IF_ERROR(file_->Sync());
    broken_ = false;
    return Status::Ok();
  }

  io::Env& env_;
  io::Mutex mu_;
  std::unique_ptr<io::File> file_;
  uint64_t end_ = 0;
  bool broken_ = true;
};

struct NodeState {
  NodeState(io::Env& e, const DemoNodeConfig& c) : env(e), config(c), inbox(e) {}
  io::Env& env;
  DemoNodeConfig config;
  Inbox inbox;
};

void ServeConnection(std::shared_ptr<NodeState> node, io::Connection& conn) {
  io::Env& env = node->env;
  for (;;) {
    Result<std::vector<uint8_t>> payload = ReadFrame(conn, {}, node->config.observer);
    if (!payload.ok()) return;
    ByteReader r(*payload);
    uint8_t type = r.U8();
    uint64_t id = r.U64();
    if (!r.ok() || type != kTypeMessage) {
      node->config.observer->on_violation("server got a frame that is not a message");
      return;
    }
    if (!node->inbox.AppendDurably(Frame(*payload)).ok()) {
      conn.Reset();  // the sender resends on a new connection
      return;
    }
    // A slow acknowledgement now and then, so senders' timeouts and resends get exercised.
    if (APOGEE_BUGGIFY(env)) env.scheduler.Sleep(std::chrono::milliseconds(1500));
    // Or a connection lost after the message is durable and before the ack: the sender must
    // resend, and the receiver then holds the message twice (at-least-once).
    if (APOGEE_BUGGIFY(env)) {
      conn.Reset();
      return;
    }
    if (!conn.Write(EncodeAck(id)).ok()) return;
  }
}

void AcceptLoop(std::shared_ptr<NodeState> node, io::Listener& listener) {
  for (;;) {
    Result<std::unique_ptr<io::Connection>> accepted = listener.Accept();
    if (!accepted.ok()) return;
    std::shared_ptr<io::Connection> conn = std::move(accepted).value();
    node->env.scheduler.Spawn("serve", [node, conn] { ServeConnection(node, *conn); });
  }
}

// Sends messages to one peer for ever: each until acknowledged, resending over a new connection
// after any error or a missing acknowledgement.
void SendLoop(std::shared_ptr<NodeState> node, uint32_t peer) {
  io::Env& env = node->env;
  const std::string& host = node->config.peer_hosts[peer];
  uint64_t id = env.random.Next();
  for (;;) {
    // Now and then a connect timeout far too short to succeed, so that path runs too.
    Duration connect_timeout =
        APOGEE_BUGGIFY(env) ? std::chrono::microseconds(10) : std::chrono::milliseconds(500);
    Result<std::unique_ptr<io::Connection>> conn =
        env.network.Connect(io::Address{host, kPort}, connect_timeout);
    if (!conn.ok()) {
      env.scheduler.Sleep(std::chrono::milliseconds(env.random.Range(20, 200)));
      continue;
    }
    for (;;) {
      if (!(*conn)->Write(EncodeMessage(id, node->config.index)).ok()) break;
      Deadline ack_deadline = env.scheduler.After(std::chrono::seconds(1));
      Result<std::vector<uint8_t>> ack = ReadFrame(**conn, ack_deadline, node->config.observer);
      if (!ack.ok()) break;
      ByteReader r(*ack);
      uint8_t type = r.U8();
      uint64_t acked = r.U64();
      if (!r.ok() || type != kTypeAck || acked != id) {
        node->config.observer->on_violation(
            fmt::format("sender expected ack of {:x}, got type {} id {:x}", id, type, acked));
        break;
      }
      node->config.observer->on_acked(node->config.index, peer, id);
      id = env.random.Next();
      env.scheduler.Sleep(std::chrono::milliseconds(env.random.Range(5, 60)));
    }
    (*conn)->Close();
  }
}

}  // namespace

std::vector<uint8_t> MessageBody(uint64_t id) {
  io::SeededRandom rng(id);
  std::vector<uint8_t> body(16 + rng.Uniform(240));
  for (size_t i = 0; i < body.size(); i += 8) {
    uint64_t word = rng.Next();
    for (size_t k = 0; k < 8 && i + k < body.size(); k++)
      body[i + k] = static_cast<uint8_t>(word >> (8 * k));
  }
  return body;
}

std::vector<uint8_t> EncodeMessage(uint64_t id, uint32_t sender) {
  std::vector<uint8_t> payload;
  ByteWriter w(&payload);
  w.U8(kTypeMessage);
  w.U64(id);
  w.U32(sender);
  w.Bytes(MessageBody(id));
  return Frame(payload);
}

std::vector<uint8_t> EncodeAck(uint64_t id) {
  std::vector<uint8_t> payload;
  ByteWriter w(&payload);
  w.U8(kTypeAck);
  w.U64(id);
  return Frame(payload);
}

namespace {

// The frame starting at `pos`, if a whole valid message frame starts there: size in bounds,
// CRC right, and a body equal to MessageBody(id).
std::optional<InboxRecord> FrameAt(std::span<const uint8_t> image, uint64_t pos,
                                   uint64_t* frame_bytes) {
  if (image.size() - pos < kHeaderBytes) return std::nullopt;
  uint32_t size = GetU32(&image[pos]);
  uint32_t crc = GetU32(&image[pos + 4]);
  if (size == 0 || size > kPayloadBytesMax) return std::nullopt;
  if (image.size() - pos - kHeaderBytes < size) return std::nullopt;
  std::span<const uint8_t> payload = image.subspan(pos + kHeaderBytes, size);
  if (MaskedCrc32(payload) != crc) return std::nullopt;
  ByteReader r(payload);
  uint8_t type = r.U8();
  uint64_t id = r.U64();
  uint32_t sender = r.U32();
  std::span<const uint8_t> body = r.Bytes(r.remaining());
  if (!r.ok() || type != kTypeMessage) return std::nullopt;
  std::vector<uint8_t> expected = MessageBody(id);
  if (!std::equal(body.begin(), body.end(), expected.begin(), expected.end())) {
    return std::nullopt;
  }
  *frame_bytes = kHeaderBytes + size;
  return InboxRecord{id, sender, pos};
}

}  // namespace

std::vector<InboxRecord> ParseInbox(std::span<const uint8_t> image, uint64_t* valid_bytes,
                                    uint64_t* damaged) {
  std::vector<InboxRecord> records;
  uint64_t pos = 0;
  uint64_t end = 0;  // just past the last valid frame
  *damaged = 0;
  while (pos < image.size()) {
    uint64_t frame_bytes = 0;
    std::optional<InboxRecord> record = FrameAt(image, pos, &frame_bytes);
    if (record.has_value()) {
      records.push_back(*record);
      pos += frame_bytes;
      end = pos;
      continue;
    }
    // Damage: look for the next valid frame. A CRC plus a body derived from the id make a false
    // match practically impossible. None means this is the torn or garbage tail.
    uint64_t next = pos + 1;
    while (next < image.size() && !FrameAt(image, next, &frame_bytes).has_value()) next++;
    if (next >= image.size()) break;
    (*damaged)++;
    pos = next;
  }
  *valid_bytes = end;
  return records;
}

void RunDemoNode(io::Env& env, const DemoNodeConfig& config) {
  APOGEE_ASSERT(config.observer != nullptr);
  APOGEE_ASSERT(config.index < config.peer_hosts.size());
  auto node = std::make_shared<NodeState>(env, config);
  uint64_t cut = 0;
  std::vector<InboxRecord> records = node->inbox.Recover(&cut);
  config.observer->on_recovered(config.index, records, cut);
  LOG_DEBUG("recovered {} inbox records, cut {} bytes", records.size(), cut);

  Result<std::unique_ptr<io::Listener>> listener = env.network.Listen(io::Address{"", kPort});
  APOGEE_ASSERT(listener.ok(), "demo node cannot listen: {}", listener.status().ToString());
  std::shared_ptr<io::Listener> shared_listener = std::move(listener).value();
  env.scheduler.Spawn("accept", [node, shared_listener] { AcceptLoop(node, *shared_listener); });
  for (uint32_t peer = 0; peer < config.peer_hosts.size(); peer++) {
    if (peer == config.index) continue;
    env.scheduler.Spawn(fmt::format("send-{}", peer), [node, peer] { SendLoop(node, peer); });
  }
}

}  // namespace apogee::sim::demo
