// SPOP connection state machine (SPOE.txt section 3) on a non-blocking socket.
#include "io/connection.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "io/worker.h"
#include "model/handler.h"
#include "spop/ack.h"
#include "spop/disconnect.h"
#include "spop/hello.h"
#include "spop/notify.h"

namespace sticky::io {

using metrics::Counter;

namespace {
// CLOCK_MONOTONIC through the vDSO: tens of nanoseconds, no syscall.
std::uint64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}
// What a connection holds before its HELLO: HAProxy's HELLO is 80-200 bytes, and a larger one
// (up to max-frame-size) grows the buffer only as its bytes actually arrive.
constexpr std::size_t kPreHelloInput = 512;
// AGENT-HELLO (~70 bytes) and AGENT-DISCONNECT (a message cut to 255 bytes, ~300 in all).
constexpr std::size_t kControlFrameRoom = 512;
}  // namespace

Connection::Connection(Worker& worker, int fd, std::uint64_t id, bool reserve)
    : worker_(worker), fd_(fd), id_(id), reserve_(reserve), max_frame_size_(worker.options().max_frame_size) {
  in_.resize(std::min(kPreHelloInput, full_input_size()));
}

bool Connection::grow_input() {
  const std::size_t full = full_input_size();
  if (in_.size() >= full) return false;
  in_.resize(std::min(full, 2 * in_.size()));
  return true;
}

// Only the worker destroys connections, after close_now() or when it is torn down itself.
Connection::~Connection() {
  if (in_hello_list) worker_.await_hello_remove(this);
  unregister_engine();
  if (fd_ >= 0) {
    ev_io_stop(worker_.loop(), &io_);
    ev_timer_stop(worker_.loop(), &timer_);
    ::close(fd_);
  }
}

void Connection::unregister_engine() {
  if (!engine_registered_) return;
  engine_registered_ = false;
  worker_.engines().remove(engine_id_);
}

void Connection::set_state(State s) {
  if (state_ == State::AwaitHello && s != State::AwaitHello) worker_.await_hello_remove(this);
  state_ = s;
}

void Connection::start() {
  if (!reserve_) worker_.await_hello_add(this);  // reserve ones are never evicted for another
  accepted_at_ = last_progress_ = ev_now(worker_.loop());
  ev_io_init(&io_, &Connection::on_io, fd_, EV_READ);
  io_.data = this;
  ev_io_start(worker_.loop(), &io_);
  ev_init(&timer_, &Connection::on_timer);
  timer_.data = this;
  arm_timer();
}

void Connection::on_io(struct ev_loop*, ev_io* w, int revents) {
  auto* self = static_cast<Connection*>(w->data);
  if (revents & EV_READ) self->on_readable();
  if (self->state_ != State::Closed && (revents & EV_WRITE)) self->flush();
}

void Connection::on_timer(struct ev_loop*, ev_timer* w, int) {
  static_cast<Connection*>(w->data)->on_timeout();
}

double Connection::hello_timeout() const {
  return reserve_ ? worker_.options().reserve_hello_timeout : worker_.options().hello_timeout;
}

// One timer serves three deadlines; which one applies depends on the state.
void Connection::arm_timer() {
  if (state_ == State::Closing) return;  // disconnect() armed the drain grace period: keep it
  const WorkerOptions& o = worker_.options();
  double deadline;
  if (state_ == State::AwaitHello) deadline = accepted_at_ + hello_timeout();
  else if (in_len_ > 0) deadline = partial_since_ + o.frame_timeout;
  else if (o.idle_timeout > 0 && inflight_ == 0) deadline = last_progress_ + o.idle_timeout;
  else deadline = ev_now(worker_.loop()) + std::max(1.0, o.frame_timeout);
  // Lazy re-arm: progress only pushes deadlines later, so a timer already due no later than the
  // new deadline is left alone; when it fires, on_timeout() finds nothing expired and re-arms for
  // the real one. This runs after every read, and a stop + start per request was ~4% of the
  // agent's instructions.
  if (ev_is_active(&timer_) && timer_at_ <= deadline) return;
  const ev_tstamp delay = std::max(0.001, deadline - ev_now(worker_.loop()));
  ev_timer_stop(worker_.loop(), &timer_);
  ev_timer_set(&timer_, delay, 0.);
  ev_timer_start(worker_.loop(), &timer_);
  timer_at_ = ev_now(worker_.loop()) + delay;
}

void Connection::on_timeout() {
  if (state_ == State::Closed) return;
  const WorkerOptions& o = worker_.options();
  const ev_tstamp now = ev_now(worker_.loop());
  if (state_ == State::Closing) {  // the peer never drained our DISCONNECT
    close_now();
    return;
  }
  if (state_ == State::AwaitHello && now >= accepted_at_ + hello_timeout()) {
    if (reserve_) {  // over the cap and silent: refused as before, without a word
      worker_.metrics().inc(Counter::connections_refused_limit);
      close_now();
      return;
    }
    worker_.metrics().inc(Counter::timeouts_hello);
    fail(spop::Status::Timeout, "no HAPROXY-HELLO in time");
    return;
  }
  if (state_ == State::Ready && in_len_ > 0 && now >= partial_since_ + o.frame_timeout) {
    worker_.metrics().inc(Counter::timeouts_frame);
    fail(spop::Status::Timeout, "frame left incomplete too long");
    return;
  }
  if (state_ == State::Ready && in_len_ == 0 && inflight_ == 0 && o.idle_timeout > 0 &&
      now >= last_progress_ + o.idle_timeout) {
    worker_.metrics().inc(Counter::timeouts_idle);
    disconnect(spop::Status::Timeout, "idle timeout");
    return;
  }
  arm_timer();
}

void Connection::on_readable() {
  while (state_ == State::AwaitHello || state_ == State::Ready) {
    if (reading_paused_) return;
    // A full buffer holds an incomplete frame larger than it (whole frames were consumed):
    // grow. At the full size it cannot happen, split_frame bounds frames below capacity.
    if (in_len_ == in_.size() && !grow_input()) {
      fail(spop::Status::TooBig, "input buffer full");
      return;
    }
    const ssize_t n = ::recv(fd_, in_.data() + in_len_, in_.size() - in_len_, 0);
    if (n > 0) {
      if (in_len_ == 0) partial_since_ = ev_now(worker_.loop());  // a frame starts now, however idle we were
      in_len_ += static_cast<std::size_t>(n);
      process_input();
      if (static_cast<std::size_t>(n) < in_.size() / 2) break;  // probably drained the socket
      continue;
    }
    if (n == 0) {  // EOF: HAProxy 3.1+ closes pooled connections without a DISCONNECT
      close_now();
      return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (errno == EINTR) continue;
    if (errno != ECONNRESET) worker_.metrics().inc(Counter::io_errors);
    close_now();
    return;
  }
  if (state_ != State::Closed) arm_timer();
}

void Connection::process_input() {
  // A reply completing synchronously inside this loop may try to resume reading; the loop
  // itself re-checks the pause flag per frame, so a nested pass is never needed (or safe).
  if (processing_) return;
  processing_ = true;
  std::size_t pos = 0;
  while (state_ == State::AwaitHello || state_ == State::Ready) {
    const spop::SplitResult r =
        spop::split_frame(Bytes(in_.data() + pos, in_len_ - pos), max_frame_size_);
    if (r.kind == spop::SplitKind::NeedMore) break;
    if (r.kind == spop::SplitKind::Error) {
      fail(r.error, r.detail);
      break;
    }
    last_progress_ = ev_now(worker_.loop());
    const bool go_on = handle_frame(r.frame);
    pos += r.consumed;
    if (!go_on) break;
  }
  processing_ = false;
  if (state_ == State::Closing || state_ == State::Closed) return;  // input was discarded
  if (pos > 0) {
    std::memmove(in_.data(), in_.data() + pos, in_len_ - pos);
    in_len_ -= pos;
    if (in_len_ > 0) partial_since_ = ev_now(worker_.loop());  // the leftover is a frame begun in this read
  }
}

bool Connection::handle_frame(const spop::Frame& f) {
  // Fragments are refused: we never advertise the capability, and 3.1+ forbids them anyway.
  if (f.type == spop::FrameType::Unset || !f.fin()) {
    fail(spop::Status::FragNotSupported, "fragmented frames are not supported");
    return false;
  }
  if (state_ == State::AwaitHello) {
    if (f.type != spop::FrameType::HaproxyHello) {
      fail(spop::Status::Invalid, "expected HAPROXY-HELLO as the first frame");
      return false;
    }
    handle_hello(f);
    return state_ == State::Ready;
  }
  switch (f.type) {
    case spop::FrameType::Notify:
      handle_notify(f);
      break;
    case spop::FrameType::HaproxyDisconnect:
      handle_disconnect(f);
      return false;
    default:
      fail(spop::Status::Invalid, "HAPROXY-HELLO received twice");
      return false;
  }
  return state_ == State::Ready && !reading_paused_;
}

void Connection::handle_hello(const spop::Frame& f) {
  worker_.metrics().inc(Counter::hello_received);
  if (f.stream_id != 0 || f.frame_id != 0) {
    fail(spop::Status::Invalid, "HELLO with non-zero stream-id or frame-id");
    return;
  }
  spop::HaproxyHello hello;
  spop::HelloResult res = spop::parse_haproxy_hello(f.payload, hello);
  spop::Negotiated neg;
  if (res.status == spop::Status::Normal) res = spop::negotiate(hello, max_frame_size_, neg);
  if (res.status != spop::Status::Normal) {
    fail(res.status, res.detail);
    return;
  }
  if (reserve_ && !hello.healthcheck) {
    worker_.metrics().inc(Counter::connections_refused_limit);
    disconnect(spop::Status::Resource, "max_connections reached");
    return;
  }
  if (hello.healthcheck && worker_.draining()) {
    // Draining: the check fails (HAProxy's spop-check takes an AGENT-DISCONNECT as an error), so
    // HAProxy marks the agent DOWN and stops opening streams to it, while open connections are
    // still answered.
    worker_.metrics().inc(Counter::healthchecks);
    disconnect(spop::Status::Resource, "agent is draining before it stops");
    return;
  }
  engine_id_.assign(hello.engine_id);
  healthcheck_ = hello.healthcheck;
  // The AGENT-HELLO is written with the size we just agreed on, in one write (3.2+ resets
  // connections whose HELLO arrives in pieces).
  auto tail = out_tail(kControlFrameRoom);
  ByteWriter w(tail);
  spop::write_agent_hello(w, neg);
  commit_out(w.size());
  max_frame_size_ = neg.max_frame_size;
  if (healthcheck_) {
    worker_.metrics().inc(Counter::healthchecks);
    if (reserve_) worker_.metrics().inc(Counter::healthchecks_over_limit);
    set_state(State::Closing);  // the probe only wants the HELLO; close once it is written
    worker_.schedule_flush(this);
    return;
  }
  STICKY_LOG(Debug, "conn %llu: hello from engine %s, max-frame-size %u, pipelining %s",
             static_cast<unsigned long long>(id_), engine_id_.c_str(), max_frame_size_,
             neg.pipelining ? "yes" : "no");
  worker_.engines().add(engine_id_);
  engine_registered_ = true;
  set_state(State::Ready);
  if (in_.size() < full_input_size()) in_.resize(full_input_size());
  worker_.schedule_flush(this);
}

void Connection::handle_notify(const spop::Frame& f) {
  worker_.metrics().inc(Counter::notify_received);
  model::Reply* reply = worker_.acquire_reply();
  reply->reset(&worker_, id_, f.stream_id, f.frame_id);
  reply->set_started_ns(monotonic_ns());
  ++inflight_;

  // Argument scratch lives per worker thread: one NOTIFY is decoded at a time.
  thread_local std::array<spop::Arg, spop::kMaxArgs> scratch;
  spop::MessageReader reader(f.payload);
  spop::Message msg;
  bool bad = false;
  while (reader.next(msg, scratch)) {
    worker_.metrics().inc(Counter::messages_received);
    worker_.dispatch(*reply, msg);
  }
  if (reader.error() != spop::DecodeStatus::Ok) bad = true;
  if (bad) {
    // Messages decoded before the bad byte were dispatched; their handlers may still hold the
    // reply, so it completes normally and the ACK is dropped because we are closing.
    fail(spop::Status::Invalid, spop::decode_status_name(reader.error()));
  } else if (inflight_ >= worker_.options().max_inflight && !reading_paused_) {
    reading_paused_ = true;
    worker_.metrics().inc(Counter::read_paused_backpressure);
  }
  reply->release();  // the dispatch hold taken by reset()
}

void Connection::handle_disconnect(const spop::Frame& f) {
  worker_.metrics().inc(Counter::haproxy_disconnects);
  spop::DisconnectInfo info;
  if (!spop::parse_disconnect(f.payload, info)) {
    fail(spop::Status::Invalid, "malformed HAPROXY-DISCONNECT");
    return;
  }
  if (info.status_code != 0) {
    STICKY_LOG(Info, "conn %llu: HAProxy disconnected with status %llu: %.*s",
               static_cast<unsigned long long>(id_), static_cast<unsigned long long>(info.status_code),
               static_cast<int>(info.message.size()), info.message.data());
  }
  disconnect(spop::Status::Normal, "normal");
}

void Connection::complete(const model::Reply& reply) {
  if (inflight_ > 0) --inflight_;
  if (state_ != State::Ready) {  // a DISCONNECT went out (or the socket closed): nothing may follow
    worker_.metrics().inc(Counter::acks_orphaned);
    return;
  }
  if (reply.actions().dropped() > 0)
    worker_.metrics().inc(Counter::ack_actions_dropped, reply.actions().dropped());
  auto tail = out_tail();
  ByteWriter w(tail);
  auto items = reply.actions().items();
  // Never send an empty ACK: early 3.1.x never woke the filter for one (pitfall 10).
  static const spop::Action kAcked{spop::ActionType::SetVar, spop::VarScope::Txn, "acked",
                                   spop::TypedValue::int64(1)};
  if (items.empty()) items = std::span<const spop::Action>(&kAcked, 1);
  if (!spop::write_ack(w, reply.stream_id(), reply.frame_id(), items, max_frame_size_)) {
    // Too big for the negotiated size: HAProxy would drop the whole connection, so answer
    // with the minimal ACK instead and count it.
    worker_.metrics().inc(Counter::ack_too_big);
    ByteWriter w2(tail);
    spop::write_ack(w2, reply.stream_id(), reply.frame_id(), std::span<const spop::Action>(&kAcked, 1),
                    max_frame_size_);
    commit_out(w2.size());
  } else {
    commit_out(w.size());
  }
  worker_.metrics().inc(Counter::acks_sent);
  if (reply.started_ns() != 0) worker_.metrics().observe_latency_ns(monotonic_ns() - reply.started_ns());
  worker_.schedule_flush(this);
  if (reading_paused_ && inflight_ < worker_.options().max_inflight / 2) {
    reading_paused_ = false;
    update_io_interest();
    // Frames may already wait in the input buffer.
    if (in_len_ > 0) process_input();
  }
  if (shutting_down_ && inflight_ == 0 && state_ == State::Ready)
    disconnect(spop::Status::Normal, "agent is shutting down");
}

void Connection::begin_shutdown() {
  shutting_down_ = true;
  if (state_ == State::AwaitHello) {
    close_now();
  } else if (state_ == State::Ready && inflight_ == 0) {
    disconnect(spop::Status::Normal, "agent is shutting down");
  }
}

void Connection::fail(spop::Status status, std::string_view detail) {
  worker_.metrics().inc(Counter::protocol_errors);
  worker_.metrics().inc_status(static_cast<std::uint32_t>(status));
  STICKY_LOG(Info, "conn %llu: protocol error %u (%.*s): %.*s", static_cast<unsigned long long>(id_),
             static_cast<unsigned>(status), static_cast<int>(spop::status_reason(status).size()),
             spop::status_reason(status).data(), static_cast<int>(detail.size()), detail.data());
  disconnect(status, detail);
}

void Connection::disconnect(spop::Status status, std::string_view message) {
  if (state_ == State::Closing || state_ == State::Closed) return;
  auto tail = out_tail(kControlFrameRoom);
  ByteWriter w(tail);
  // Before the handshake the agreed size is unknown: the protocol floor always fits.
  spop::write_agent_disconnect(w, status, message, std::max(max_frame_size_, spop::kMinFrameSize));
  commit_out(w.size());
  worker_.metrics().inc(Counter::agent_disconnects);
  set_state(State::Closing);
  in_len_ = 0;
  worker_.schedule_flush(this);
  // Give the peer a moment to read it; the timer closes us if the write never drains.
  ev_timer_stop(worker_.loop(), &timer_);
  ev_timer_set(&timer_, 2.0, 0.);
  ev_timer_start(worker_.loop(), &timer_);
}

std::span<std::uint8_t> Connection::out_tail(std::size_t room) {
  const std::size_t need =
      room ? room : 4 + static_cast<std::size_t>(std::max(max_frame_size_, spop::kMinFrameSize));
  if (out_begin_ == out_end_) out_begin_ = out_end_ = 0;
  if (out_.size() - out_end_ < need) {
    if (out_begin_ > 0) {  // compact before growing
      std::memmove(out_.data(), out_.data() + out_begin_, out_end_ - out_begin_);
      out_end_ -= out_begin_;
      out_begin_ = 0;
    }
    if (out_.size() - out_end_ < need) out_.resize(out_end_ + need);
  }
  return {out_.data() + out_end_, need};
}

void Connection::commit_out(std::size_t n) {
  out_end_ += n;
  if (out_end_ - out_begin_ > worker_.options().max_out_bytes && !reading_paused_) {
    reading_paused_ = true;  // the peer is not reading its ACKs: stop taking more work
    worker_.metrics().inc(Counter::read_paused_backpressure);
  }
}

void Connection::flush() {
  if (state_ == State::Closed) return;
  while (out_begin_ < out_end_) {
    const ssize_t n = ::send(fd_, out_.data() + out_begin_, out_end_ - out_begin_, MSG_NOSIGNAL);
    if (n > 0) {
      out_begin_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno != EPIPE && errno != ECONNRESET) worker_.metrics().inc(Counter::io_errors);
    close_now();
    return;
  }
  if (out_begin_ == out_end_) {
    out_begin_ = out_end_ = 0;
    if (state_ == State::Closing) {
      close_now();
      return;
    }
    if (reading_paused_ && inflight_ < worker_.options().max_inflight) {
      reading_paused_ = false;
      if (in_len_ > 0) process_input();
    }
  }
  update_io_interest();
}

void Connection::update_io_interest() {
  if (state_ == State::Closed) return;
  int events = 0;
  if (!reading_paused_ && state_ != State::Closing) events |= EV_READ;
  if (out_begin_ < out_end_) events |= EV_WRITE;
  if (events != (io_.events & (EV_READ | EV_WRITE))) {
    ev_io_stop(worker_.loop(), &io_);
    ev_io_set(&io_, fd_, events);
    if (events) ev_io_start(worker_.loop(), &io_);
  }
}

void Connection::close_now() {
  if (state_ == State::Closed) return;
  set_state(State::Closed);
  unregister_engine();
  ev_io_stop(worker_.loop(), &io_);
  ev_timer_stop(worker_.loop(), &timer_);
  ::close(fd_);
  fd_ = -1;
  worker_.connection_closed(this);
}

}  // namespace sticky::io
