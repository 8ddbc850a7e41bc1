// The HTTP listener on a real loopback socket: answers, long polls, bounds.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "io/http_listener.h"

using namespace sticky;

namespace {

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::string exchange(std::uint16_t port, const std::string& request) {
  const int fd = connect_to(port);
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

std::unique_ptr<io::HttpListener> start_listener(io::HttpHandler h, io::HttpListenerOptions o = {}) {
  io::ListenAddress a;
  std::string error;
  REQUIRE(io::parse_listen_address("127.0.0.1:0", a, error));
  auto l = std::make_unique<io::HttpListener>(a, std::move(h), o);
  REQUIRE(l->start(error));
  return l;
}

}  // namespace

TEST_CASE("a request gets one answer and the connection closes", "[admin][listener]") {
  auto l = start_listener([](const io::HttpRequest& r) {
    io::HttpReply reply;
    io::HttpResponse resp;
    resp.body = r.method + " " + r.path + " from " + (r.peer.starts_with("127.0.0.1:") ? "loopback" : r.peer);
    reply.now = resp;
    return reply;
  });
  const std::string out = exchange(l->port(), "GET /x?y HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(out.starts_with("HTTP/1.0 200 OK\r\n"));
  CHECK(out.find("Connection: close") != std::string::npos);
  CHECK(out.ends_with("\r\n\r\nGET /x from loopback"));
}

TEST_CASE("bad, oversized and chunked requests are answered 4xx/501 without the handler", "[admin][listener]") {
  std::atomic<int> calls{0};
  io::HttpListenerOptions o;
  o.limits.max_body = 16;
  auto l = start_listener([&calls](const io::HttpRequest&) {
    ++calls;
    io::HttpReply reply;
    reply.now = io::HttpResponse{};
    return reply;
  }, o);
  CHECK(exchange(l->port(), "NONSENSE\r\n\r\n").starts_with("HTTP/1.0 400 "));
  CHECK(exchange(l->port(), "POST / HTTP/1.1\r\nContent-Length: 17\r\n\r\n").starts_with("HTTP/1.0 413 "));
  CHECK(exchange(l->port(), "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").starts_with("HTTP/1.0 501 "));
  CHECK(exchange(l->port(), "GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n").starts_with("HTTP/1.0 431 "));
  CHECK(calls == 0);
}

TEST_CASE("a long poll answers when its check says so, or at the end of its wait", "[admin][listener]") {
  std::atomic<bool> go{false};
  io::HttpListenerOptions o;
  o.recheck_interval = 0.02;
  o.request_timeout = 1.0;
  auto l = start_listener([&go](const io::HttpRequest& r) {
    io::HttpReply reply;
    reply.wait_s = r.path == "/short" ? 0.3 : 5.0;
    reply.later = [&go](bool last) -> std::optional<io::HttpResponse> {
      if (!go && !last) return std::nullopt;
      io::HttpResponse resp;
      resp.body = go ? "went" : "gave up";
      return resp;
    };
    return reply;
  }, o);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(exchange(l->port(), "GET /short HTTP/1.0\r\n\r\n").ends_with("gave up"));
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(waited >= 0.25);
  CHECK(waited < 2.0);
  // Another client is served while one waits: the wait blocks nobody.
  std::string long_answer;
  std::thread waiter([&] { long_answer = exchange(l->port(), "GET /long HTTP/1.0\r\n\r\n"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(exchange(l->port(), "GET /short HTTP/1.0\r\n\r\n").ends_with("gave up"));
  go = true;
  waiter.join();
  CHECK(long_answer.ends_with("went"));
}

TEST_CASE("a client that never finishes its request is dropped at the timeout", "[admin][listener]") {
  io::HttpListenerOptions o;
  o.request_timeout = 0.3;
  auto l = start_listener([](const io::HttpRequest&) { return io::HttpReply{io::HttpResponse{}, nullptr, 0}; }, o);
  const int fd = connect_to(l->port());
  ::send(fd, "GET / HTTP/1.1\r\nX: slow", 23, MSG_NOSIGNAL);
  const auto t0 = std::chrono::steady_clock::now();
  char c;
  const ssize_t n = ::recv(fd, &c, 1, 0);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ::close(fd);
  CHECK(n == 0);
  CHECK(waited > 0.2);
  CHECK(waited < 3.0);
}
