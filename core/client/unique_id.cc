#include "core/client/unique_id.h"

#include <fmt/format.h>

#include <chrono>

#include "core/base/assert.h"

namespace apogee::client {

namespace {

// Two upper-case hex digits per byte, most significant first (runs for every message sent).
void AppendHex(std::string* out, uint64_t value, int bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  for (int i = bytes - 1; i >= 0; --i) {
    const auto b = static_cast<unsigned>((value >> (8 * i)) & 0xFF);
    out->push_back(kDigits[b >> 4]);
    out->push_back(kDigits[b & 0xF]);
  }
}

uint64_t HexValue(std::string_view hex) {
  uint64_t v = 0;
  for (char c : hex) {
    v <<= 4;
    v |= static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'A' + 10);
  }
  return v;
}

// The first instant (ms since the epoch, UTC) of the month `now` falls in, and of the next one.
std::pair<int64_t, int64_t> MonthBounds(WallTime now) {
  using namespace std::chrono;
  sys_days day = floor<days>(sys_time<nanoseconds>(now.time_since_epoch()));
  year_month_day ymd(day);
  year_month first = ymd.year() / ymd.month();
  year_month next = first + months(1);
  auto ms = [](year_month ym) {
    return duration_cast<milliseconds>(sys_days(ym / 1).time_since_epoch()).count();
  };
  return {ms(first), ms(next)};
}

}  // namespace

std::optional<uint32_t> ParseIpv4(std::string_view text) {
  uint32_t ip = 0;
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    size_t start = i;
    uint32_t part = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3) {
      part = part * 10 + static_cast<uint32_t>(text[i] - '0');
      ++i;
    }
    if (i == start || part > 255) return std::nullopt;
    ip = (ip << 8) | part;
    ++parts;
    if (parts < 4) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != text.size()) return std::nullopt;
  return ip;
}

UniqueIdGenerator::UniqueIdGenerator(std::string_view client_ip, io::Random& random) {
  std::optional<uint32_t> ip = ParseIpv4(client_ip);
  uint32_t ip_bytes = ip.has_value() ? *ip : static_cast<uint32_t>(random.Next());
  AppendHex(&prefix_, ip_bytes, 4);
  AppendHex(&prefix_, random.Next() & 0xFFFF, 2);      // the pid's place
  AppendHex(&prefix_, random.Next() & 0xFFFFFFFF, 4);  // the class loader hash's place
  counter_ = static_cast<uint16_t>(random.Next());
  APOGEE_ASSERT(prefix_.size() == 20);
}

std::string UniqueIdGenerator::Next(WallTime now) {
  int64_t now_ms = ToMillis(now);
  if (now_ms >= next_month_start_ms_ || now_ms < month_start_ms_) {
    std::tie(month_start_ms_, next_month_start_ms_) = MonthBounds(now);
  }
  APOGEE_ASSERT(now_ms >= month_start_ms_);
  std::string id = prefix_;
  id.reserve(kUniqueIdHexDigits);
  AppendHex(&id, static_cast<uint64_t>(now_ms - month_start_ms_), 4);
  AppendHex(&id, counter_++, 2);
  APOGEE_ASSERT(id.size() == kUniqueIdHexDigits);
  return id;
}

bool IsUniqueId(std::string_view id) {
  if (id.size() != kUniqueIdHexDigits) return false;
  for (char c : id) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

std::string UniqueIdIp(std::string_view id) {
  APOGEE_ASSERT(IsUniqueId(id));
  auto ip = static_cast<uint32_t>(HexValue(id.substr(0, 8)));
  return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xFF, (ip >> 8) & 0xFF, ip & 0xFF);
}

uint32_t UniqueIdMonthMillis(std::string_view id) {
  APOGEE_ASSERT(IsUniqueId(id));
  return static_cast<uint32_t>(HexValue(id.substr(20, 8)));
}

}  // namespace apogee::client
