// Parsing listen addresses and opening listening sockets.
#include "io/listen_address.h"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

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

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// Numbers are taken as ids as they are; names are looked up (files, LDAP... whatever NSS says).
bool resolve_id(const std::string& text, bool group, unsigned& out, std::string& error) {
  if (all_digits(text)) {
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec == std::errc() && p == text.data() + text.size() && out != static_cast<unsigned>(-1)) return true;
    error = std::string(group ? "socket group" : "socket owner") + " '" + text + "' is not a valid id";
    return false;
  }
  std::vector<char> buf(16384);
  while (group) {
    struct group g{}, *found = nullptr;
    const int rc = ::getgrnam_r(text.c_str(), &g, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 4);
      continue;
    }
    if (found == nullptr) {
      error = "socket group '" + text + "': no such group";
      return false;
    }
    out = found->gr_gid;
    return true;
  }
  for (;;) {
    struct passwd pw{}, *found = nullptr;
    const int rc = ::getpwnam_r(text.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 4);
      continue;
    }
    if (found == nullptr) {
      error = "socket owner '" + text + "': no such user";
      return false;
    }
    out = found->pw_uid;
    return true;
  }
}

sockaddr_un unix_sockaddr(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), std::min(path.size() + 1, sizeof sa.sun_path - 1));
  return sa;
}

// The address as one canonical string: the directory of a unix path resolved (the socket itself
// may not exist yet), the TCP wildcards folded into "*".
std::string claim_key(const ListenAddress& a) {
  if (a.kind == ListenAddress::Kind::Unix) {
    const std::size_t slash = a.path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : a.path.substr(0, slash));
    const std::string base = slash == std::string::npos ? a.path : a.path.substr(slash + 1);
    char resolved[PATH_MAX];
    if (::realpath(dir.c_str(), resolved) == nullptr) return "unix:" + a.path;
    const std::string d = resolved;
    return "unix:" + (d == "/" ? d : d + "/") + base;
  }
  const std::string host = (a.host == "0.0.0.0" || a.host == "::") ? "*" : a.host;
  return "tcp:" + host + ":" + std::to_string(a.port);
}

}  // namespace

bool parse_socket_access(const std::string& mode, const std::string& owner, const std::string& group,
                         UnixSocketAccess& out, std::string& error) {
  out = UnixSocketAccess{};
  if (!mode.empty()) {
    unsigned m = 0;
    auto [p, ec] = std::from_chars(mode.data(), mode.data() + mode.size(), m, 8);
    if (ec != std::errc() || p != mode.data() + mode.size() || m > 0777 || mode.size() > 4) {
      error = "socket mode must be octal permission bits such as 0660, got '" + mode + "'";
      return false;
    }
    out.mode = static_cast<int>(m);
  }
  unsigned id = 0;
  if (!owner.empty()) {
    if (!resolve_id(owner, false, id, error)) return false;
    out.uid = static_cast<uid_t>(id);
  }
  if (!group.empty()) {
    if (!resolve_id(group, true, id, error)) return false;
    out.gid = static_cast<gid_t>(id);
  }
  return true;
}

int claim_address(const ListenAddress& a, std::string& error) {
  std::string name = "sticky-agent/" + claim_key(a);
  if (name.size() > sizeof(sockaddr_un{}.sun_path) - 2) {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: only has to be stable and spread
    for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    name = "sticky-agent/h/" + std::string(hex);
  }
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract namespace
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(error, "socket(claim " + a.text + ")", -1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), len) == 0) {
    // Listening lets a refused agent ask who holds the address (SO_PEERCRED below).
    ::listen(fd, 64);
    return fd;
  }
  if (errno != EADDRINUSE) return fail(error, "bind(claim " + a.text + ")", fd);
  ::close(fd);
  std::string who = "another sticky-agent";
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe >= 0) {
    ucred cred{};
    socklen_t clen = sizeof cred;
    if (::connect(probe, reinterpret_cast<sockaddr*>(&sa), len) == 0 &&
        ::getsockopt(probe, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0 && cred.pid > 0)
      who += " (pid " + std::to_string(cred.pid) + ")";
    ::close(probe);
  }
  error = a.text + " is already served by " + who + ": stop it first or listen elsewhere";
  return -1;
}

int open_listener(const ListenAddress& a, bool reuse_port, std::string& error, const UnixSocketAccess& access) {
  if (a.kind == ListenAddress::Kind::Unix) {
    sockaddr_un sa = unix_sockaddr(a.path);
    struct stat st{};
    if (::lstat(a.path.c_str(), &st) == 0) {
      // Never replace another kind of file, nor a socket some live process still listens on;
      // a socket nobody answers on is what a killed agent leaves behind: replace it.
      if (!S_ISSOCK(st.st_mode)) {
        error = a.text + ": the path exists and is not a socket; not replacing it";
        return -1;
      }
      const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (probe < 0) return fail(error, "socket(" + a.text + ")", -1);
      const int rc = ::connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
      const int e = errno;
      ::close(probe);
      if (rc == 0 || e == EAGAIN) {
        error = a.text + " is already served by another process (it accepts connections): stop it first "
                         "or listen elsewhere";
        return -1;
      }
      if (e == ECONNREFUSED) ::unlink(a.path.c_str());
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(error, "socket(" + a.text + ")", -1);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
      return fail(error, "bind(" + a.text + ")", fd);
    // Before listen(): until then every connect is refused, so nobody gets in with the wrong mode.
    if (access.mode >= 0 && ::chmod(a.path.c_str(), static_cast<mode_t>(access.mode)) < 0) {
      fail(error, "chmod(" + a.text + ")", fd);
      ::unlink(a.path.c_str());
      return -1;
    }
    if ((access.uid != static_cast<uid_t>(-1) || access.gid != static_cast<gid_t>(-1)) &&
        ::chown(a.path.c_str(), access.uid, access.gid) < 0) {
      fail(error, "chown(" + a.text + ")", fd);
      ::unlink(a.path.c_str());
      return -1;
    }
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
