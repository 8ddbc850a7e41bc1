// GET /metrics (and GET /) renders the counters; GET /healthz says whether the agent is ready;
// anything else: 404.
#include "io/metrics_http.h"

namespace sticky::io {

HttpResponse healthz_response(const std::function<bool()>& healthy) {
  HttpResponse r;
  const bool ok = !healthy || healthy();
  r.status = ok ? 200 : 503;
  r.body = ok ? "ok\n" : "starting: listeners or config not ready\n";
  return r;
}

MetricsHttp::MetricsHttp(ListenAddress address, Render render, MetricsHttpOptions options)
    : render_(std::move(render)), options_(std::move(options)) {
  HttpListenerOptions lo;
  lo.name = "metrics";
  lo.request_timeout = options_.request_timeout;
  lo.max_clients = options_.max_clients;
  lo.limits.max_head = options_.max_request;
  lo.limits.max_body = 0;
  listener_ = std::make_unique<HttpListener>(
      std::move(address),
      [this](const HttpRequest& req) {
        HttpReply reply;
        HttpResponse r;
        if (req.method == "GET" && (req.path == "/metrics" || req.path == "/")) {
          r.content_type = "text/plain; version=0.0.4";
          r.body = render_();
        } else if (req.method == "GET" && req.path == "/healthz") {
          r = healthz_response(options_.healthy);
        } else {
          r.status = 404;
          r.body = "try /metrics\n";
        }
        reply.now = std::move(r);
        return reply;
      },
      lo);
}

MetricsHttp::~MetricsHttp() = default;

bool MetricsHttp::start(std::string& error) { return listener_->start(error); }

}  // namespace sticky::io
