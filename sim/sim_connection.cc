// SimNetwork's connections: the two pipes of each, reads, writes, closes, resets and the
// delivery of messages in flight.

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "core/base/assert.h"
#include "core/base/status.h"
#include "core/io/sync.h"
#include "core/io/wait_queue.h"
#include "sim/sim_network.h"
#include "sim/sim_network_internal.h"

namespace apogee::sim {

using net_detail::ClosedError;

// --- Connections ---

std::shared_ptr<SimNetwork::ConnState> SimNetwork::NewConn(
    HostId client, uint64_t client_incarnation, const io::Address& client_address, HostId server,
    uint64_t server_incarnation, const io::Address& server_address) {
  auto conn = std::make_shared<ConnState>(this, next_conn_id_++, *runtime_);
  conn->sides[0].host = client;
  conn->sides[0].incarnation = client_incarnation;
  conn->sides[0].local = client_address;
  conn->sides[1].host = server;
  conn->sides[1].incarnation = server_incarnation;
  conn->sides[1].local = server_address;
  auto [it, inserted] = conns_.emplace(conn->id, conn);
  APOGEE_ASSERT(inserted);
  return conn;
}

Result<size_t> SimNetwork::ReadSide(ConnState& conn, int side, std::span<uint8_t> buf,
                                    Deadline deadline) {
  Side& self = conn.sides[side];
  Pipe& in = conn.pipes[1 - side];
  for (;;) {
    if (self.closed) return ClosedError("read");
    if (self.reset) {
      return Status(
          ErrorCode::kConnectionReset,
          fmt::format("read: {} reset the connection", conn.sides[1 - side].local.ToString()));
    }
    if (in.readable > 0) {
      if (buf.empty()) return size_t{0};
      SimNetwork* net = conn.net;
      APOGEE_ASSERT(net != nullptr, "an open side with data belongs to a live network");
      size_t n = net->ChunkLength(std::min(in.readable, buf.size()));
      APOGEE_ASSERT(n >= 1);
      APOGEE_ASSERT(n <= in.readable);
      std::copy_n(in.bytes.begin(), n, buf.begin());
      in.bytes.erase(in.bytes.begin(), in.bytes.begin() + static_cast<ptrdiff_t>(n));
      in.readable -= n;
      if (in.bytes.size() < net->options_.send_buffer_bytes)
        conn.sides[1 - side].writers.NotifyOne();
      return n;
    }
    if (in.fin_delivered) return size_t{0};  // end of stream: everything before it was read
    if (buf.empty()) return size_t{0};
    io::WakeReason r = self.readers.Wait(deadline);
    if (r != io::WakeReason::kNotified) return io::WaitStatus(r, "read");
  }
}

Status SimNetwork::WriteSide(ConnState& conn, int side, std::span<const uint8_t> data,
                             Deadline deadline) {
  Side& self = conn.sides[side];
  Pipe& out = conn.pipes[side];
  for (;;) {
    if (self.closed) return ClosedError("write");
    if (self.reset) {
      return Status(
          ErrorCode::kConnectionReset,
          fmt::format("write: {} reset the connection", conn.sides[1 - side].local.ToString()));
    }
    APOGEE_ASSERT(conn.net != nullptr, "an open side belongs to a live network");
    if (out.bytes.size() < conn.net->options_.send_buffer_bytes) break;
    io::WakeReason r = self.writers.Wait(deadline);
    if (r != io::WakeReason::kNotified) return io::WaitStatus(r, "write");
  }
  if (data.empty()) return Status::Ok();
  SimNetwork* net = conn.net;
  net->stats_.writes++;
  net->stats_.bytes += data.size();
  net->Enqueue(conn, side, Kind::kData, data);
  return Status::Ok();
}

void SimNetwork::CloseSide(ConnState& conn, int side, bool abort) {
  Side& self = conn.sides[side];
  if (self.closed) return;
  self.closed = true;
  self.readers.NotifyAll();
  self.writers.NotifyAll();
  if (conn.net == nullptr) return;  // retired, or the network is gone: nothing to send
  conn.net->AfterClose(conn, side, abort);
}

void SimNetwork::AfterClose(ConnState& conn, int side, bool abort) {
  Side& self = conn.sides[side];
  APOGEE_ASSERT(self.closed);
  if (!self.reset) {
    // This side reads no more: drop what it left unread, which frees the peer's send buffer.
    // What is still in flight towards it is dropped on arrival and answered with an RST.
    Pipe& in = conn.pipes[1 - side];
    in.bytes.erase(in.bytes.begin(), in.bytes.begin() + static_cast<ptrdiff_t>(in.readable));
    in.readable = 0;
    conn.sides[1 - side].writers.NotifyOne();
    Pipe& out = conn.pipes[side];
    if (abort) {
      // Abortive: what has not reached the peer is dropped. Only data can be in flight, since
      // this side sent neither FIN nor RST while it was open.
      for (const Segment& segment : out.in_flight) APOGEE_ASSERT(segment.kind == Kind::kData);
      if (out.event_pending) runtime_->Cancel(out.event);
      out.event_pending = false;
      out.in_flight.clear();
      out.bytes.resize(out.readable);
      self.rst_sent = true;
      Enqueue(conn, side, Kind::kRst, {});
    } else {
      Enqueue(conn, side, Kind::kFin, {});
    }
  }
  MaybeRetire(conn);
}

void SimNetwork::Enqueue(ConnState& conn, int side, Kind kind, std::span<const uint8_t> data) {
  Pipe& pipe = conn.pipes[side];
  HostId src = conn.sides[side].host;
  HostId dst = conn.sides[1 - side].host;
  APOGEE_ASSERT(conn.net == this);
  APOGEE_ASSERT(kind == Kind::kData || data.empty());
  // FIFO per direction: never before the message written just before.
  Instant due = std::max(runtime_->Now() + DrawLatency(), pipe.last_due);
  due = std::max(due, ClogUntil(src, dst));
  APOGEE_ASSERT(pipe.in_flight.empty() || pipe.in_flight.back().due <= due);
  pipe.last_due = due;
  pipe.bytes.insert(pipe.bytes.end(), data.begin(), data.end());
  pipe.in_flight.push_back(Segment{due, data.size(), kind});
  if (pipe.in_flight.size() == 1) {
    SchedulePipe(pipe, due);
    return;
  }
  // Messages ahead of this one are either scheduled or held by a blocked link.
  if (!pipe.event_pending) APOGEE_ASSERT(Blocked(src, dst), "a held pipe on an open link");
}

void SimNetwork::SchedulePipe(Pipe& pipe, Instant when) {
  APOGEE_ASSERT(!pipe.event_pending);
  APOGEE_ASSERT(!pipe.in_flight.empty());
  pipe.event = runtime_->At(when, [p = &pipe] { p->conn->net->Deliver(*p); });
  pipe.event_pending = true;
}

void SimNetwork::Deliver(Pipe& pipe) {
  pipe.event_pending = false;
  ConnState& conn = *pipe.conn;
  APOGEE_ASSERT(conn.net == this);
  APOGEE_ASSERT(!pipe.in_flight.empty());
  const int to = 1 - pipe.from;
  HostId src = conn.sides[pipe.from].host;
  HostId dst = conn.sides[to].host;
  if (Blocked(src, dst)) return;  // held until ReleaseHeld()
  Instant now = runtime_->Now();
  Instant clog = ClogUntil(src, dst);
  if (now < clog) {
    SchedulePipe(pipe, clog);
    return;
  }
  Side& receiver = conn.sides[to];
  while (!pipe.in_flight.empty() && pipe.in_flight.front().due <= now) {
    Segment segment = pipe.in_flight.front();
    pipe.in_flight.pop_front();
    if (segment.kind == Kind::kRst) {
      ReceiveReset(conn, to);  // clears both pipes: the loop ends
      APOGEE_ASSERT(pipe.in_flight.empty());
      break;
    }
    APOGEE_ASSERT(!receiver.reset, "a reset side receives nothing");
    if (segment.kind == Kind::kFin) {
      pipe.fin_delivered = true;
      receiver.readers.NotifyAll();
      continue;
    }
    stats_.deliveries++;
    if (!receiver.closed) {
      pipe.readable += segment.length;
      APOGEE_ASSERT(pipe.readable <= pipe.bytes.size());
      receiver.readers.NotifyOne();
      continue;
    }
    // Nobody will read it: drop it, free the sender's buffer, and answer with an RST once.
    APOGEE_ASSERT(pipe.readable == 0);
    APOGEE_ASSERT(segment.length <= pipe.bytes.size());
    pipe.bytes.erase(pipe.bytes.begin(),
                     pipe.bytes.begin() + static_cast<ptrdiff_t>(segment.length));
    conn.sides[pipe.from].writers.NotifyOne();
    if (!receiver.rst_sent) {
      receiver.rst_sent = true;
      Enqueue(conn, to, Kind::kRst, {});
    }
  }
  if (!pipe.in_flight.empty()) SchedulePipe(pipe, pipe.in_flight.front().due);
  MaybeRetire(conn);  // last: it may free conn and pipe
}

void SimNetwork::ReceiveReset(ConnState& conn, int side) {
  Side& self = conn.sides[side];
  if (!self.reset) {
    self.reset = true;
    stats_.resets++;
  }
  // Unread data is lost; what this side still had in flight goes nowhere, since the peer is gone.
  ClearPipe(conn.pipes[0]);
  ClearPipe(conn.pipes[1]);
  self.readers.NotifyAll();
  self.writers.NotifyAll();
  conn.sides[1 - side].writers.NotifyAll();
}

void SimNetwork::AbortBoth(ConnState& conn) {
  APOGEE_ASSERT(conn.net == this);
  for (Side& side : conn.sides) {
    if (!side.reset) {
      side.reset = true;
      stats_.resets++;
    }
    side.readers.NotifyAll();
    side.writers.NotifyAll();
  }
  ClearPipe(conn.pipes[0]);
  ClearPipe(conn.pipes[1]);
  MaybeRetire(conn);
}

void SimNetwork::ClearPipe(Pipe& pipe) {
  if (pipe.event_pending) runtime_->Cancel(pipe.event);
  pipe.event_pending = false;
  pipe.in_flight.clear();
  pipe.bytes.clear();
  pipe.readable = 0;
}

size_t SimNetwork::ChunkLength(size_t available) {
  APOGEE_ASSERT(available >= 1);
  if (available == 1) return 1;
  if (!rng_->Chance(options_.chunk_probability)) return available;
  return 1 + static_cast<size_t>(rng_->Uniform(available - 1));
}

void SimNetwork::MaybeRetire(ConnState& conn) {
  for (const Side& side : conn.sides) {
    if (!side.closed && !side.reset) return;
  }
  for (const Pipe& pipe : conn.pipes) {
    if (!pipe.in_flight.empty()) return;
  }
  for (const Pipe& pipe : conn.pipes) APOGEE_ASSERT(!pipe.event_pending);
  conn.net = nullptr;
  uint64_t id = conn.id;
  conns_.erase(id);
}

}  // namespace apogee::sim
