#pragma once

// SimNetwork: the simulator's TCP. Every simulated process reaches the others through the
// io::Network that Attach() hands it, so the code under test keeps the contract of
// core/io/network.h while the simulator decides, from the seed, how long each message takes, how
// reads are cut into pieces, and which faults strike.
//
// The model:
//   - A host is a name ("10.0.0.1"); a host exists once Attach() has named it. A connection has
//     two sides, each on a host, and two directions ("pipes"). Each Write() is one message on its
//     direction, delivered after a one-way latency drawn in [latency_min, latency_max] but never
//     before an earlier message of the same direction (FIFO: due = max(now + latency, last due)).
//   - Read() returns what was delivered and not read yet, with probability chunk_probability only
//     a random shorter prefix of it; 0 once the peer's FIN arrived after all its data.
//   - A writer waits while send_buffer_bytes are written and not yet read by the peer (in flight,
//     held, or delivered and unread); then its whole message is queued at once, so a Write() that
//     fails sent nothing.
//   - Close() queues a FIN behind the data and discards what this side left unread (Linux would
//     send an RST instead when data was unread; here a close stays orderly). Reset() drops this
//     side's undelivered data and queues an RST. An RST arriving drops the receiver's unread data;
//     its calls fail with kConnectionReset. Data arriving at a side that was closed is dropped and
//     answered with an RST, as a kernel answers a segment for a socket that no longer exists.
//   - Connect() sends a SYN (one latency), the server's host answers with a SYN-ACK, or an RST
//     when nothing listens (kConnectionRefused), one latency back. The server side of the
//     connection exists from the SYN's arrival: it is queued for Accept() in arrival order and may
//     write at once. A client that gives up (timeout, kill) resets that side. A connect to a
//     host that was never attached fails with kHostUnreachable after one latency.
//   - Faults act on links (ordered host pairs). A blocked link holds every message (data, FIN,
//     RST, SYN, SYN-ACK) until it is healed, then delivers the held ones in order after a fresh
//     latency, as TCP would retransmit them; a connect across it times out at the caller's
//     timeout. When a block starts, each connection across it is aborted (both sides see
//     kConnectionReset at once) with probability partition_reset_probability, drawn per
//     connection in creation order. A clog delays a link's messages until its end; it never
//     resets.
//   - CrashHost() models the death of the process at a host: its listeners close, each of its
//     connection sides is reset (the peer sees the RST after a latency, or after a heal), its
//     pending connects fail, and every handle from earlier Attach() calls fails with kClosed
//     (destructors stay harmless). A later Attach() starts the next incarnation.
//
// Every random draw comes from the kernel stream "network" in a deterministic order; containers
// whose order steers behaviour are keyed by ids or names, never pointers.
//
// Lifetime: the SimNetwork must be destroyed before its Kernel. Handles may outlive the
// SimNetwork (fibers unwound by the kernel's destructor destroy theirs late): once it is gone,
// every call on them fails with kClosed.
//
// Invariants:
//   - A pipe has a pending delivery event iff it has messages in flight and its link was not
//     blocked when the head message came due; a pipe with messages and no event is held by a
//     blocked link, and every unblocking reschedules it.
//   - Messages of a direction are delivered in the order written; a stream never has holes.
//   - A connection is registered (reachable by faults and crashes) until both sides are closed or
//     reset and nothing is in flight; then no event refers to it.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/base/time.h"
#include "core/io/network.h"
#include "core/io/runtime.h"
#include "sim/kernel.h"

namespace apogee::sim {

struct NetworkOptions {
  // One-way latency of a link, drawn per message within [min, max], never reordering the
  // messages of one direction of a connection.
  Duration latency_min = 50us;
  Duration latency_max = 1ms;
  // Chance that a Read() returns a random shorter prefix of what is available.
  double chunk_probability = 0.3;
  // A writer waits while this many bytes are in flight, held or unread on its direction.
  size_t send_buffer_bytes = size_t{4} << 20;
  // When a partition starts, the chance that each connection across it is reset.
  double partition_reset_probability = 0.3;
  // Connections a listener queues before Accept(); the SYNs of further ones are dropped, so
  // their connects time out (as with Linux's default tcp_abort_on_overflow=0).
  size_t accept_backlog_max = 4096;
};

class SimNetwork {
 public:
  struct Stats {
    uint64_t writes = 0;      // successful non-empty Write() calls
    uint64_t bytes = 0;       // bytes they queued
    uint64_t deliveries = 0;  // data messages delivered to a receiver (open or closed)
    uint64_t resets = 0;      // connection sides that entered the reset state
    uint64_t connects = 0;    // connects that completed
    uint64_t refused = 0;     // connects refused
    uint64_t connect_timeouts = 0;
  };

  // Takes kernel.NewStream("network") for all its draws. REQUIRES: the options are valid (see
  // set_options).
  explicit SimNetwork(Kernel& kernel, NetworkOptions options = {});
  // Detaches every handle (their calls then fail with kClosed), wakes their waiting fibers and
  // cancels every pending event. REQUIRES: the kernel is still alive.
  ~SimNetwork();
  SimNetwork(const SimNetwork&) = delete;
  SimNetwork& operator=(const SimNetwork&) = delete;

  // An io::Network for the process running at `host` (e.g. "10.0.0.1"). From now on `host`
  // exists: connects to it reach its listeners or are refused. The handle works until
  // CrashHost(host), then fails with kClosed. REQUIRES: host is not empty and not "0.0.0.0".
  std::unique_ptr<io::Network> Attach(const std::string& host);

  // The process at `host` died: its listeners close (new connects are refused), every
  // connection with a side on host is reset (peers see kConnectionReset after a link latency;
  // unread data is lost), its pending connects fail with kClosed, and every object handed out by
  // earlier Attach(host) calls (Network, Listener, Connection) fails with kClosed from now on.
  // No effect on a host that was never attached.
  void CrashHost(const std::string& host);

  // Faults. A blocked link holds data until healed; a connect across it times out, it is never
  // refused. A partition that starts may reset connections (see partition_reset_probability).
  void Partition(const std::string& a, const std::string& b);            // both directions
  void PartitionOneWay(const std::string& from, const std::string& to);  // only from -> to
  // Blocks host <-> every other host known now (attached or named by an earlier fault).
  void Isolate(const std::string& host);
  // Unblocks both directions between a and b (whatever blocked them) and releases held data.
  void Heal(const std::string& a, const std::string& b);
  void HealAll();
  // Delays from -> to traffic until now + d (never shortens an earlier clog). Held messages are
  // not reset. Clogs expire on their own; HealAll() does not lift them.
  void Clog(const std::string& from, const std::string& to, Duration d);
  // Aborts every connection between a and b, in either direction: both sides see
  // kConnectionReset at once.
  void ResetConnections(const std::string& a, const std::string& b);
  bool Blocked(const std::string& from, const std::string& to) const;

  // REQUIRES: 0 <= latency_min <= latency_max; probabilities in [0, 1]; send_buffer_bytes > 0;
  // accept_backlog_max > 0. Applies to messages and reads from now on.
  void set_options(const NetworkOptions& options);
  const NetworkOptions& options() const { return options_; }
  const Stats& stats() const { return stats_; }
  // Connections still registered (not yet closed or reset on both sides with nothing in flight).
  size_t live_connections() const { return conns_.size(); }

 private:
  using HostId = uint32_t;
  using Link = std::pair<HostId, HostId>;  // (from, to)
  enum class Kind : uint8_t;               // of a message: data, FIN or RST
  struct Anchor;
  struct Segment;
  struct Pipe;
  struct Side;
  struct ConnState;
  struct ListenerState;
  struct ConnectAttempt;
  class NetworkHandle;
  class ListenerHandle;
  class ConnectionHandle;

  struct Host {
    std::string name;
    bool attached = false;
    uint64_t incarnation = 1;
    uint16_t next_port = 0;
    std::map<uint16_t, std::shared_ptr<ListenerState>> listeners;  // open listeners by port
  };

  // --- Hosts ---
  HostId Intern(const std::string& name);
  std::optional<HostId> Find(std::string_view name) const;
  // The host if `incarnation` is its current one, else nullptr.
  Host* LiveHost(HostId host, uint64_t incarnation);
  std::optional<uint16_t> NextEphemeralPort(Host& host);

  // --- Links ---
  bool Blocked(HostId from, HostId to) const;
  // The end of the clog on from -> to, or the epoch when there is none.
  Instant ClogUntil(HostId from, HostId to);
  Duration DrawLatency();
  // When a message sent now on from -> to arrives if nothing holds it.
  Instant TransitTime(HostId from, HostId to);
  void Block(const std::vector<Link>& links);
  // Reschedules every held message whose link is open again.
  void ReleaseHeld();

  // --- Network handle calls ---
  Result<std::unique_ptr<io::Listener>> Listen(HostId host, uint64_t incarnation,
                                               const io::Address& address);
  Result<std::unique_ptr<io::Connection>> Connect(HostId host, uint64_t incarnation,
                                                  const io::Address& address, Duration timeout);

  // --- Connects ---
  void ScheduleAttempt(ConnectAttempt& attempt, Instant when);
  void AdvanceAttempt(ConnectAttempt& attempt);
  void FinishAttempt(ConnectAttempt& attempt, Status status);
  void DropAttempt(ConnectAttempt& attempt);

  // --- Listeners ---
  static Result<std::unique_ptr<io::Connection>> AcceptOn(ListenerState& listener,
                                                          Deadline deadline);
  static void CloseListener(ListenerState& listener);

  // --- Connections ---
  std::shared_ptr<ConnState> NewConn(HostId client, uint64_t client_incarnation,
                                     const io::Address& client_address, HostId server,
                                     uint64_t server_incarnation,
                                     const io::Address& server_address);
  static Result<size_t> ReadSide(ConnState& conn, int side, std::span<uint8_t> buf,
                                 Deadline deadline);
  static Status WriteSide(ConnState& conn, int side, std::span<const uint8_t> data,
                          Deadline deadline);
  // Closes one side, orderly (FIN) or abortively (RST). Idempotent.
  static void CloseSide(ConnState& conn, int side, bool abort);
  void AfterClose(ConnState& conn, int side, bool abort);
  // Queues one message from `side` on its pipe.
  void Enqueue(ConnState& conn, int side, Kind kind, std::span<const uint8_t> data);
  void SchedulePipe(Pipe& pipe, Instant when);
  void Deliver(Pipe& pipe);
  void ReceiveReset(ConnState& conn, int side);
  void AbortBoth(ConnState& conn);
  void ClearPipe(Pipe& pipe);
  size_t ChunkLength(size_t available);
  // Unregisters the connection once nothing can happen to it any more. May free it: the caller
  // must not touch it afterwards.
  void MaybeRetire(ConnState& conn);
  std::vector<std::shared_ptr<ConnState>> ConnsBetween(HostId a, HostId b) const;

  io::Runtime* runtime_;
  NetworkOptions options_;
  std::unique_ptr<TracedRandom> rng_;
  std::shared_ptr<Anchor> anchor_;
  Stats stats_;
  std::deque<Host> hosts_;  // by HostId: stable references
  std::map<std::string, HostId, std::less<>> host_ids_;
  std::set<Link> blocked_;
  std::map<Link, Instant> clogs_;
  std::map<uint64_t, std::shared_ptr<ConnState>> conns_;  // registered connections by id
  std::map<uint64_t, ConnectAttempt*> connecting_;        // connects in progress by id
  uint64_t next_conn_id_ = 1;
  uint64_t next_attempt_id_ = 1;
};

}  // namespace apogee::sim
