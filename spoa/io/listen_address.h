// Listen addresses as the CLI and config name them, and the sockets behind them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sticky::io {

struct ListenAddress {
  enum class Kind { Tcp, Unix } kind = Kind::Tcp;
  std::string host;  // numeric IPv4/IPv6 address (brackets stripped) or "*"
  std::uint16_t port = 0;
  std::string path;  // unix socket path
  std::string text;  // as written, for logs
};

// Parses "HOST:PORT", "[IPv6]:PORT", "*:PORT" or "unix:PATH". On failure returns false and
// sets `error` to a one-line reason.
bool parse_listen_address(std::string_view s, ListenAddress& out, std::string& error);

// Opens a non-blocking listening socket. `reuse_port` lets every worker bind its own socket
// to one TCP port so the kernel spreads connections. Returns the fd, or -1 with `error` set.
int open_listener(const ListenAddress& a, bool reuse_port, std::string& error);

// The port a TCP listener is bound to (useful with port 0), or 0.
std::uint16_t bound_port(int fd);

}  // namespace sticky::io
