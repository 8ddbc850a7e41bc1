// Serves GET /metrics (anything else: 404) to many clients at once from one poll loop.
// Each connection reads its request head, gets one HTTP/1.0 answer and is closed; a client that
// has not received its whole answer `request_timeout` seconds after it was accepted is dropped.
#include "io/metrics_http.h"

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string_view>
#include <vector>

namespace sticky::io {

namespace {

struct Client {
  int fd = -1;
  std::chrono::steady_clock::time_point deadline;
  std::string in;
  std::string out;
  std::size_t sent = 0;
  bool answering = false;  // the request is read; `out` is being written
};

std::string http_answer(std::string_view status, const std::string& body) {
  return "HTTP/1.0 " + std::string(status) + "\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

MetricsHttp::MetricsHttp(ListenAddress address, Render render, MetricsHttpOptions options)
    : address_(std::move(address)), render_(std::move(render)), options_(options) {}

MetricsHttp::~MetricsHttp() {
  stop_ = true;
  if (wake_[1] >= 0) {
    const char c = 1;
    ssize_t ignored = ::write(wake_[1], &c, 1);
    (void)ignored;
  }
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
  for (int fd : wake_)
    if (fd >= 0) ::close(fd);
}

bool MetricsHttp::start(std::string& error) {
  fd_ = open_listener(address_, false, error);
  if (fd_ < 0) return false;
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) < 0) {
    error = "metrics: pipe2 failed";
    return false;
  }
  port_ = bound_port(fd_);
  thread_ = std::thread([this] { serve(); });
  return true;
}

void MetricsHttp::serve() {
  using Clock = std::chrono::steady_clock;
  const auto timeout = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options_.request_timeout));
  std::vector<Client> clients;
  std::vector<pollfd> fds;
  Clock::time_point accept_paused_until{};
  while (!stop_) {
    fds.clear();
    fds.push_back({wake_[0], POLLIN, 0});
    // At the client limit the listener is not polled: new clients wait in the backlog.
    auto now = Clock::now();
    const bool accepting = clients.size() < options_.max_clients && now >= accept_paused_until;
    fds.push_back({fd_, static_cast<short>(accepting ? POLLIN : 0), 0});
    auto next = now + std::chrono::seconds(1);
    for (const Client& c : clients) {
      fds.push_back({c.fd, static_cast<short>(c.answering ? POLLOUT : POLLIN), 0});
      if (c.deadline < next) next = c.deadline;
    }
    if (now < accept_paused_until && accept_paused_until < next) next = accept_paused_until;
    const auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(wait_ms, 1)));
    if (n < 0 && errno != EINTR) break;
    now = Clock::now();
    // Clients first (their indices match fds[2..]), then the listener appends new ones.
    for (std::size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      const short re = fds[i + 2].revents;
      bool done = false;
      if (re & (POLLERR | POLLNVAL)) {
        done = true;
      } else if (!c.answering && (re & (POLLIN | POLLHUP))) {
        char buf[4096];
        const ssize_t got = ::recv(c.fd, buf, sizeof buf, 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
          done = true;
        } else if (got > 0) {
          c.in.append(buf, static_cast<std::size_t>(got));
          const bool complete = c.in.find("\r\n\r\n") != std::string::npos ||
                                c.in.find("\n\n") != std::string::npos;
          if (c.in.size() > options_.max_request) {
            c.out = http_answer("431 Request Header Fields Too Large", "request too large\n");
            c.answering = true;
          } else if (complete) {
            const std::string_view head(c.in);
            if (head.starts_with("GET /metrics ") || head.starts_with("GET / "))
              c.out = http_answer("200 OK", render_());
            else
              c.out = http_answer("404 Not Found", "try /metrics\n");
            c.answering = true;
          }
        }
      } else if (c.answering && (re & (POLLOUT | POLLHUP))) {
        const ssize_t put = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
        if (put > 0) c.sent += static_cast<std::size_t>(put);
        else if (put < 0 && errno != EAGAIN && errno != EINTR) done = true;
        if (c.sent == c.out.size()) done = true;
      }
      if (!done && now >= c.deadline) done = true;
      if (done) {
        ::close(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(clients, [](const Client& c) { return c.fd < 0; });
    if (accepting && (fds[1].revents & POLLIN)) {
      while (clients.size() < options_.max_clients) {
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) {
          // Out of descriptors: the listener stays readable, so wait instead of spinning.
          if (errno == EMFILE || errno == ENFILE) accept_paused_until = now + std::chrono::milliseconds(100);
          break;
        }
        Client nc;
        nc.fd = c;
        nc.deadline = now + timeout;
        clients.push_back(std::move(nc));
      }
    }
  }
  for (Client& c : clients) ::close(c.fd);
}

}  // namespace sticky::io
