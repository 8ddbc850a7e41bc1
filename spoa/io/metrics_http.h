// A tiny HTTP endpoint for Prometheus scrapes (and the container healthcheck), on its own
// thread with its own poll loop: non-blocking sockets, a deadline per connection, a bounded
// number of clients and a bounded request, so slow or hostile clients never stall a scrape
// and never touch a worker loop.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "io/listen_address.h"

namespace sticky::io {

struct MetricsHttpOptions {
  double request_timeout = 3.0;      // seconds from accept to the whole answer written
  std::size_t max_clients = 128;     // connections served at once; more wait in the backlog
  std::size_t max_request = 8192;    // bytes of request head; more is answered 431 and closed
};

class MetricsHttp {
 public:
  using Render = std::function<std::string()>;
  MetricsHttp(ListenAddress address, Render render, MetricsHttpOptions options = {});
  ~MetricsHttp();
  bool start(std::string& error);
  std::uint16_t port() const { return port_; }

 private:
  void serve();
  ListenAddress address_;
  Render render_;
  MetricsHttpOptions options_;
  int fd_ = -1;
  int wake_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sticky::io
