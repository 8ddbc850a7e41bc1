// Open connections by engine-id, rendered as Prometheus gauges with escaped label values.
#include "metrics/engine_registry.h"

#include <algorithm>
#include <vector>

#include "metrics/exporter.h"

namespace sticky::metrics {

std::string EngineRegistry::key_of(std::string_view engine_id) {
  return std::string(engine_id.substr(0, kMaxIdBytes));
}

void EngineRegistry::add(std::string_view engine_id) {
  std::lock_guard lock(mu_);
  ++open_[key_of(engine_id)];
}

void EngineRegistry::remove(std::string_view engine_id) {
  std::lock_guard lock(mu_);
  const auto it = open_.find(key_of(engine_id));
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

std::size_t EngineRegistry::engines() const {
  std::lock_guard lock(mu_);
  return open_.size();
}

std::size_t EngineRegistry::connections(std::string_view engine_id) const {
  std::lock_guard lock(mu_);
  const auto it = open_.find(key_of(engine_id));
  return it == open_.end() ? 0 : it->second;
}

// Label values are the peer's bytes: escape what the exposition format requires, and drop
// control characters rather than let them break a line.
static void append_label_value(std::string& out, std::string_view v) {
  if (v.empty()) {
    out += "unknown";
    return;
  }
  for (const char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) {
      out += c;
    }
  }
}

void EngineRegistry::render(std::string& out) const {
  std::vector<std::pair<std::string, std::size_t>> rows;
  {
    std::lock_guard lock(mu_);
    rows.assign(open_.begin(), open_.end());
  }
  // Most connections first, then by id, so the page is stable between scrapes.
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  append_metric(out, "sticky_haproxy_engines", "gauge", "HAProxy SPOE engines (distinct HELLO engine-ids) connected now",
                static_cast<double>(rows.size()));
  out += "# HELP sticky_haproxy_engine_connections SPOP connections open now, by the engine-id of their HELLO\n";
  out += "# TYPE sticky_haproxy_engine_connections gauge\n";
  std::size_t other = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i >= kMaxRendered) {
      other += rows[i].second;
      continue;
    }
    out += "sticky_haproxy_engine_connections{engine_id=\"";
    append_label_value(out, rows[i].first);
    out += "\"} ";
    out += std::to_string(rows[i].second);
    out += '\n';
  }
  if (other) out += "sticky_haproxy_engine_connections{engine_id=\"other\"} " + std::to_string(other) + "\n";
}

}  // namespace sticky::metrics
