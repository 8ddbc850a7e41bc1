// One SPOP connection from HAProxy: reassembles frames, drives the handshake, dispatches
// NOTIFY messages to handlers and writes ACKs. Owned by its worker; single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ev.h>

#include "base/bytes.h"
#include "spop/frame.h"
#include "spop/wire.h"

namespace sticky::model {
class Reply;
}

namespace sticky::io {

class Worker;

class Connection {
 public:
  enum class State : std::uint8_t {
    AwaitHello,  // nothing but HAPROXY-HELLO is legal yet
    Ready,       // NOTIFY and DISCONNECT are legal
    Closing,     // a DISCONNECT went out (or must): no more input, close once flushed
    Closed,
  };

  // `reserve`: taken beyond max_connections; only a health check is served (see handle_hello).
  Connection(Worker& worker, int fd, std::uint64_t id, bool reserve = false);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  std::uint64_t id() const { return id_; }
  State state() const { return state_; }
  std::uint32_t inflight() const { return inflight_; }
  bool reserve() const { return reserve_; }
  ev_tstamp accepted_at() const { return accepted_at_; }
  // The worker's await-HELLO list (Worker::await_hello_add); null at either end.
  Connection* hello_prev = nullptr;
  Connection* hello_next = nullptr;
  bool in_hello_list = false;

  // A reply for one of our NOTIFYs has no holds left: encode its ACK.
  void complete(const model::Reply& reply);
  // Writes what is buffered; called by the worker once per loop turn.
  void flush();
  // Graceful stop: say goodbye now if idle, else as soon as in-flight replies are answered.
  void begin_shutdown();
  // Closes at once without a word (evicted at max_connections before its HELLO).
  void close_silently() { close_now(); }

 private:
  static void on_io(struct ev_loop* loop, ev_io* w, int revents);
  static void on_timer(struct ev_loop* loop, ev_timer* w, int revents);
  void on_readable();
  void on_timeout();
  void process_input();
  // Returns false when the connection must stop reading (error or Closing).
  bool handle_frame(const spop::Frame& f);
  void handle_hello(const spop::Frame& f);
  void handle_notify(const spop::Frame& f);
  void handle_disconnect(const spop::Frame& f);
  // Sends AGENT-DISCONNECT with status and reason, then closes once it is written.
  void fail(spop::Status status, std::string_view detail);
  void disconnect(spop::Status status, std::string_view message);
  void close_now();
  // Every state change goes through here: leaving AwaitHello leaves the worker's list.
  void set_state(State s);
  void unregister_engine();
  // Makes room at the tail of the out buffer for one frame of up to max_frame_size_ (an ACK), or
  // of `room` bytes (control frames: AGENT-HELLO and AGENT-DISCONNECT fit kControlFrameRoom).
  std::span<std::uint8_t> out_tail(std::size_t room = 0);
  // The input buffer a Ready connection reads into: one maximal frame plus some read-ahead.
  std::size_t full_input_size() const { return 4 + static_cast<std::size_t>(max_frame_size_) + 4096; }
  // Input buffer full with a frame still incomplete: grows it (doubling, up to full_input_size).
  bool grow_input();
  void commit_out(std::size_t n);
  void update_io_interest();
  void arm_timer();
  double hello_timeout() const;

  Worker& worker_;
  int fd_;
  std::uint64_t id_;
  State state_ = State::AwaitHello;
  bool healthcheck_ = false;
  bool reserve_ = false;
  bool shutting_down_ = false;
  bool reading_paused_ = false;
  bool processing_ = false;  // inside process_input()
  std::uint32_t max_frame_size_;
  std::uint32_t inflight_ = 0;
  std::string engine_id_;
  bool engine_registered_ = false;  // counted in the worker's EngineRegistry (until closed)

  // Both buffers start small (in_) or empty (out_) and grow on demand: before its HELLO a
  // connection is anyone's, and a full-size pair (~53 KB, zero-filled so resident) per idle
  // connection let 10,000 silent peers cost 0.5 GB. A Ready connection gets the full input
  // buffer at once (HAProxy pipelines frames; fewer, larger reads).
  std::vector<std::uint8_t> in_;
  std::size_t in_len_ = 0;
  std::vector<std::uint8_t> out_;
  std::size_t out_begin_ = 0;
  std::size_t out_end_ = 0;

  ev_io io_{};
  ev_timer timer_{};
  ev_tstamp timer_at_ = 0;       // when timer_ is due while active (see arm_timer)
  ev_tstamp last_progress_ = 0;  // last time a complete frame arrived
  ev_tstamp partial_since_ = 0;  // when the incomplete frame in in_ began arriving (frame timeout)
  ev_tstamp accepted_at_ = 0;
};

}  // namespace sticky::io
