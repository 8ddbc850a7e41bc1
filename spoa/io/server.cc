// Server wiring: one SO_REUSEPORT socket per worker per TCP address (the kernel spreads
// connections), one shared socket per unix path (polled by every worker).
#include "io/server.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <thread>
#include <unistd.h>

#include "base/log.h"

namespace sticky::io {

namespace {
std::atomic<int> g_signal_pipe{-1};
// What a byte on the wake pipe asks for.
constexpr char kWakeStop = 1;
constexpr char kWakeReload = 2;

void on_signal(int sig) {
  const int fd = g_signal_pipe.load();
  if (fd >= 0) {
    const char c = sig == SIGHUP ? kWakeReload : kWakeStop;
    ssize_t ignored = ::write(fd, &c, 1);
    (void)ignored;
  }
}
}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {
  if (options_.threads <= 0)
    options_.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

Server::~Server() {
  workers_.clear();
  for (int fd : shared_fds_) ::close(fd);
  for (const auto& p : unix_paths_) ::unlink(p.c_str());
  for (int fd : claim_fds_) ::close(fd);  // after the unlinks: a successor may now take the paths
  if (wake_pipe_[0] >= 0) {
    ::close(wake_pipe_[0]);
    ::close(wake_pipe_[1]);
  }
}

bool Server::open(std::string& error) {
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) < 0) {
    error = "pipe2 failed";
    return false;
  }
  for (int i = 0; i < options_.threads; ++i)
    workers_.push_back(std::make_unique<Worker>(i, options_.worker, open_connections_, engines_));
  for (auto& a : options_.listen) {
    // Port 0 asks the kernel for a port nobody uses: nothing to claim.
    if (a.kind == ListenAddress::Kind::Unix || a.port != 0) {
      const int claim = claim_address(a, error);
      if (claim < 0) return false;
      claim_fds_.push_back(claim);
    }
    if (a.kind == ListenAddress::Kind::Unix) {
      const int fd = open_listener(a, false, error, options_.unix_access);
      if (fd < 0) return false;
      shared_fds_.push_back(fd);
      unix_paths_.push_back(a.path);
      for (auto& w : workers_) w->add_listener(fd, true);
      ports_.push_back(0);
      continue;
    }
    // With port 0 the first socket picks the port and the others must join that one.
    ListenAddress addr = a;
    for (auto& w : workers_) {
      const int fd = open_listener(addr, true, error);
      if (fd < 0) return false;
      if (addr.port == 0) addr.port = bound_port(fd);
      w->add_listener(fd, false);
    }
    ports_.push_back(addr.port);
  }
  return true;
}

void Server::setup_workers(const std::function<void(Worker&)>& setup) {
  for (auto& w : workers_) setup(*w);
}

void Server::stop() {
  const char c = kWakeStop;
  ssize_t ignored = ::write(wake_pipe_[1], &c, 1);
  (void)ignored;
}

void Server::run() {
  g_signal_pipe.store(wake_pipe_[1]);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  // Without a reload hook SIGHUP is ignored rather than fatal (its default): a stray one from a
  // closing terminal or a wrong unit must not stop traffic.
  if (options_.on_reload) ::sigaction(SIGHUP, &sa, nullptr);
  else ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);

  for (auto& w : workers_) w->start();
  STICKY_LOG(Info, "serving with %d worker threads", options_.threads);
  pollfd p{wake_pipe_[0], POLLIN, 0};
  // Until a stop: reloads run here, one after the other (several SIGHUPs in a row make one).
  for (bool stop = false; !stop;) {
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    bool reload = false;
    char buf[64];
    for (ssize_t n; (n = ::read(wake_pipe_[0], buf, sizeof buf)) > 0;)
      for (ssize_t i = 0; i < n; ++i) (buf[i] == kWakeReload ? reload : stop) = true;
    if (reload && !stop && options_.on_reload) options_.on_reload();
  }
  if (options_.drain_grace > 0) {
    STICKY_LOG(Info, "draining for %.1f s: health checks fail so HAProxy marks this agent DOWN; "
               "open connections are still served (signal again to stop now)", options_.drain_grace);
    for (auto& w : workers_) w->begin_drain();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(options_.drain_grace);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
      if (r > 0) {  // a second stop ends the drain now; a reload is no longer worth doing
        bool stop = false;
        char buf[64];
        for (ssize_t n; (n = ::read(wake_pipe_[0], buf, sizeof buf)) > 0;)
          for (ssize_t i = 0; i < n; ++i) stop = stop || buf[i] == kWakeStop;
        if (stop) break;
        continue;
      }
      if (r < 0 && errno != EINTR) break;
      // Nobody connected (HAProxy gone, or never came): nothing to drain.
      if (r == 0 && open_connections_.load(std::memory_order_relaxed) == 0) {
        STICKY_LOG(Info, "draining: no connection left");
        break;
      }
    }
  }
  STICKY_LOG(Info, "shutting down: finishing in-flight frames");
  for (auto& w : workers_) w->request_stop();
  for (auto& w : workers_) w->join();
  g_signal_pipe.store(-1);
  STICKY_LOG(Info, "stopped");
}

}  // namespace sticky::io
