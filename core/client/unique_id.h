#pragma once

// Client-side message ids (the UNIQ_KEY property), in RocketMQ's format (MessageClientIDSetter):
// 32 uppercase hex digits =
//   bytes 0..3   the client's IPv4 address
//   bytes 4..5   a process tag: RocketMQ uses the pid; we draw it from the node's random stream
//   bytes 6..9   an instance tag: RocketMQ uses a class loader's hash; also drawn from random
//   bytes 10..13 milliseconds since the start of the current month (UTC; Java uses local time)
//   bytes 14..15 a counter that wraps at 65536
// The first 20 digits are fixed per generator, the last 12 change with every id. Ids of one
// generator are distinct as long as fewer than 65536 are made in one millisecond.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/time.h"
#include "core/io/random.h"

namespace apogee::client {

inline constexpr size_t kUniqueIdHexDigits = 32;

class UniqueIdGenerator {
 public:
  // `client_ip` is a dotted IPv4 address; anything else (a simulator host name) contributes
  // four random bytes instead, as RocketMQ does when it finds no address.
  UniqueIdGenerator(std::string_view client_ip, io::Random& random);

  // The next id at wall time `now`.
  std::string Next(WallTime now);

  // The 20-digit fixed prefix.
  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
  int64_t month_start_ms_ = 0;  // the month `now` last fell in: [start, next_month_start)
  int64_t next_month_start_ms_ = 0;
  uint16_t counter_ = 0;
};

// The four address bytes of a dotted IPv4 text, or nullopt.
std::optional<uint32_t> ParseIpv4(std::string_view text);

// True when `id` has the shape of a unique id (32 uppercase hex digits).
bool IsUniqueId(std::string_view id);

// The IPv4 address encoded in an id ("10.0.0.1"). REQUIRES: IsUniqueId(id).
std::string UniqueIdIp(std::string_view id);

// Milliseconds since the month start encoded in an id. REQUIRES: IsUniqueId(id).
uint32_t UniqueIdMonthMillis(std::string_view id);

}  // namespace apogee::client
