// A connection driven through a socketpair: the test plays HAProxy on one end, a real worker (its
// own thread and libev loop) serves the other. Frames are written in pieces, as TCP may deliver them.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include <ev.h>

#include "io/worker.h"
#include "wire_bytes.h"

using namespace sticky;
using namespace sticky::spop::testing;
using metrics::Counter;

namespace {

// HAPROXY-HELLO of a normal (not health-check) connection: version 2.0, 16380 bytes, pipelining.
ByteVec haproxy_hello() {
  return with_length(hex("01  00 00 00 01  00 00"
                         " 12 \"supported-versions\" 08 03 \"2.0\"   0e \"max-frame-size\" 03 fc f0 06"
                         " 0c \"capabilities\" 08 0a \"pipelining\""));
}

// NOTIFY on stream 5, frame `fid`: one message `name` with one string argument a="x".
ByteVec notify(std::string_view name, std::uint8_t fid) {
  ByteVec body = hex("03  00 00 00 01  05");
  body.push_back(fid);
  body.push_back(static_cast<std::uint8_t>(name.size()));
  body.insert(body.end(), name.begin(), name.end());
  const ByteVec arg = hex("01  01 \"a\" 08 01 \"x\"");
  body.insert(body.end(), arg.begin(), arg.end());
  return with_length(body);
}

// Answers srv = "s2" at once.
struct SetServer final : model::MessageHandler {
  void on_message(const spop::Message&, model::Reply& reply) override { reply.actions().set_string("srv", "s2"); }
};

// Answers later, from a timer on the worker's loop: the reply is held meanwhile.
struct Later final : model::MessageHandler {
  struct ev_loop* loop = nullptr;
  ev_timer timer{};
  model::Reply* held = nullptr;
  void on_message(const spop::Message&, model::Reply& reply) override {
    reply.hold();
    held = &reply;
    ev_timer_init(&timer, &Later::fire, 0.15, 0.0);
    timer.data = this;
    ev_timer_start(loop, &timer);
  }
  static void fire(struct ev_loop*, ev_timer* w, int) {
    auto* self = static_cast<Later*>(w->data);
    self->held->actions().set_string("srv", "s9");
    self->held->release();
  }
};

struct Pair {
  std::atomic<std::int64_t> open{0};
  metrics::EngineRegistry engines;
  io::WorkerOptions options;
  std::unique_ptr<io::Worker> worker;
  SetServer set_server;
  Later later;
  int peer = -1;

  Pair() {
    worker = std::make_unique<io::Worker>(0, options, open, engines);
    worker->handlers().add("srv", &set_server);
    worker->handlers().add("later", &later);
    later.loop = worker->loop();
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    worker->adopt(fds[0]);
    peer = fds[1];
    worker->start();
  }
  ~Pair() {
    if (peer >= 0) ::close(peer);
    worker->request_stop();
    worker->join();
  }

  // Writes `bytes` in pieces of `piece` bytes with a pause between them.
  void send(const ByteVec& bytes, std::size_t piece = 0) {
    if (piece == 0) piece = bytes.size();
    for (std::size_t at = 0; at < bytes.size(); at += piece) {
      const std::size_t n = std::min(piece, bytes.size() - at);
      REQUIRE(::write(peer, bytes.data() + at, n) == static_cast<ssize_t>(n));
      if (at + n < bytes.size()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  // The next whole frame from the agent (length included), or empty on EOF or after 5 s.
  ByteVec next_frame() {
    ByteVec got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (got.size() >= 4) {
        const std::size_t len = (std::size_t{got[0]} << 24 | std::size_t{got[1]} << 16 | std::size_t{got[2]} << 8 | got[3]);
        if (got.size() >= 4 + len) {
          pending.assign(got.begin() + static_cast<std::ptrdiff_t>(4 + len), got.end());
          got.resize(4 + len);
          return got;
        }
      }
      if (!pending.empty()) {
        got.insert(got.end(), pending.begin(), pending.end());
        pending.clear();
        continue;
      }
      pollfd p{peer, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      std::uint8_t buf[4096];
      const ssize_t n = ::read(peer, buf, sizeof buf);
      if (n == 0) return {};
      if (n > 0) got.insert(got.end(), buf, buf + n);
    }
    return {};
  }

  // True once the agent closed its end (EOF), within 5 s.
  bool closed_by_agent() {
    for (int i = 0; i < 50; ++i) {
      pollfd p{peer, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      std::uint8_t buf[256];
      if (::read(peer, buf, sizeof buf) == 0) return true;
    }
    return false;
  }

  std::uint64_t counter(Counter c) const { return worker->metrics().get(c); }

  ByteVec pending;
};

std::uint8_t frame_type(const ByteVec& f) { return f.size() > 4 ? f[4] : 0; }

}  // namespace

TEST_CASE("HELLO and NOTIFY arriving a few bytes at a time are reassembled and answered", "[connection]") {
  Pair p;
  p.send(haproxy_hello(), 7);
  const ByteVec hello = p.next_frame();
  REQUIRE(frame_type(hello) == 0x65);  // AGENT-HELLO
  CHECK(to_hex(hello) == to_hex(hex(kBriefAgentHello)));  // 2.0, 16380 bytes, pipelining
  p.send(notify("srv", 1), 3);
  const ByteVec ack = p.next_frame();
  CHECK(to_hex(ack) == to_hex(hex(kBriefAck)));  // stream 5, frame 1: set-var(txn, srv) = "s2"
  CHECK(p.counter(Counter::hello_received) == 1);
  CHECK(p.counter(Counter::notify_received) == 1);
  CHECK(p.counter(Counter::acks_sent) == 1);
  CHECK(p.worker->metrics().connections_open.load() == 1);
}

TEST_CASE("pipelined NOTIFYs are answered as their replies complete, not in arrival order", "[connection]") {
  Pair p;
  p.send(haproxy_hello());
  REQUIRE(frame_type(p.next_frame()) == 0x65);
  p.send(concat({notify("later", 1), notify("srv", 2)}));
  const ByteVec first = p.next_frame();
  const ByteVec second = p.next_frame();
  REQUIRE(frame_type(first) == 0x67);
  REQUIRE(frame_type(second) == 0x67);
  CHECK(first[10] == 2);   // frame 2 (answered at once) first...
  CHECK(second[10] == 1);  // ...then frame 1, released by its handler's timer
  CHECK(second.back() == '9');
}

TEST_CASE("a NOTIFY before HELLO ends the connection with AGENT-DISCONNECT", "[connection]") {
  Pair p;
  p.send(notify("srv", 1));
  const ByteVec bye = p.next_frame();
  REQUIRE(frame_type(bye) == 0x66);  // AGENT-DISCONNECT
  CHECK(p.closed_by_agent());
  CHECK(p.counter(Counter::protocol_errors) == 1);
  for (int i = 0; i < 50 && p.worker->metrics().connections_open.load() != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(p.worker->metrics().connections_open.load() == 0);
  CHECK(p.open.load() == 0);
}

TEST_CASE("HAPROXY-DISCONNECT is answered with AGENT-DISCONNECT and the connection closes", "[connection]") {
  Pair p;
  p.send(haproxy_hello());
  REQUIRE(frame_type(p.next_frame()) == 0x65);
  p.send(with_length(hex("02  00 00 00 01  00 00   0b \"status-code\" 03 00   07 \"message\" 08 02 \"ok\"")));
  REQUIRE(frame_type(p.next_frame()) == 0x66);
  CHECK(p.closed_by_agent());
  CHECK(p.counter(Counter::haproxy_disconnects) == 1);
}
