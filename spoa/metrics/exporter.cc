// Prometheus text rendering: shards are summed at scrape time, never on the request path.
#include "metrics/exporter.h"

#include <cstdio>


namespace sticky::metrics {

void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   double value) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type,
                name, value);
  out += buf;
}

void append_sample(std::string& out, const char* metric, const char* label, MetricType type, const char* help,
                   std::uint64_t value, bool header) {
  char buf[640];
  int n = 0;
  if (header)
    n = std::snprintf(buf, sizeof buf, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric,
                      type == MetricType::Gauge ? "gauge" : "counter");
  if (n < 0 || static_cast<std::size_t>(n) >= sizeof buf) n = 0;
  if (*label)
    std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), "%s{%s} %llu\n", metric, label,
                  static_cast<unsigned long long>(value));
  else
    std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), "%s %llu\n", metric,
                  static_cast<unsigned long long>(value));
  out += buf;
}

void append_histogram(std::string& out, const char* metric, const char* help, const LatencyHistogram& h) {
  char buf[640];
  std::snprintf(buf, sizeof buf, "# HELP %s %s\n# TYPE %s histogram\n", metric, help, metric);
  out += buf;
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < kLatencyBuckets; ++b) {
    cumulative += h.buckets[b];
    if (b < kLatencyBoundsUs.size())
      std::snprintf(buf, sizeof buf, "%s_bucket{le=\"%g\"} %llu\n", metric, kLatencyBoundsUs[b] / 1e6,
                    static_cast<unsigned long long>(cumulative));
    else
      std::snprintf(buf, sizeof buf, "%s_bucket{le=\"+Inf\"} %llu\n", metric,
                    static_cast<unsigned long long>(cumulative));
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "%s_sum %.9f\n%s_count %llu\n", metric, static_cast<double>(h.sum_ns) / 1e9,
                metric, static_cast<unsigned long long>(cumulative));
  out += buf;
}

std::string render_prometheus(const std::vector<const Shard*>& shards,
                              const std::vector<ExtraRenderer>& extras) {
  std::string out;
  out.reserve(8192);
  for (std::size_t i = 0; i < kCounterCount; ++i) {
    std::uint64_t sum = 0;
    for (const Shard* s : shards) sum += s->counters[i].load(std::memory_order_relaxed);
    const std::string name = std::string("sticky_") + kCounterInfo[i].name + "_total";
    append_metric(out, name.c_str(), "counter", kCounterInfo[i].help, static_cast<double>(sum));
  }
  std::int64_t open = 0;
  for (const Shard* s : shards) open += s->connections_open.load(std::memory_order_relaxed);
  append_metric(out, "sticky_connections_open", "gauge", "SPOP connections currently open",
                static_cast<double>(open));
  out += "# HELP sticky_protocol_errors_by_status_total protocol errors by SPOP status code\n";
  out += "# TYPE sticky_protocol_errors_by_status_total counter\n";
  for (std::size_t st = 0; st < kStatusSlots; ++st) {
    std::uint64_t sum = 0;
    for (const Shard* s : shards) sum += s->errors_by_status[st].load(std::memory_order_relaxed);
    const unsigned code = st == kStatusSlots - 1 ? 99u : static_cast<unsigned>(st);
    char buf[160];
    std::snprintf(buf, sizeof buf, "sticky_protocol_errors_by_status_total{status=\"%u\"} %llu\n",
                  code, static_cast<unsigned long long>(sum));
    out += buf;
  }
  LatencyHistogram latency;
  for (const Shard* s : shards) add_histogram(latency, s->latency);
  append_histogram(out, "sticky_request_latency_seconds", "NOTIFY frames from decoded to ACK encoded (agent time)",
                   latency);
  for (const auto& extra : extras) extra(out);
  return out;
}

}  // namespace sticky::metrics
