// Serves GET /metrics (anything else: 404), one short-lived connection at a time.
#include "io/metrics_http.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sticky::io {

MetricsHttp::MetricsHttp(ListenAddress address, Render render)
    : address_(std::move(address)), render_(std::move(render)) {}

MetricsHttp::~MetricsHttp() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

bool MetricsHttp::start(std::string& error) {
  fd_ = open_listener(address_, false, error);
  if (fd_ < 0) return false;
  port_ = bound_port(fd_);
  thread_ = std::thread([this] { serve(); });
  return true;
}

void MetricsHttp::serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    // Read the request head with a short deadline; scrapers send it in one segment.
    char req[2048];
    std::size_t got = 0;
    pollfd cp{c, POLLIN, 0};
    while (got < sizeof req - 1 && ::poll(&cp, 1, 1000) > 0) {
      const ssize_t n = ::recv(c, req + got, sizeof req - 1 - got, 0);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
      req[got] = 0;
      if (std::string_view(req, got).find("\r\n\r\n") != std::string_view::npos) break;
    }
    const std::string_view head(req, got);
    std::string body, status = "200 OK";
    if (head.starts_with("GET /metrics ") || head.starts_with("GET / ")) {
      body = render_();
    } else {
      status = "404 Not Found";
      body = "try /metrics\n";
    }
    std::string resp = "HTTP/1.0 " + status +
                       "\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    std::size_t off = 0;
    while (off < resp.size()) {
      const ssize_t n = ::send(c, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::close(c);
  }
}

}  // namespace sticky::io
