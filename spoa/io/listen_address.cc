// Parsing listen addresses and opening listening sockets.
#include "io/listen_address.h"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace sticky::io {

bool parse_listen_address(std::string_view s, ListenAddress& out, std::string& error) {
  out = ListenAddress{};
  out.text = std::string(s);
  if (s.starts_with("unix:")) {
    out.kind = ListenAddress::Kind::Unix;
    out.path = std::string(s.substr(5));
    if (out.path.empty()) {
      error = "unix socket path is empty in '" + out.text + "'";
      return false;
    }
    if (out.path.size() >= sizeof(sockaddr_un{}.sun_path)) {
      error = "unix socket path too long in '" + out.text + "'";
      return false;
    }
    return true;
  }
  std::string_view host, port;
  if (s.starts_with("[")) {
    const std::size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      error = "expected [IPv6]:PORT in '" + out.text + "'";
      return false;
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const std::size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      error = "expected HOST:PORT, [IPv6]:PORT or unix:PATH in '" + out.text + "'";
      return false;
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      error = "IPv6 addresses need brackets: [ADDR]:PORT in '" + out.text + "'";
      return false;
    }
  }
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p > 65535 || port.empty()) {
    error = "bad port '" + std::string(port) + "' in '" + out.text + "'";
    return false;
  }
  out.port = static_cast<std::uint16_t>(p);
  out.host = host.empty() ? "*" : std::string(host);
  if (out.host != "*") {
    in_addr a4{};
    in6_addr a6{};
    if (inet_pton(AF_INET, out.host.c_str(), &a4) != 1 &&
        inet_pton(AF_INET6, out.host.c_str(), &a6) != 1) {
      error = "host must be a numeric IP address or '*' in '" + out.text + "'";
      return false;
    }
  }
  return true;
}

static int fail(std::string& error, const std::string& what, int fd) {
  error = what + ": " + std::strerror(errno);
  if (fd >= 0) ::close(fd);
  return -1;
}

int open_listener(const ListenAddress& a, bool reuse_port, std::string& error) {
  if (a.kind == ListenAddress::Kind::Unix) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(error, "socket(" + a.text + ")", -1);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, a.path.c_str(), a.path.size() + 1);
    struct stat st{};
    // Replace a stale socket left by a previous run, but never any other kind of file.
    if (::lstat(a.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(a.path.c_str());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
      return fail(error, "bind(" + a.text + ")", fd);
    if (::listen(fd, 1024) < 0) return fail(error, "listen(" + a.text + ")", fd);
    return fd;
  }
  const bool v6 = a.host.find(':') != std::string::npos;
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(error, "socket(" + a.text + ")", -1);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
    return fail(error, "SO_REUSEPORT(" + a.text + ")", fd);
  int rc;
  if (v6) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(a.port);
    inet_pton(AF_INET6, a.host.c_str(), &sa.sin6_addr);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  } else {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(a.port);
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    if (a.host != "*") inet_pton(AF_INET, a.host.c_str(), &sa.sin_addr);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  if (rc < 0) return fail(error, "bind(" + a.text + ")", fd);
  if (::listen(fd, 1024) < 0) return fail(error, "listen(" + a.text + ")", fd);
  return fd;
}

std::uint16_t bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

}  // namespace sticky::io
