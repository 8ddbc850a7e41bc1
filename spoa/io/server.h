// The agent's server: listeners, worker threads, signals, graceful shutdown.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/listen_address.h"
#include "io/worker.h"

namespace sticky::io {

struct ServerOptions {
  std::vector<ListenAddress> listen;
  int threads = 0;  // 0 = number of cores
  UnixSocketAccess unix_access;  // mode/owner/group of every unix listener
  WorkerOptions worker;
  // SIGTERM first drains for this long (seconds; 0 = not at all): health-check HELLOs get an
  // AGENT-DISCONNECT so HAProxy marks the agent DOWN, everything else is served as usual.
  // A second SIGTERM/SIGINT ends the drain early.
  double drain_grace = 0;
  // SIGHUP: called on the thread in run(), between waits (the workers go on serving meanwhile).
  std::function<void()> on_reload;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();

  // Opens every listener and creates the workers. Returns false with `error` set (one line).
  bool open(std::string& error);
  // Called once per worker before it starts: register handlers, create per-worker clients.
  void setup_workers(const std::function<void(Worker&)>& setup);
  // Runs until SIGTERM or SIGINT (or stop()), then drains the workers and returns.
  void run();
  // Thread-safe request to stop run().
  void stop();

  const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }
  const metrics::EngineRegistry& engines() const { return engines_; }
  // TCP ports actually bound, in listen order (resolves port 0); 0 for unix sockets.
  const std::vector<std::uint16_t>& bound_ports() const { return ports_; }

 private:
  ServerOptions options_;
  std::atomic<std::int64_t> open_connections_{0};
  metrics::EngineRegistry engines_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<int> shared_fds_;
  std::vector<std::uint16_t> ports_;
  std::vector<std::string> unix_paths_;
  std::vector<int> claim_fds_;  // one per address: a second agent on it is refused
  int wake_pipe_[2] = {-1, -1};
};

}  // namespace sticky::io
