// One poll loop serving many clients: read the request, answer (now or after a bounded wait), close.
// A client that has not received its whole answer `request_timeout` seconds after it was accepted
// (plus the wait its handler asked for) is dropped.
#include "io/http_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>

namespace sticky::io {

namespace {

using Clock = std::chrono::steady_clock;

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' ||
         c == '+' || c == '^' || c == '`' || c == '|' || c == '~';
}

std::string peer_text(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  return "?";
}

HttpResponse error_response(int status, std::string text) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(text);
  return r;
}

struct Client {
  enum class State : std::uint8_t { Reading, Waiting, Answering };
  int fd = -1;
  State state = State::Reading;
  Clock::time_point deadline;
  Clock::time_point wait_until;
  Clock::time_point next_check;
  std::string peer;
  std::string in;
  std::string out;
  std::size_t sent = 0;
  std::function<std::optional<HttpResponse>(bool)> later;
};

}  // namespace

std::string_view HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [n, v] : headers)
    if (n == lower_name) return v;
  return {};
}

std::string_view http_reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
  }
  return "Status";
}

std::string serialize_response(const HttpResponse& r) {
  std::string out;
  out.reserve(r.body.size() + 256);
  out += "HTTP/1.0 ";
  out += std::to_string(r.status);
  out += ' ';
  out += http_reason(r.status);
  out += "\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  out += "\r\nConnection: close\r\nCache-Control: no-store\r\n";
  for (const auto& [n, v] : r.headers) {
    out += n;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  out += "\r\n";
  out += r.body;
  return out;
}

HttpParse parse_http_request(std::string_view in, const HttpLimits& limits, HttpRequest& out, std::string& why) {
  // The head ends at the first empty line; bare LF line ends are taken too (old scrapers).
  const std::size_t crlf = in.find("\r\n\r\n");
  const std::size_t lf = in.find("\n\n");
  std::size_t head_end = std::string_view::npos, body_start = 0;
  if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf + 1 <= lf)) {
    head_end = crlf;
    body_start = crlf + 4;
  } else if (lf != std::string_view::npos) {
    head_end = lf;
    body_start = lf + 2;
  }
  if (head_end == std::string_view::npos) return in.size() > limits.max_head ? HttpParse::HeadTooLarge : HttpParse::Incomplete;
  if (head_end > limits.max_head) return HttpParse::HeadTooLarge;

  HttpRequest r;
  std::string_view head = in.substr(0, head_end);
  auto next_line = [&head]() {
    const std::size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head = nl == std::string_view::npos ? std::string_view() : head.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  const std::string_view request_line = next_line();
  const std::size_t sp1 = request_line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0) {
    why = "request line is not 'METHOD TARGET HTTP/1.x'";
    return HttpParse::Bad;
  }
  const std::string_view method = request_line.substr(0, sp1);
  const std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = request_line.substr(sp2 + 1);
  if (!std::all_of(method.begin(), method.end(), is_token_char) || target.empty() || target.front() != '/' ||
      !(version == "HTTP/1.0" || version == "HTTP/1.1")) {
    why = "request line is not 'METHOD /TARGET HTTP/1.x'";
    return HttpParse::Bad;
  }
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      why = "control character in the request target";
      return HttpParse::Bad;
    }
  r.method.assign(method);
  r.target.assign(target);
  const std::size_t q = target.find('?');
  r.path.assign(target.substr(0, q));
  if (q != std::string_view::npos) r.query.assign(target.substr(q + 1));

  std::size_t content_length = 0;
  bool have_length = false;
  while (!head.empty()) {
    const std::string_view line = next_line();
    if (line.empty()) continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        !std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon), is_token_char)) {
      why = "header line without a 'name:'";
      return HttpParse::Bad;
    }
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "transfer-encoding") {
      why = "Transfer-Encoding is not accepted; send Content-Length";
      return HttpParse::Unsupported;
    }
    if (name == "content-length") {
      std::size_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size() || value.empty() || (have_length && n != content_length)) {
        why = "bad Content-Length";
        return HttpParse::Bad;
      }
      content_length = n;
      have_length = true;
    }
    r.headers.emplace_back(std::move(name), std::string(value));
  }
  if (content_length > limits.max_body) return HttpParse::BodyTooLarge;
  if (in.size() - body_start < content_length) return HttpParse::Incomplete;
  r.body.assign(in.substr(body_start, content_length));
  out = std::move(r);
  return HttpParse::Complete;
}

HttpListener::HttpListener(ListenAddress address, HttpHandler handler, HttpListenerOptions options)
    : address_(std::move(address)), handler_(std::move(handler)), options_(std::move(options)) {}

HttpListener::~HttpListener() {
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

bool HttpListener::start(std::string& error) {
  fd_ = open_listener(address_, false, error);
  if (fd_ < 0) return false;
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) < 0) {
    error = options_.name + ": pipe2 failed";
    return false;
  }
  port_ = bound_port(fd_);
  thread_ = std::thread([this] { serve(); });
  return true;
}

void HttpListener::serve() {
  const auto timeout = seconds(options_.request_timeout);
  const auto recheck = seconds(options_.recheck_interval);
  std::vector<Client> clients;
  std::vector<pollfd> fds;
  Clock::time_point accept_paused_until{};
  auto answer = [](Client& c, const HttpResponse& r) {
    c.out = serialize_response(r);
    c.state = Client::State::Answering;
    c.later = nullptr;
  };
  auto handle = [&](Client& c, const HttpRequest& req, Clock::time_point now) {
    HttpReply reply = handler_(req);
    if (reply.now || !reply.later) {
      answer(c, reply.now ? *reply.now : error_response(500, "no answer\n"));
      return;
    }
    c.state = Client::State::Waiting;
    c.later = std::move(reply.later);
    c.wait_until = now + seconds(std::max(0.0, reply.wait_s));
    c.next_check = now + recheck;
    c.deadline = std::max(c.deadline, c.wait_until + timeout);
  };
  while (!stop_) {
    fds.clear();
    fds.push_back({wake_[0], POLLIN, 0});
    // At the client limit the listener is not polled: new clients wait in the backlog.
    auto now = Clock::now();
    const bool accepting = clients.size() < options_.max_clients && now >= accept_paused_until;
    fds.push_back({fd_, static_cast<short>(accepting ? POLLIN : 0), 0});
    auto next = now + std::chrono::seconds(1);
    for (const Client& c : clients) {
      // A waiting client is polled for input only to notice that it went away.
      fds.push_back({c.fd, static_cast<short>(c.state == Client::State::Answering ? POLLOUT : POLLIN), 0});
      next = std::min(next, c.deadline);
      if (c.state == Client::State::Waiting) next = std::min(next, c.next_check);
    }
    if (now < accept_paused_until) next = std::min(next, accept_paused_until);
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
      } else if (c.state != Client::State::Answering && (re & (POLLIN | POLLHUP))) {
        char buf[4096];
        const ssize_t got = ::recv(c.fd, buf, sizeof buf, 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
          done = true;
        } else if (got > 0 && c.state == Client::State::Reading) {
          c.in.append(buf, static_cast<std::size_t>(got));
          HttpRequest req;
          std::string why;
          switch (parse_http_request(c.in, options_.limits, req, why)) {
            case HttpParse::Incomplete: break;
            case HttpParse::Complete:
              req.peer = c.peer;
              handle(c, req, now);
              break;
            case HttpParse::Bad: answer(c, error_response(400, why + "\n")); break;
            case HttpParse::HeadTooLarge: answer(c, error_response(431, "request too large\n")); break;
            case HttpParse::BodyTooLarge:
              answer(c, error_response(413, "body over " + std::to_string(options_.limits.max_body) + " bytes\n"));
              break;
            case HttpParse::Unsupported: answer(c, error_response(501, why + "\n")); break;
          }
        }
        // Bytes after a complete request are ignored: one request per connection.
      }
      if (!done && c.state == Client::State::Waiting && now >= c.next_check) {
        const bool last = now >= c.wait_until;
        std::optional<HttpResponse> r = c.later(last);
        if (r) answer(c, *r);
        else if (last) answer(c, error_response(500, "no answer at the end of the wait\n"));
        else c.next_check = now + recheck;
      }
      if (!done && c.state == Client::State::Answering && ((re & (POLLOUT | POLLHUP)) != 0 || c.sent == 0)) {
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
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        const int c = ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) {
          // Out of descriptors: the listener stays readable, so wait instead of spinning.
          if (errno == EMFILE || errno == ENFILE) accept_paused_until = now + std::chrono::milliseconds(100);
          break;
        }
        Client nc;
        nc.fd = c;
        nc.deadline = now + timeout;
        nc.peer = peer_text(ss);
        clients.push_back(std::move(nc));
      }
    }
  }
  for (Client& c : clients) ::close(c.fd);
}

}  // namespace sticky::io
