// Test support: the reply-delaying TCP proxy (see delay_proxy.h). One thread, poll(), every
// connection pair in it; bounded: at most 16 pairs, replies held in memory until due.
#include "delay_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <string>
#include <vector>

namespace sticky::test {

namespace {
using Clock = std::chrono::steady_clock;

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct Held {
  Clock::time_point due;
  std::string bytes;
};

struct Pair {
  int client = -1, server = -1;
  std::deque<Held> replies;  // server -> client, each released at `due`
  bool dead = false;
};

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}
}  // namespace

DelayProxy::DelayProxy(int upstream_port) : upstream_port_(upstream_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(listen_fd_, 16) == 0 &&
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port_ = ntohs(a.sin_port);
  if (::pipe(wake_) != 0) wake_[0] = wake_[1] = -1;
  thread_ = std::thread([this] { run(); });
}

DelayProxy::~DelayProxy() {
  stop_.store(true);
  if (wake_[1] >= 0) (void)!::write(wake_[1], "x", 1);
  thread_.join();
  for (int fd : {listen_fd_, wake_[0], wake_[1]})
    if (fd >= 0) ::close(fd);
}

void DelayProxy::run() {
  std::vector<Pair> pairs;
  char buf[65536];
  const auto deadline = Clock::now() + std::chrono::minutes(5);  // a test never needs longer
  while (!stop_.load() && Clock::now() < deadline) {
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    int timeout_ms = 100;
    const auto now = Clock::now();
    for (const Pair& p : pairs) {
      fds.push_back({p.client, POLLIN, 0});
      fds.push_back({p.server, POLLIN, 0});
      if (!p.replies.empty()) {
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(p.replies.front().due - now).count();
        timeout_ms = std::max(0, std::min(timeout_ms, static_cast<int>(wait)));
      }
    }
    ::poll(fds.data(), fds.size(), timeout_ms);
    if (fds[0].revents & POLLIN) {
      const int c = ::accept(listen_fd_, nullptr, nullptr);
      const int s = c >= 0 ? connect_loopback(upstream_port_) : -1;
      if (c >= 0 && s >= 0 && pairs.size() < 16) {
        pairs.push_back(Pair{c, s, {}, false});
      } else {
        if (c >= 0) ::close(c);
        if (s >= 0) ::close(s);
      }
    }
    const std::size_t polled = (fds.size() - 2) / 2;  // a pair accepted just now waits a turn
    for (std::size_t k = 0; k < polled; ++k) {
      Pair& p = pairs[k];
      const pollfd& cf = fds[2 + 2 * k];
      const pollfd& sf = fds[3 + 2 * k];
      if (cf.revents & (POLLIN | POLLHUP | POLLERR)) {  // requests go through at once
        const ssize_t n = ::recv(p.client, buf, sizeof buf, 0);
        if (n <= 0 || !write_all(p.server, buf, static_cast<std::size_t>(n))) p.dead = true;
      }
      if (sf.revents & (POLLIN | POLLHUP | POLLERR)) {  // replies wait their turn
        const ssize_t n = ::recv(p.server, buf, sizeof buf, 0);
        if (n <= 0) p.dead = true;
        else p.replies.push_back({Clock::now() + std::chrono::milliseconds(delay_ms_.load()),
                                  std::string(buf, static_cast<std::size_t>(n))});
      }
    }
    const auto t = Clock::now();
    for (Pair& p : pairs) {
      while (!p.dead && !p.replies.empty() && p.replies.front().due <= t) {
        if (!write_all(p.client, p.replies.front().bytes.data(), p.replies.front().bytes.size())) p.dead = true;
        p.replies.pop_front();
      }
    }
    for (auto it = pairs.begin(); it != pairs.end();) {
      if (it->dead) {
        ::close(it->client);
        ::close(it->server);
        it = pairs.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Pair& p : pairs) {
    ::close(p.client);
    ::close(p.server);
  }
}

}  // namespace sticky::test
