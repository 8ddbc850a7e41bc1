// A worker: one thread, one libev loop, the connections it accepted and the handlers that
// serve them. Workers share nothing on the request path.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include <ev.h>

#include "metrics/counters.h"
#include "metrics/engine_registry.h"
#include "model/handler.h"

namespace sticky::io {

class Connection;

struct WorkerOptions {
  std::uint32_t max_frame_size = 16380;   // our ceiling; HAProxy's offer may lower it
  double hello_timeout = 5.0;             // seconds from accept to a complete HELLO
  double frame_timeout = 10.0;            // seconds a started frame may stay incomplete
  double idle_timeout = 600.0;            // seconds without any frame (0 = never)
  std::uint32_t max_inflight = 256;       // unanswered NOTIFYs per connection before reads pause
  std::size_t max_out_bytes = 4u << 20;   // buffered output per connection before reads pause
  double shutdown_grace = 5.0;            // seconds to finish in-flight work on SIGTERM
  std::int64_t max_connections = 10000;   // across all workers
  // Beyond max_connections each worker still takes this many connections, for HAProxy's health
  // checks only (option spop-check): a check HELLO is answered, anything else refused.
  std::uint32_t healthcheck_reserve = 8;
  double reserve_hello_timeout = 1.0;     // seconds a reserve connection may take to say HELLO
  double accept_pause = 0.1;              // seconds accepting pauses when out of descriptors
};

class Worker : public model::ReplySink {
 public:
  Worker(int index, const WorkerOptions& options, std::atomic<std::int64_t>& open_connections,
         metrics::EngineRegistry& engines);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Setup, before start(): listeners and handlers. `shared` listeners are polled by several
  // workers (unix sockets); the others belong to this worker alone (SO_REUSEPORT).
  void add_listener(int fd, bool shared);
  // Serves an already connected, non-blocking socket as if accepted here (counted like one, and
  // closed with the connection): a socketpair's end in tests. Before start(), or on this thread.
  void adopt(int fd);
  model::HandlerRegistry& handlers() { return handlers_; }
  // Keeps an object alive as long as the worker (handlers, per-worker clients).
  void own(std::shared_ptr<void> object) { owned_.push_back(std::move(object)); }
  struct ev_loop* loop() { return loop_; }
  int index() const { return index_; }
  const WorkerOptions& options() const { return options_; }
  metrics::Shard& metrics() { return metrics_; }
  const metrics::Shard& metrics() const { return metrics_; }
  metrics::EngineRegistry& engines() { return engines_; }

  void start();
  void request_stop();  // any thread
  // Drain (any thread): from now on health-check HELLOs are refused; see ServerOptions::drain_grace.
  void begin_drain() { draining_.store(true, std::memory_order_relaxed); }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  void join();

  // Called by connections.
  model::Reply* acquire_reply();
  void schedule_flush(Connection* c);
  void connection_closed(Connection* c);
  void dispatch(model::Reply& reply, const spop::Message& msg);
  // Connections still waiting for their HELLO, oldest first: at max_connections the oldest is
  // closed to admit a newcomer (see accept_from). A connection leaves the list when it says
  // HELLO or closes.
  void await_hello_add(Connection* c);
  void await_hello_remove(Connection* c);

  // model::ReplySink
  void reply_ready(model::Reply& reply) override;

 private:
  static void on_accept(struct ev_loop* loop, ev_io* w, int revents);
  static void on_stop(struct ev_loop* loop, ev_async* w, int revents);
  static void on_prepare(struct ev_loop* loop, ev_prepare* w, int revents);
  static void on_grace(struct ev_loop* loop, ev_timer* w, int revents);
  static void on_accept_resume(struct ev_loop* loop, ev_timer* w, int revents);
  void accept_from(int fd);
  void serve(int fd, bool reserve);
  void out_of_descriptors(int listen_fd, int error);
  bool evict_oldest_silent();
  void begin_shutdown();
  void maybe_finish_shutdown();

  int index_;
  WorkerOptions options_;
  std::atomic<std::int64_t>& open_connections_;
  metrics::EngineRegistry& engines_;
  struct ev_loop* loop_;
  std::thread thread_;
  ev_async stop_{};
  ev_prepare prepare_{};
  ev_timer grace_{};
  ev_timer accept_resume_{};  // accepting paused: out of descriptors
  int spare_fd_ = -1;         // freed at EMFILE to accept and close one waiting connection
  std::uint32_t reserve_open_ = 0;  // connections taken beyond max_connections (health checks)
  Connection* hello_head_ = nullptr;  // the await-HELLO list (intrusive, in accept order)
  Connection* hello_tail_ = nullptr;
  bool stopping_ = false;
  std::atomic<bool> draining_{false};

  struct Listener {
    int fd;
    bool shared;
    ev_io watcher;
  };
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> flush_list_;  // connections with output to write this loop turn
  std::vector<Connection*> flushing_;    // the list being written (kept to reuse its capacity)
  std::vector<std::unique_ptr<Connection>> dead_;
  std::uint64_t next_id_;

  std::vector<std::unique_ptr<model::Reply>> reply_pool_;
  model::HandlerRegistry handlers_;
  std::vector<std::shared_ptr<void>> owned_;
  metrics::Shard metrics_;
};

}  // namespace sticky::io
