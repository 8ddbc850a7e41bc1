// A tiny HTTP endpoint for Prometheus scrapes, on its own thread so a slow scraper never
// touches a worker loop.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "io/listen_address.h"

namespace sticky::io {

class MetricsHttp {
 public:
  using Render = std::function<std::string()>;
  MetricsHttp(ListenAddress address, Render render);
  ~MetricsHttp();
  bool start(std::string& error);
  std::uint16_t port() const { return port_; }

 private:
  void serve();
  ListenAddress address_;
  Render render_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sticky::io
