// Blocking client for one command on HAProxy's runtime API (stats socket), bounded by a deadline.
#include "health/runtime_api.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sticky::health {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on fd; false on timeout or poll failure.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

std::string errno_text(std::string_view what, std::string_view endpoint, int err) {
  return std::string(what) + " " + std::string(endpoint) + ": " + std::strerror(err);
}

// Starts a non-blocking connect and waits for it; returns the connected fd or -1 with `error` set.
int connect_to(const sockaddr* addr, socklen_t len, int family, std::string_view endpoint,
               Clock::time_point deadline, std::string& error) {
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = errno_text("socket", endpoint, errno);
    return -1;
  }
  if (::connect(fd, addr, len) != 0) {
    if (errno != EINPROGRESS) {
      error = errno_text("connect", endpoint, errno);
      ::close(fd);
      return -1;
    }
    if (!wait_for(fd, POLLOUT, deadline)) {
      error = "connect " + std::string(endpoint) + ": timed out";
      ::close(fd);
      return -1;
    }
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr != 0) {
      error = errno_text("connect", endpoint, soerr);
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

int open_endpoint(std::string_view endpoint, Clock::time_point deadline, std::string& error) {
  std::string_view path = endpoint;
  if (path.starts_with("unix:")) path.remove_prefix(5);
  if (path.starts_with("/")) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (path.size() >= sizeof(sun.sun_path)) {
      error = "unix socket path too long: " + std::string(path);
      return -1;
    }
    std::memcpy(sun.sun_path, path.data(), path.size());
    return connect_to(reinterpret_cast<const sockaddr*>(&sun), sizeof(sun), AF_UNIX, endpoint, deadline, error);
  }
  std::string host;
  std::string port;
  std::size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos) {
    error = "endpoint needs host:port or unix:/path: " + std::string(endpoint);
    return -1;
  }
  host = std::string(endpoint.substr(0, colon));
  port = std::string(endpoint.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    error = "resolve " + std::string(endpoint) + ": " + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* ai = res; ai && fd < 0; ai = ai->ai_next)
    fd = connect_to(ai->ai_addr, ai->ai_addrlen, ai->ai_family, endpoint, deadline, error);
  ::freeaddrinfo(res);
  return fd;
}

}  // namespace

RuntimeApiReply runtime_api_query(std::string_view endpoint, std::string_view command,
                                  std::chrono::milliseconds timeout, std::size_t max_bytes) {
  RuntimeApiReply reply;
  Clock::time_point deadline = Clock::now() + timeout;
  Fd fd(open_endpoint(endpoint, deadline, reply.error));
  if (fd.get() < 0) return reply;

  std::string request(command);
  request += '\n';
  std::size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd.get(), POLLOUT, deadline)) {
        reply.error = "send " + std::string(endpoint) + ": timed out";
        return reply;
      }
    } else {
      reply.error = errno_text("send", endpoint, errno);
      return reply;
    }
  }

  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      if (reply.text.size() + static_cast<std::size_t>(n) > max_bytes) {
        reply.error = "reply from " + std::string(endpoint) + " exceeds " + std::to_string(max_bytes) + " bytes";
        return reply;
      }
      reply.text.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      reply.ok = true;
      return reply;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait_for(fd.get(), POLLIN, deadline)) {
        reply.error = "read " + std::string(endpoint) + ": timed out after " + std::to_string(timeout.count()) + "ms";
        return reply;
      }
    } else {
      reply.error = errno_text("read", endpoint, errno);
      return reply;
    }
  }
}

}  // namespace sticky::health
