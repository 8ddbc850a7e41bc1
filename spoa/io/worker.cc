// Worker thread: accepts connections, runs their event loop, pools replies, flushes output
// once per loop turn (just before the loop sleeps), and drains on shutdown.
#include "io/worker.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
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
  ev_init(&accept_resume_, &Worker::on_accept_resume);
  accept_resume_.data = this;
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

Worker::~Worker() {
  join();
  connections_.clear();
  dead_.clear();
  for (auto& l : listeners_) {
    ev_io_stop(loop_, &l->watcher);
    if (!l->shared) ::close(l->fd);
  }
  ev_timer_stop(loop_, &accept_resume_);
  if (spare_fd_ >= 0) ::close(spare_fd_);
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
      if (errno == EMFILE || errno == ENFILE) {
        out_of_descriptors(listen_fd, errno);
        return;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        metrics_.inc(Counter::io_errors);
        STICKY_LOG(Warn, "worker %d: accept failed: %s", index_, std::strerror(errno));
      }
      return;
    }
    bool reserve = false;
    if (open_connections_.fetch_add(1, std::memory_order_relaxed) >= options_.max_connections &&
        !evict_oldest_silent()) {
      open_connections_.fetch_sub(1, std::memory_order_relaxed);
      // At the cap, a few more may still prove to be health checks (see Connection::handle_hello):
      // refusing those would mark the agent DOWN in HAProxy while it serves at full capacity.
      if (reserve_open_ >= options_.healthcheck_reserve) {
        metrics_.inc(Counter::connections_refused_limit);
        ::close(fd);
        continue;
      }
      reserve = true;
      ++reserve_open_;
    }
    serve(fd, reserve);
  }
}

// At max_connections a connection that has not said HELLO yet goes first: whoever opens
// connections and stays silent (anything on the host can reach the agent port) would otherwise
// keep HAProxy's new connections out until the hello timeout, over and over. HAProxy says HELLO
// as soon as it connects, so the oldest silent connection is never one of its own; one younger
// than kMinSilence may simply not have been read yet, and is left alone. True when a slot was
// freed (the caller's count then stands for the newcomer).
bool Worker::evict_oldest_silent() {
  constexpr double kMinSilence = 0.1;  // seconds
  Connection* victim = hello_head_;
  if (!victim || ev_now(loop_) - victim->accepted_at() < kMinSilence) return false;
  metrics_.inc(Counter::connections_evicted_pre_hello);
  victim->close_silently();  // gives its slot back: the caller's count now holds the newcomer
  return true;
}

void Worker::await_hello_add(Connection* c) {
  c->hello_prev = hello_tail_;
  c->hello_next = nullptr;
  if (hello_tail_) hello_tail_->hello_next = c;
  else hello_head_ = c;
  hello_tail_ = c;
  c->in_hello_list = true;
}

void Worker::await_hello_remove(Connection* c) {
  if (!c->in_hello_list) return;
  if (c->hello_prev) c->hello_prev->hello_next = c->hello_next;
  else hello_head_ = c->hello_next;
  if (c->hello_next) c->hello_next->hello_prev = c->hello_prev;
  else hello_tail_ = c->hello_prev;
  c->hello_prev = c->hello_next = nullptr;
  c->in_hello_list = false;
}

void Worker::adopt(int fd) {
  open_connections_.fetch_add(1, std::memory_order_relaxed);
  serve(fd, false);
}

void Worker::serve(int fd, bool reserve) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on unix sockets
  if (!reserve) {
    metrics_.inc(Counter::connections_accepted);
    metrics_.connections_open.fetch_add(1, std::memory_order_relaxed);
  }
  const std::uint64_t id = ++next_id_;
  auto conn = std::make_unique<Connection>(*this, fd, id, reserve);
  Connection* raw = conn.get();
  connections_.emplace(id, std::move(conn));
  raw->start();
}

// At the descriptor limit the listener stays readable, and retrying at once spun a core and
// logged a million lines in seconds. Instead: accept and close one waiting connection with the
// spare descriptor (its client learns at once rather than waiting in the backlog), pause
// accepting briefly, and log at most once a second for the whole process.
void Worker::out_of_descriptors(int listen_fd, int error) {
  metrics_.inc(Counter::accept_fd_exhausted);
  if (spare_fd_ >= 0) {
    ::close(spare_fd_);
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      ::close(fd);
      metrics_.inc(Counter::connections_refused_limit);
    }
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  for (auto& l : listeners_) ev_io_stop(loop_, &l->watcher);
  if (!ev_is_active(&accept_resume_)) {
    ev_timer_set(&accept_resume_, options_.accept_pause, 0.);
    ev_timer_start(loop_, &accept_resume_);
  }
  static std::atomic<std::int64_t> last_report_ms{0};
  static std::atomic<std::uint64_t> unreported{0};
  unreported.fetch_add(1, std::memory_order_relaxed);
  const auto now_ms = static_cast<std::int64_t>(ev_time() * 1000.0);
  std::int64_t last = last_report_ms.load(std::memory_order_relaxed);
  if (now_ms - last >= 1000 && last_report_ms.compare_exchange_strong(last, now_ms)) {
    const unsigned long long n = unreported.exchange(0, std::memory_order_relaxed);
    STICKY_LOG(Warn,
               "accept: %s (%llu times since the last report); pausing accepts for %.0f ms. Raise the "
               "descriptor limit (ulimit -n, LimitNOFILE=) or lower agent.max_connections",
               std::strerror(error), n, options_.accept_pause * 1000.0);
  }
}

void Worker::on_accept_resume(struct ev_loop*, ev_timer* w, int) {
  auto* self = static_cast<Worker*>(w->data);
  if (self->stopping_) return;
  for (auto& l : self->listeners_) ev_io_start(self->loop_, &l->watcher);
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
  const bool reserve = c->reserve();
  dead_.push_back(std::move(it->second));
  connections_.erase(it);
  if (reserve) {
    --reserve_open_;
  } else {
    open_connections_.fetch_sub(1, std::memory_order_relaxed);
    metrics_.connections_open.fetch_sub(1, std::memory_order_relaxed);
    metrics_.inc(Counter::connections_closed);
  }
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
  ev_timer_stop(loop_, &accept_resume_);
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
