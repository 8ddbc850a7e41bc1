// A small HTTP/1.0 server on its own thread with its own poll loop, for /metrics and the admin API:
// non-blocking sockets, a deadline per connection, a bounded number of clients and a bounded
// request (head and body), so slow or hostile clients never stall it and never touch a worker
// loop. One request per connection; every answer closes it. A handler answers at once, or hands
// back a check that the loop runs again until it answers (a bounded long poll), so waiting for
// something never blocks the other clients.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "io/listen_address.h"

namespace sticky::io {

struct HttpRequest {
  std::string method;
  std::string target;  // as sent: path[?query]
  std::string path;    // up to '?', still percent-encoded
  std::string query;   // after '?', still percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  std::string body;
  std::string peer;  // "ip:port" of the client, for logs

  // The first header of that (lower-case) name, or "".
  std::string_view header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra header lines
};

std::string_view http_reason(int status);
// "HTTP/1.0 <status> <reason>", Content-Type, Content-Length, Connection: close, extra headers.
std::string serialize_response(const HttpResponse& r);

struct HttpLimits {
  std::size_t max_head = 8192;  // request line and headers, bytes
  std::size_t max_body = 0;     // Content-Length accepted; more is 413 before the body is read
};

enum class HttpParse : std::uint8_t {
  Incomplete,    // need more bytes
  Complete,      // `out` holds the request
  Bad,           // 400: not an HTTP/1.x request line, a header line without ':', a bad Content-Length
  HeadTooLarge,  // 431: the head is over max_head
  BodyTooLarge,  // 413: Content-Length over max_body
  Unsupported,   // 501: Transfer-Encoding (chunked bodies are not taken)
};

// Parses the request at the start of `in` (pure; the unit tests drive it byte by byte). On Bad and
// Unsupported `why` says what was wrong.
HttpParse parse_http_request(std::string_view in, const HttpLimits& limits, HttpRequest& out, std::string& why);

// A handler's answer: `now`, or `later` run every recheck interval on the listener thread with
// last = false until it answers; when `wait_s` has passed it runs once more with last = true
// and must answer then.
struct HttpReply {
  std::optional<HttpResponse> now;
  std::function<std::optional<HttpResponse>(bool last)> later;
  double wait_s = 0;
};
using HttpHandler = std::function<HttpReply(const HttpRequest&)>;

struct HttpListenerOptions {
  std::string name = "http";       // in error messages
  double request_timeout = 3.0;    // seconds from accept to the whole answer written (plus any wait)
  std::size_t max_clients = 128;   // connections served at once; more wait in the backlog
  HttpLimits limits;
  double recheck_interval = 0.1;   // seconds between runs of a waiting request's `later`
};

class HttpListener {
 public:
  HttpListener(ListenAddress address, HttpHandler handler, HttpListenerOptions options = {});
  ~HttpListener();
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;
  bool start(std::string& error);
  std::uint16_t port() const { return port_; }

 private:
  void serve();
  ListenAddress address_;
  HttpHandler handler_;
  HttpListenerOptions options_;
  int fd_ = -1;
  int wake_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sticky::io
