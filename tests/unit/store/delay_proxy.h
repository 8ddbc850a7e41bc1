// Test support: a TCP proxy on 127.0.0.1 in front of a Redis (or any server) that forwards
// requests at once and holds the server's replies back for `delay_ms` (adjustable while it runs),
// so a client's command deadline passes although the server executed the command.
#pragma once

#include <atomic>
#include <thread>

namespace sticky::test {

class DelayProxy {
 public:
  explicit DelayProxy(int upstream_port);
  ~DelayProxy();
  DelayProxy(const DelayProxy&) = delete;
  DelayProxy& operator=(const DelayProxy&) = delete;

  int port() const { return port_; }
  void set_delay_ms(int ms) { delay_ms_.store(ms); }

 private:
  void run();

  int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};
  std::atomic<int> delay_ms_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sticky::test
