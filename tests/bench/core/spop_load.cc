// SPOP load generator: plays HAProxy's side (HELLO, pipelined NOTIFYs) against a running agent and
// reports the agent's CPU microseconds per request, without HAProxy's own cost in the picture.
//
// Usage: spop_load --addr HOST:PORT|unix:PATH [--conns K] [--depth D] [--requests N] [--clients C]
//                  [--offset O] [--sequential] [--backend NAME] [--pid AGENT_PID]
// Every request is one NOTIFY carrying `persist-req` with be (string), src (ipv4) and tcip (string):
// the True-Client-IP case. Clients are 100.a.b.c, drawn at random from C (or O, O+1, ... with
// --sequential, to fill the agent's table). Plain blocking sockets and poll(): a bench tool, not product code.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

void put_varint(std::string& out, std::uint64_t v) {
  if (v < 240) {
    out.push_back(static_cast<char>(v));
    return;
  }
  out.push_back(static_cast<char>((v & 0xFF) | 0xF0));
  v = (v - 240) >> 4;
  while (v >= 128) {
    out.push_back(static_cast<char>((v & 0xFF) | 0x80));
    v = (v - 128) >> 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_name(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

void put_string(std::string& out, std::string_view s) {
  out.push_back(8);  // STRING
  put_name(out, s);
}

// Wraps a frame body (type, flags=FIN, stream id, frame id, payload) with its 4-byte length.
std::string frame(std::uint8_t type, std::uint64_t stream, std::uint64_t fid, const std::string& payload) {
  std::string body;
  body.push_back(static_cast<char>(type));
  body.append("\0\0\0\1", 4);
  put_varint(body, stream);
  put_varint(body, fid);
  body += payload;
  const std::uint32_t len = htonl(static_cast<std::uint32_t>(body.size()));
  return std::string(reinterpret_cast<const char*>(&len), 4) + body;
}

double cpu_seconds(int pid) {
  if (pid <= 0) return 0;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return 0;
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');
  if (!p) return 0;
  // Fields after ')': state(3) ... utime is field 14, stime 15 (1-based over the whole line).
  unsigned long utime = 0, stime = 0;
  int field = 2;
  for (const char* q = p + 1; *q && field < 15;) {
    while (*q == ' ') ++q;
    ++field;
    if (field == 14) utime = std::strtoul(q, nullptr, 10);
    if (field == 15) stime = std::strtoul(q, nullptr, 10);
    while (*q && *q != ' ') ++q;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Conn {
  int fd = -1;
  std::string in;
  std::string out;
  std::size_t out_pos = 0;
  int in_flight = 0;
  std::uint64_t next_stream = 1;
};

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1:12345", backend = "app";
  int conns = 8, depth = 4, pid = 0;
  long requests = 200000, clients = 1000000, offset = 0;
  bool sequential = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--addr") addr = next();
    else if (a == "--conns") conns = std::atoi(next());
    else if (a == "--depth") depth = std::atoi(next());
    else if (a == "--requests") requests = std::atol(next());
    else if (a == "--clients") clients = std::atol(next());
    else if (a == "--offset") offset = std::atol(next());
    else if (a == "--sequential") sequential = true;
    else if (a == "--backend") backend = next();
    else if (a == "--pid") pid = std::atoi(next());
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  const bool unix_path = addr.rfind("unix:", 0) == 0;
  sockaddr_storage ss{};
  socklen_t ss_len = 0;
  if (unix_path) {
    auto* su = reinterpret_cast<sockaddr_un*>(&ss);
    su->sun_family = AF_UNIX;
    if (addr.size() - 5 >= sizeof su->sun_path) {
      std::fprintf(stderr, "unix path too long: %s\n", addr.c_str());
      return 2;
    }
    std::memcpy(su->sun_path, addr.c_str() + 5, addr.size() - 5);
    ss_len = sizeof(sockaddr_un);
  } else {
    const std::size_t colon = addr.rfind(':');
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    if (colon == std::string::npos || inet_pton(AF_INET, addr.substr(0, colon).c_str(), &sa->sin_addr) != 1) {
      std::fprintf(stderr, "bad --addr %s (want IPv4:PORT or unix:PATH)\n", addr.c_str());
      return 2;
    }
    sa->sin_port = htons(static_cast<std::uint16_t>(std::atoi(addr.c_str() + colon + 1)));
    ss_len = sizeof(sockaddr_in);
  }

  std::string hello_payload;
  put_name(hello_payload, "supported-versions");
  put_string(hello_payload, "2.0");
  put_name(hello_payload, "max-frame-size");
  hello_payload.push_back(3);  // UINT32
  put_varint(hello_payload, 16380);
  put_name(hello_payload, "capabilities");
  put_string(hello_payload, "pipelining");
  const std::string hello = frame(1, 0, 0, hello_payload);

  std::vector<Conn> cs(static_cast<std::size_t>(conns));
  for (Conn& c : cs) {
    c.fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (c.fd < 0 || connect(c.fd, reinterpret_cast<sockaddr*>(&ss), ss_len) != 0) die("connect");
    const int one = 1;
    if (!unix_path) setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (write(c.fd, hello.data(), hello.size()) != static_cast<ssize_t>(hello.size())) die("write hello");
    char len_buf[4];
    if (recv(c.fd, len_buf, 4, MSG_WAITALL) != 4) die("read agent hello");
    std::uint32_t len;
    std::memcpy(&len, len_buf, 4);
    std::string body(ntohl(len), '\0');
    if (recv(c.fd, body.data(), body.size(), MSG_WAITALL) != static_cast<ssize_t>(body.size())) die("read hello");
    if (static_cast<std::uint8_t>(body[0]) != 101) {
      std::fprintf(stderr, "expected AGENT-HELLO, got frame type %u\n", static_cast<std::uint8_t>(body[0]));
      return 1;
    }
  }

  std::mt19937_64 rng(42);
  long sent = 0, acked = 0;
  auto queue_one = [&](Conn& c) {
    const long id = sequential ? (offset + sent) % clients : static_cast<long>(rng() % static_cast<std::uint64_t>(clients));
    char tcip[32];
    const int n = std::snprintf(tcip, sizeof tcip, "100.%ld.%ld.%ld", (id >> 16) & 255, (id >> 8) & 255, id & 255);
    std::string p;
    put_name(p, "persist-req");
    p.push_back(3);
    put_name(p, "be");
    put_string(p, backend);
    put_name(p, "src");
    p.push_back(6);  // IPV4 127.0.0.1: inside the trusted edge ranges of the bench config
    p.append("\x7f\0\0\1", 4);
    put_name(p, "tcip");
    put_string(p, std::string_view(tcip, static_cast<std::size_t>(n)));
    c.out += frame(3, c.next_stream++, 1, p);
    ++c.in_flight;
    ++sent;
  };

  const double cpu0 = cpu_seconds(pid);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<pollfd> pfds(cs.size());
  while (acked < requests) {
    for (std::size_t i = 0; i < cs.size(); ++i) {
      Conn& c = cs[i];
      while (c.in_flight < depth && sent < requests) queue_one(c);
      pfds[i] = {c.fd, static_cast<short>(POLLIN | (c.out_pos < c.out.size() ? POLLOUT : 0)), 0};
    }
    if (poll(pfds.data(), pfds.size(), 5000) <= 0) {
      std::fprintf(stderr, "no progress for 5 s (%ld of %ld acked)\n", acked, requests);
      return 1;
    }
    for (std::size_t i = 0; i < cs.size(); ++i) {
      Conn& c = cs[i];
      if (pfds[i].revents & POLLOUT) {
        const ssize_t w = write(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos);
        if (w < 0) die("write");
        c.out_pos += static_cast<std::size_t>(w);
        if (c.out_pos == c.out.size()) {
          c.out.clear();
          c.out_pos = 0;
        }
      }
      if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[65536];
        const ssize_t r = read(c.fd, buf, sizeof buf);
        if (r <= 0) {
          std::fprintf(stderr, "agent closed a connection (%ld acked)\n", acked);
          return 1;
        }
        c.in.append(buf, static_cast<std::size_t>(r));
        std::size_t pos = 0;
        while (c.in.size() - pos >= 4) {
          std::uint32_t len;
          std::memcpy(&len, c.in.data() + pos, 4);
          len = ntohl(len);
          if (c.in.size() - pos - 4 < len) break;
          const auto type = static_cast<std::uint8_t>(c.in[pos + 4]);
          if (type != 103) {
            std::fprintf(stderr, "expected ACK, got frame type %u\n", type);
            return 1;
          }
          pos += 4 + len;
          --c.in_flight;
          ++acked;
        }
        c.in.erase(0, pos);
      }
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds(pid) - cpu0;
  std::printf("requests %ld  wall %.3f s  %.0f req/s", acked, wall, static_cast<double>(acked) / wall);
  if (pid > 0) std::printf("  agent CPU %.3f s = %.2f us/request", cpu, cpu * 1e6 / static_cast<double>(acked));
  std::printf("\n");
  for (Conn& c : cs) close(c.fd);
  return 0;
}
