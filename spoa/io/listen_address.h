// Listen addresses as the CLI and config name them, and the sockets behind them.
#pragma once

#include <sys/types.h>

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

// Who may connect to the agent's unix sockets. Applied between bind() and listen(), so nobody can
// connect before the mode and owner are right.
struct UnixSocketAccess {
  int mode = -1;  // permission bits (e.g. 0660); -1 = as created (0777 minus the umask)
  uid_t uid = static_cast<uid_t>(-1);  // -1 = unchanged
  gid_t gid = static_cast<gid_t>(-1);
};

// Resolves the textual options ("0660", user and group names or numbers; empty = unset). On
// failure returns false with `error` naming the option and the value.
bool parse_socket_access(const std::string& mode, const std::string& owner, const std::string& group,
                         UnixSocketAccess& out, std::string& error);

// Opens a non-blocking listening socket. `reuse_port` lets every worker bind its own socket
// to one TCP port so the kernel spreads connections. A unix socket path that another process
// still listens on is refused; a stale socket file (its owner died) is replaced. Returns the fd,
// or -1 with `error` set.
int open_listener(const ListenAddress& a, bool reuse_port, std::string& error,
                  const UnixSocketAccess& access = {});

// Claims `a` for this process until release_address() (or exit): one agent per address, while
// the agent's own workers still share a TCP port through SO_REUSEPORT. The claim is an abstract
// unix socket named after the address, so the kernel drops it when the process dies (no stale
// lock files) and it is per network namespace like the TCP ports it guards. If another live
// process holds it, returns -1 with `error` naming the address and that process.
int claim_address(const ListenAddress& a, std::string& error);

// The port a TCP listener is bound to (useful with port 0), or 0.
std::uint16_t bound_port(int fd);

}  // namespace sticky::io
