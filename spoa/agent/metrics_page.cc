// Assembles /metrics from every layer's renderer (see metrics_page.h).
#include "agent/metrics_page.h"

#include <vector>

#include "agent/persist_metrics.h"
#include "metrics/exporter.h"

namespace sticky::agent {

std::string render_metrics_page(const MetricsSources& s) {
  std::vector<const metrics::Shard*> shards;
  for (const auto& w : s.server.workers()) shards.push_back(&w->metrics());
  return metrics::render_prometheus(
      shards, {[&s](std::string& out) { render_persist_metrics(s.persist, out); },
               [&s](std::string& out) { render_hsaf_metrics(s.hsaf, out); },
               [&s](std::string& out) {
                 if (s.shared) render_redis_metrics(*s.shared, out);
               },
               [&s](std::string& out) { render_health_metrics(s.poller, out); },
               [&s](std::string& out) {
                 if (s.reloader) render_reload_metrics(s.reloader->status(), out);
               },
               [&s](std::string& out) { s.server.engines().render(out); }});
}

}  // namespace sticky::agent
