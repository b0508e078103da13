#include "core/remoting/remoting_connection.h"

#include <fmt/format.h>

#include <utility>
#include <vector>

#include "core/base/log.h"

namespace apogee {

std::shared_ptr<RemotingConnection> RemotingConnection::Start(
    io::Env& env, std::unique_ptr<io::Connection> connection, RequestHandler handler,
    Options options) {
  APOGEE_ASSERT(connection != nullptr);
  APOGEE_ASSERT(options.requests_in_flight_max >= 1);
  APOGEE_ASSERT(options.read_chunk_bytes >= 1);
  std::shared_ptr<RemotingConnection> self(
      new RemotingConnection(env, std::move(connection), std::move(handler), options));
  // The reader holds a reference: the connection lives at least as long as it is read.
  self->reader_ = env.scheduler.Spawn("remoting-reader", [self] { self->ReadLoop(); });
  self->writer_ = env.scheduler.Spawn("remoting-writer", [self] { self->WriteLoop(); });
  return self;
}

RemotingConnection::RemotingConnection(io::Env& env, std::unique_ptr<io::Connection> connection,
                                       RequestHandler handler, Options options)
    : env_(env),
      connection_(std::move(connection)),
      handler_(std::move(handler)),
      options_(options),
      peer_(connection_->PeerAddress()),
      writer_wake_(env.scheduler.runtime()),
      written_(env.scheduler.runtime()) {}

RemotingConnection::~RemotingConnection() {
  // Every invoker holds a reference while it waits, and Forget erases its entry.
  APOGEE_ASSERT(pending_.empty());
}

void RemotingConnection::ReadLoop() {
  Status why = ReadUntilEnd();
  APOGEE_ASSERT(!why.ok());
  End(std::move(why), /*reset=*/false);
  APOGEE_ASSERT(pending_.empty());
}

Status RemotingConnection::ReadUntilEnd() {
  for (;;) {
    for (;;) {
      Result<std::optional<RemotingCommand>> next = decoder_.Next();
      if (!next.ok()) {
        LOG_WARN("remoting: resetting the connection with {}: {}", peer_.ToString(),
                 next.status().ToString());
        // Invokers see a connection error, whatever broke the stream; the message says what.
        End(Status(ErrorCode::kConnectionReset,
                   fmt::format("reset the connection with {}: {}", peer_.ToString(),
                               next.status().ToString())),
            /*reset=*/true);
        return end_status_;
      }
      if (!next->has_value()) break;
      OnCommand(std::move(**next));
      if (closed()) return end_status_;
    }
    // Straight into the decoder's buffer (not zero-filled, and kept between reads), so the
    // bytes are copied once on their way to a command.
    std::span<uint8_t> room = decoder_.PrepareFeed(options_.read_chunk_bytes);
    Result<size_t> n = connection_->Read(room);
    decoder_.CommitFeed(n.ok() ? *n : 0);
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return Status(ErrorCode::kClosed, fmt::format("{} closed the connection", peer_.ToString()));
    }
  }
}

void RemotingConnection::OnCommand(RemotingCommand cmd) {
  if (cmd.is_response()) {
    OnResponse(std::move(cmd));
  } else {
    OnRequest(std::move(cmd));
  }
}

void RemotingConnection::OnResponse(RemotingCommand response) {
  APOGEE_ASSERT(response.is_response());
  auto it = pending_.find(response.opaque);
  if (it == pending_.end()) {
    stats_.responses_unmatched++;
    LOG_DEBUG("remoting: dropping a response from {} with opaque {}: nobody waits for it",
              peer_.ToString(), response.opaque);
    return;
  }
  auto node = pending_.extract(it);
  node.mapped().SetValue(std::move(response));
}

void RemotingConnection::OnRequest(RemotingCommand request) {
  APOGEE_ASSERT(!request.is_response());
  stats_.requests_received++;
  if (handlers_.size() >= options_.requests_in_flight_max) {
    stats_.requests_rejected_busy++;
    if (request.is_oneway()) {
      LOG_WARN("remoting: dropping oneway request code {} from {}: {} requests in flight",
               request.code, peer_.ToString(), handlers_.size());
      return;
    }
    // Sent by the reader itself: no fiber is spent on a request that is turned away. The reader
    // waits until it is written, so a peer that does not read its answers stops being read.
    Send(MakeResponse(request, kCodeSystemBusy,
                      fmt::format("[OVERLOAD]system busy, {} requests in flight on this "
                                  "connection",
                                  handlers_.size())),
         Deadline{}, /*wait_written=*/true)
        .IgnoreError();  // a failed write ends the connection; the reader sees it
    return;
  }
  uint64_t id = next_handler_id_++;
  std::shared_ptr<RemotingConnection> self = shared_from_this();
  handlers_.emplace(id, env_.scheduler.Spawn("remoting-handler",
                                             [self, id, request = std::move(request)]() mutable {
                                               self->RunHandler(id, std::move(request));
                                             }));
  APOGEE_ASSERT(handlers_.size() <= options_.requests_in_flight_max);
}

void RemotingConnection::RunHandler(uint64_t handler_id, RemotingCommand request) {
  // Leaves the in-flight set however the handler ends, a kill included.
  struct Done {
    RemotingConnection* self;
    uint64_t id;
    ~Done() { self->handlers_.erase(id); }
  } done{this, handler_id};

  const int32_t opaque = request.opaque;
  const bool oneway = request.is_oneway();
  const SerializeType serialize_type = request.serialize_type;
  std::optional<RemotingCommand> response;
  if (handler_) {
    response = handler_(shared_from_this(), std::move(request));
  } else if (!oneway) {
    response = MakeResponse(request, kCodeRequestCodeNotSupported,
                            fmt::format("request type {} not supported", request.code));
  }
  if (!response.has_value()) return;
  if (oneway) {
    LOG_DEBUG("remoting: dropping the response to a oneway request from {}", peer_.ToString());
    return;
  }
  response->opaque = opaque;
  // Answered in the request's own header kind, as RocketMQ's servers do: a client that sent
  // JSON may not read ROCKETMQ headers, and the other way round.
  response->serialize_type = serialize_type;
  SendResponse(std::move(*response)).IgnoreError();  // the connection ended; nobody to tell
}

int32_t RemotingConnection::NextOpaque() {
  int32_t opaque = static_cast<int32_t>(next_opaque_++);
  if (next_opaque_ > static_cast<uint32_t>(INT32_MAX)) next_opaque_ = 1;
  APOGEE_ASSERT(opaque > 0);
  return opaque;
}

Result<RemotingCommand> RemotingConnection::Invoke(RemotingCommand request, Duration timeout) {
  APOGEE_ASSERT(!request.is_response());
  Deadline deadline = env_.scheduler.After(timeout);
  if (closed()) return end_status_;
  int32_t opaque = NextOpaque();
  request.opaque = opaque;
  request.flag &= ~kFlagOneway;
  auto [it, inserted] =
      pending_.emplace(opaque, io::Promise<RemotingCommand>(env_.scheduler.runtime()));
  APOGEE_ASSERT(inserted, "opaque {} still pending", opaque);
  io::Future<RemotingCommand> future = it->second.GetFuture();
  // However this ends (an error, a deadline, a kill), the opaque stops waiting.
  struct Forget {
    RemotingConnection* self;
    int32_t opaque;
    ~Forget() { self->pending_.erase(opaque); }
  } forget{this, opaque};

  // Not waiting for the write: a failed write ends the connection, which fails the future.
  APOGEE_RETURN_IF_ERROR(Send(request, deadline, /*wait_written=*/false));
  Result<RemotingCommand> r = future.Get(deadline);
  if (r.code() == ErrorCode::kTimeout) {
    return Status(
        ErrorCode::kTimeout,
        fmt::format("no response from {} to request code {} (opaque {}) within {}ms",
                    peer_.ToString(), request.code, opaque,
                    std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()));
  }
  APOGEE_ASSERT(!r.ok() || r->opaque == opaque);
  return r;
}

Status RemotingConnection::InvokeOneway(RemotingCommand request) {
  APOGEE_ASSERT(!request.is_response());
  if (closed()) return end_status_;
  request.opaque = NextOpaque();
  request.flag |= kFlagOneway;
  return Send(request, Deadline{}, /*wait_written=*/true);
}

Status RemotingConnection::SendResponse(RemotingCommand response) {
  response.flag |= kFlagResponse;
  // Waiting keeps the handler (and so the in-flight count) until its answer is out: a peer that
  // does not read its answers meets the requests_in_flight_max limit.
  return Send(response, Deadline{}, /*wait_written=*/true);
}

Status RemotingConnection::Send(const RemotingCommand& cmd, Deadline deadline, bool wait_written) {
  if (closed()) return end_status_;
  // EncodeFrame asserts the frame limit; a command too big for it is the caller's error, not
  // a crash. Only a large body can get there, so the header is measured only then.
  if (cmd.body.size() > kFrameBytesMax / 2) {
    size_t header_bytes = cmd.serialize_type == SerializeType::kJson
                              ? EncodeJsonHeader(cmd).size()
                              : EncodeBinaryHeader(cmd).size();
    if (4 + header_bytes + cmd.body.size() > kFrameBytesMax) {
      return Status(ErrorCode::kFrameTooLarge,
                    fmt::format("a frame of {} body bytes exceeds {} bytes", cmd.body.size(),
                                kFrameBytesMax));
    }
  }
  out_queued_ += EncodeFrameTo(cmd, &out_);
  const uint64_t end = out_queued_;
  if (!writing_ && out_.size() >= kEagerWriteBytes) {
    // Enough for a large write: write now rather than after every ready fiber has run, so the
    // peer starts on these frames while this side still works on the rest (the two pipeline
    // instead of taking turns).
    WriteQueued(deadline);
  } else {
    writer_wake_.NotifyOne();
  }
  if (!wait_written) return Status::Ok();
  while (out_written_ < end) {
    if (closed()) return end_status_;
    io::WakeReason why = written_.Wait(deadline);
    if (why == io::WakeReason::kKilled) {
      return Status(ErrorCode::kCancelled, "send interrupted by a kill");
    }
    if (why == io::WakeReason::kTimeout && out_written_ < end) {
      return Status(
          ErrorCode::kTimeout,
          fmt::format("the frame to {} was not written by the deadline", peer_.ToString()));
    }
  }
  return Status::Ok();
}

void RemotingConnection::WriteQueued(Deadline deadline) {
  APOGEE_ASSERT(!writing_);
  APOGEE_ASSERT(!out_.empty());
  // Leaves the writer's role however the write ends, a kill included.
  struct Writing {
    RemotingConnection* self;
    explicit Writing(RemotingConnection* c) : self(c) { self->writing_ = true; }
    ~Writing() {
      self->writing_ = false;
      // Frames queued meanwhile are the writer fiber's now.
      if (!self->out_.empty()) self->writer_wake_.NotifyOne();
    }
  } writing(this);
  // Take everything queued; the emptied spare's capacity takes the next frames.
  std::vector<uint8_t> batch = std::move(spare_);
  batch.clear();
  batch.swap(out_);
  APOGEE_ASSERT(out_written_ + batch.size() == out_queued_);
  Status s = connection_->Write(batch, deadline);
  if (!s.ok()) {
    if (!closed()) {
      // Part of a frame may have left: the stream can no longer be trusted.
      LOG_INFO("remoting: write to {} failed, resetting the connection: {}", peer_.ToString(),
               s.ToString());
      End(s, /*reset=*/true);
    }
    return;
  }
  out_written_ += batch.size();
  APOGEE_ASSERT(out_written_ <= out_queued_);
  spare_ = std::move(batch);
  written_.NotifyAll();
}

void RemotingConnection::WriteLoop() {
  while (!closed()) {
    if (out_.empty() || writing_) {
      if (writer_wake_.Wait() == io::WakeReason::kKilled) return;
      continue;
    }
    WriteQueued(Deadline{});
  }
  written_.NotifyAll();
}

void RemotingConnection::Close() {
  End(Status(ErrorCode::kClosed, fmt::format("connection to {} closed", peer_.ToString())),
      /*reset=*/false);
}

void RemotingConnection::End(Status why, bool reset) {
  APOGEE_ASSERT(!why.ok());
  if (closed()) return;
  end_status_ = std::move(why);
  if (reset) {
    connection_->Reset();
  } else {
    connection_->Close();
  }
  // Fail every waiter at once. Take the map first: a woken invoker erases from it.
  std::map<int32_t, io::Promise<RemotingCommand>> pending = std::move(pending_);
  pending_.clear();
  for (auto& [opaque, promise] : pending) promise.SetError(end_status_);
  APOGEE_ASSERT(pending_.empty());
  // The writer ends, and senders waiting for their frames learn the connection ended.
  writer_wake_.NotifyAll();
  written_.NotifyAll();
}

void RemotingConnection::Join() {
  reader_.Join();
  writer_.Join();
  while (!handlers_.empty()) {
    auto [id, handler] = *handlers_.begin();
    if (handler.Join() == io::WakeReason::kKilled) return;
    // A handler fiber that never started (its node was killed) did not erase itself.
    handlers_.erase(id);
  }
}

}  // namespace apogee
