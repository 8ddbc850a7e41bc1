// The Prometheus endpoint (and the container healthcheck): GET /metrics, GET /healthz, served by
// an HttpListener on its own thread, so slow or hostile clients never stall a scrape and never
// touch a worker loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "io/http_listener.h"
#include "io/listen_address.h"

namespace sticky::io {

struct MetricsHttpOptions {
  double request_timeout = 3.0;      // seconds from accept to the whole answer written
  std::size_t max_clients = 128;     // connections served at once; more wait in the backlog
  std::size_t max_request = 8192;    // bytes of request head; more is answered 431 and closed
  // GET /healthz answers 200 while this says yes (listeners up, config loaded), else 503.
  // Unset: 200 as soon as the endpoint serves.
  std::function<bool()> healthy;
};

class MetricsHttp {
 public:
  using Render = std::function<std::string()>;
  MetricsHttp(ListenAddress address, Render render, MetricsHttpOptions options = {});
  ~MetricsHttp();
  bool start(std::string& error);
  std::uint16_t port() const { return listener_->port(); }

 private:
  Render render_;
  MetricsHttpOptions options_;
  std::unique_ptr<HttpListener> listener_;
};

// The /healthz answer both the metrics and the admin endpoints give.
HttpResponse healthz_response(const std::function<bool()>& healthy);

}  // namespace sticky::io
