#pragma once

// RemotingConnection: one RocketMQ remoting connection (rocketmq-protocol.md section 1) over an
// io::Connection, usable in both directions: either side may Invoke requests on it and either
// side answers the requests it receives through its RequestHandler.
//
// Fibers:
//   - one reader fiber feeds a FrameDecoder; a response (flag bit0) completes the invocation
//     waiting on its opaque, a request is handed to the handler on a fiber of its own;
//   - at most options.requests_in_flight_max handler fibers at once: beyond that a request is
//     answered SYSTEM_BUSY (2) at once and a oneway request is dropped with a log line;
//   - one writer fiber writes the frames: senders append their encoded frames to an output
//     buffer and wake it, and it writes all that is queued in one call. It runs after the fibers
//     that were ready when it was woken, so under load (many handlers answering, many senders
//     invoking) one system call carries many frames. Once kEagerWriteBytes are queued and no
//     write is in progress, the sender that queued the last frame writes them itself, so the
//     peer starts on them while this side works on the rest. One write at a time: frames never
//     interleave.
//
// Lifetime: held by shared_ptr. The reader fiber and every handler fiber hold a reference, so
// the object lives until the connection has ended and every handler has returned, even if
// nobody else keeps it.
//
// Failure: a malformed or oversized frame resets the connection with one warning naming the
// peer and the error. When the connection ends for any reason (Close(), the peer closing or
// resetting, a failed write, a bad frame) every pending Invoke fails at once with kClosed or
// kConnectionReset, and every later call fails the same way.
//
// Invariants:
//   - pending_ holds exactly the invocations still waiting for a response; it is empty once
//     the connection has ended.
//   - handlers_.size() == requests in flight <= options.requests_in_flight_max.
//   - opaques handed out by Invoke/InvokeOneway are unique per connection (start at 1).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "core/base/status.h"
#include "core/base/time.h"
#include "core/io/env.h"
#include "core/io/network.h"
#include "core/io/sync.h"
#include "core/remoting/command.h"
#include "core/remoting/frame.h"

namespace apogee {

// System response codes (RemotingSysResponseCode.java).
inline constexpr int32_t kCodeSuccess = 0;
inline constexpr int32_t kCodeSystemError = 1;
inline constexpr int32_t kCodeSystemBusy = 2;
inline constexpr int32_t kCodeRequestCodeNotSupported = 3;

class RemotingConnection;

// Handles one request. Returns the response to send (its opaque and response flag are set by
// the connection), or nullopt when the request is oneway or the handler answers later with
// SendResponse(). A response returned for a oneway request is dropped. Runs on its own fiber
// and may yield.
using RequestHandler = std::function<std::optional<RemotingCommand>(
    const std::shared_ptr<RemotingConnection>& connection, RemotingCommand request)>;

class RemotingConnection : public std::enable_shared_from_this<RemotingConnection> {
 public:
  struct Options {
    // Requests of the peer handled at once; more are answered SYSTEM_BUSY.
    size_t requests_in_flight_max = 256;
    // The reader's buffer.
    size_t read_chunk_bytes = 64 * 1024;
  };

  struct Stats {
    uint64_t requests_received = 0;
    uint64_t requests_rejected_busy = 0;  // answered SYSTEM_BUSY or, if oneway, dropped
    uint64_t responses_unmatched = 0;     // no invocation waited (late, or never asked)
  };

  // Wraps `connection` and starts its reader fiber on env.scheduler. A null `handler` answers
  // every request REQUEST_CODE_NOT_SUPPORTED. REQUIRES: connection != nullptr;
  // options.requests_in_flight_max >= 1; options.read_chunk_bytes >= 1.
  static std::shared_ptr<RemotingConnection> Start(io::Env& env,
                                                   std::unique_ptr<io::Connection> connection,
                                                   RequestHandler handler, Options options);
  static std::shared_ptr<RemotingConnection> Start(io::Env& env,
                                                   std::unique_ptr<io::Connection> connection,
                                                   RequestHandler handler) {
    return Start(env, std::move(connection), std::move(handler), Options{});
  }

  ~RemotingConnection();
  RemotingConnection(const RemotingConnection&) = delete;
  RemotingConnection& operator=(const RemotingConnection&) = delete;

  // Sends `request` with the next opaque and waits for its response until `timeout` has passed.
  // Fails with kTimeout at the deadline (a response arriving later is dropped), with kClosed or
  // kConnectionReset if the connection ends first (a failed write of the request included),
  // kFrameTooLarge if the request does not fit a frame. The request is queued for the writer,
  // not waited for: a request still queued at the deadline may be written after it. May yield.
  // REQUIRES: request is not a response.
  Result<RemotingCommand> Invoke(RemotingCommand request, Duration timeout);

  // Sends `request` with the oneway flag and the next opaque; does not wait for an answer.
  // OK means the frame was written, not that the peer handled it. May yield.
  Status InvokeOneway(RemotingCommand request);

  // Sends a response (for a handler that answers later). The response flag is set here; the
  // opaque must be the request's. May yield.
  Status SendResponse(RemotingCommand response);

  // Ends the connection in order: the peer reads what was written, then end of stream. Fails
  // every pending invocation with kClosed. Idempotent; does not wait for the fibers (Join).
  void Close();
  // Waits until the reader and writer fibers and every handler fiber have ended. May yield.
  // REQUIRES: not called from one of this connection's handlers (it would wait for itself).
  void Join();

  bool closed() const { return !end_status_.ok(); }
  // Why the connection ended; OK while it is open.
  const Status& end_status() const { return end_status_; }
  const io::Address& peer() const { return peer_; }
  const Stats& stats() const { return stats_; }
  size_t pending_invocations() const { return pending_.size(); }
  size_t requests_in_flight() const { return handlers_.size(); }

 private:
  RemotingConnection(io::Env& env, std::unique_ptr<io::Connection> connection,
                     RequestHandler handler, Options options);

  void ReadLoop();
  // Reads and dispatches until the connection ends; returns why it ended.
  Status ReadUntilEnd();
  void OnCommand(RemotingCommand cmd);
  void OnResponse(RemotingCommand response);
  void OnRequest(RemotingCommand request);
  void RunHandler(uint64_t handler_id, RemotingCommand request);
  int32_t NextOpaque();
  // Queues the frame of `cmd` for the writer and, with `wait_written`, waits until it has been
  // written (kTimeout at the deadline, the frame still queued; the connection's end status if it
  // ends first). Fails at once if closed or the command does not fit a frame.
  Status Send(const RemotingCommand& cmd, Deadline deadline, bool wait_written);
  // Writes everything queued in one call (a failed write ends the connection). REQUIRES: nobody
  // else is writing; something is queued. May yield.
  void WriteQueued(Deadline deadline);
  // The writer fiber: writes what is queued until the connection ends.
  void WriteLoop();
  // Marks the connection ended with `why` (first call wins), closes or resets the socket and
  // fails every pending invocation.
  void End(Status why, bool reset);

  io::Env& env_;
  std::unique_ptr<io::Connection> connection_;
  RequestHandler handler_;
  Options options_;
  io::Address peer_;
  FrameDecoder decoder_;
  // Output. Invariant: out_written_ + (bytes the writer holds) + out_.size() == out_queued_.
  // A sender writes inline, without waiting for the writer fiber, once this much is queued.
  static constexpr size_t kEagerWriteBytes = 16 * 1024;
  std::vector<uint8_t> out_;    // frames queued and not yet taken by a write
  std::vector<uint8_t> spare_;  // the last write's buffer, kept for its capacity
  bool writing_ = false;        // a write is in progress (the writer fiber's or a sender's)
  uint64_t out_queued_ = 0;     // bytes ever queued
  uint64_t out_written_ = 0;    // bytes ever written
  io::WaitQueue writer_wake_;   // the writer waits here for output
  io::WaitQueue written_;       // senders wait here for their frame to be written
  std::map<int32_t, io::Promise<RemotingCommand>> pending_;  // by opaque
  std::map<uint64_t, io::FiberHandle> handlers_;             // by handler id
  io::FiberHandle reader_;
  io::FiberHandle writer_;
  uint32_t next_opaque_ = 1;
  uint64_t next_handler_id_ = 1;
  Status end_status_;
  Stats stats_;
};

}  // namespace apogee
