// Worker thread: accepts connections, runs their event loop, pools replies, flushes output
// once per loop turn (just before the loop sleeps), and drains on shutdown.
#include "io/worker.h"

#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "io/connection.h"

namespace sticky::io {

using metrics::Counter;

Worker::Worker(int index, const WorkerOptions& options, std::atomic<std::int64_t>& open_connections,
               metrics::EngineRegistry& engines)
    : index_(index),
      options_(options),
      open_connections_(open_connections),
      engines_(engines),
      loop_(ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK)),
      next_id_(static_cast<std::uint64_t>(index) << 48) {
  ev_async_init(&stop_, &Worker::on_stop);
  stop_.data = this;
  ev_async_start(loop_, &stop_);
  ev_prepare_init(&prepare_, &Worker::on_prepare);
  prepare_.data = this;
  ev_prepare_start(loop_, &prepare_);
  ev_init(&grace_, &Worker::on_grace);
  grace_.data = this;
}

Worker::~Worker() {
  join();
  connections_.clear();
  dead_.clear();
  for (auto& l : listeners_) {
    ev_io_stop(loop_, &l->watcher);
    if (!l->shared) ::close(l->fd);
  }
  owned_.clear();  // per-worker clients may hold watchers on the loop
  ev_loop_destroy(loop_);
}

void Worker::add_listener(int fd, bool shared) {
  auto l = std::make_unique<Listener>();
  l->fd = fd;
  l->shared = shared;
  ev_io_init(&l->watcher, &Worker::on_accept, fd, EV_READ);
  l->watcher.data = this;
  ev_io_start(loop_, &l->watcher);
  listeners_.push_back(std::move(l));
}

void Worker::start() {
  thread_ = std::thread([this] {
    ev_run(loop_, 0);
    STICKY_LOG(Debug, "worker %d stopped", index_);
  });
}

void Worker::request_stop() { ev_async_send(loop_, &stop_); }

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::on_accept(struct ev_loop*, ev_io* w, int) {
  static_cast<Worker*>(w->data)->accept_from(w->fd);
}

void Worker::accept_from(int listen_fd) {
  // Bounded batch: one busy listener must not starve the connections already served.
  for (int i = 0; i < 64; ++i) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        metrics_.inc(Counter::io_errors);
        STICKY_LOG(Warn, "worker %d: accept failed: %s", index_, std::strerror(errno));
      }
      return;
    }
    if (open_connections_.fetch_add(1, std::memory_order_relaxed) >= options_.max_connections) {
      open_connections_.fetch_sub(1, std::memory_order_relaxed);
      metrics_.inc(Counter::connections_refused_limit);
      ::close(fd);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on unix sockets
    metrics_.inc(Counter::connections_accepted);
    metrics_.connections_open.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t id = ++next_id_;
    auto conn = std::make_unique<Connection>(*this, fd, id);
    Connection* raw = conn.get();
    connections_.emplace(id, std::move(conn));
    raw->start();
  }
}

model::Reply* Worker::acquire_reply() {
  if (reply_pool_.empty()) return new model::Reply();
  model::Reply* r = reply_pool_.back().release();
  reply_pool_.pop_back();
  return r;
}

void Worker::dispatch(model::Reply& reply, const spop::Message& msg) {
  if (model::MessageHandler* h = handlers_.find(msg.name)) {
    h->on_message(msg, reply);
  } else {
    metrics_.inc(Counter::messages_unknown);
  }
}

void Worker::reply_ready(model::Reply& reply) {
  auto it = connections_.find(reply.connection_id());
  if (it != connections_.end()) {
    it->second->complete(reply);
  } else {
    metrics_.inc(Counter::acks_orphaned);
  }
  reply_pool_.emplace_back(&reply);
}

void Worker::schedule_flush(Connection* c) {
  // A connection can appear twice (flushing is idempotent); the list is short-lived.
  flush_list_.push_back(c);
}

void Worker::connection_closed(Connection* c) {
  auto it = connections_.find(c->id());
  if (it == connections_.end()) return;
  dead_.push_back(std::move(it->second));
  connections_.erase(it);
  open_connections_.fetch_sub(1, std::memory_order_relaxed);
  metrics_.connections_open.fetch_sub(1, std::memory_order_relaxed);
  metrics_.inc(Counter::connections_closed);
  if (stopping_) maybe_finish_shutdown();
}

void Worker::on_prepare(struct ev_loop*, ev_prepare* w, int) {
  auto* self = static_cast<Worker*>(w->data);
  // Flushing may close connections (write errors) and closing may not schedule more flushes
  // of live ones, so one swap suffices.
  self->flushing_.swap(self->flush_list_);
  for (Connection* c : self->flushing_) {
    if (c->state() != Connection::State::Closed) c->flush();
  }
  self->flushing_.clear();
  self->dead_.clear();
}

void Worker::on_stop(struct ev_loop*, ev_async* w, int) {
  static_cast<Worker*>(w->data)->begin_shutdown();
}

void Worker::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  for (auto& l : listeners_) ev_io_stop(loop_, &l->watcher);
  std::vector<Connection*> all;
  for (auto& [id, c] : connections_) all.push_back(c.get());
  for (Connection* c : all) c->begin_shutdown();
  ev_timer_set(&grace_, options_.shutdown_grace, 0.);
  ev_timer_start(loop_, &grace_);
  maybe_finish_shutdown();
}

void Worker::maybe_finish_shutdown() {
  if (!connections_.empty()) return;
  ev_timer_stop(loop_, &grace_);
  ev_async_stop(loop_, &stop_);
  ev_break(loop_, EVBREAK_ALL);
}

void Worker::on_grace(struct ev_loop* loop, ev_timer* w, int) {
  auto* self = static_cast<Worker*>(w->data);
  STICKY_LOG(Warn, "worker %d: %zu connections still busy after the grace period; closing them",
             self->index_, self->connections_.size());
  self->flush_list_.clear();
  self->connections_.clear();
  ev_break(loop, EVBREAK_ALL);
}

}  // namespace sticky::io
