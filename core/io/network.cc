#include "core/io/network.h"

#include <fmt/format.h>

#include <charconv>

namespace apogee::io {

std::string Address::ToString() const { return fmt::format("{}:{}", host, port); }

Result<Address> Address::Parse(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    return Status(ErrorCode::kInvalidArgument, fmt::format("address '{}' is not host:port", text));
  }
  unsigned port = 0;
  std::string_view port_text = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return Status(ErrorCode::kInvalidArgument, fmt::format("bad port in address '{}'", text));
  }
  return Address{std::string(text.substr(0, colon)), static_cast<uint16_t>(port)};
}

Status Connection::ReadFull(std::span<uint8_t> buf, Deadline deadline) {
  size_t got = 0;
  while (got < buf.size()) {
    Result<size_t> n = Read(buf.subspan(got), deadline);
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return Status(ErrorCode::kClosed,
                    fmt::format("unexpected end of stream after {} of {} bytes", got, buf.size()));
    }
    got += *n;
  }
  return Status::Ok();
}

}  // namespace apogee::io
