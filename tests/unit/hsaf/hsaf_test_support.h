// Helpers shared by the HSAF tests: server sets by recipe and table comparisons by peer name.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "hsaf/assignment.h"
#include "model/server_set.h"

namespace sticky::hsaf::testing {

inline model::ServerSet make_set(std::string backend, int n, std::vector<std::uint32_t> weights = {}) {
  model::ServerSet s;
  s.backend = std::move(backend);
  for (int i = 0; i < n; ++i) {
    model::Server srv;
    srv.name = "cache-" + std::to_string(i);
    srv.weight = weights.empty() ? 1 : weights[static_cast<std::size_t>(i) % weights.size()];
    s.servers.push_back(srv);
  }
  return s;
}

// Peer name per serial (empty when none), so tables over different server lists compare.
inline std::vector<std::string> names_of(const AssignmentTable& t, const model::ServerSet& s) {
  std::vector<std::string> out;
  for (std::uint32_t serial = t.range().min; serial <= t.range().max; ++serial) {
    const std::int32_t p = t.peer_of(serial);
    out.push_back(p == kNoPeer ? std::string() : s.servers[static_cast<std::size_t>(p)].name);
  }
  return out;
}

inline std::size_t count_moved(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::size_t moved = 0;
  for (std::size_t i = 0; i < a.size(); ++i) moved += a[i] != b[i];
  return moved;
}

// Largest load relative to the server's weight share among servers that accept new clients.
inline double max_over_share(const AssignmentTable& t, const model::ServerSet& s) {
  std::uint64_t total = 0;
  for (const auto& srv : s.servers)
    if (srv.accepts_new()) total += srv.weight;
  double worst = 0;
  for (std::size_t i = 0; i < s.servers.size(); ++i) {
    if (!s.servers[i].accepts_new()) continue;
    const double share = double(t.range().count()) * s.servers[i].weight / double(total);
    worst = std::max(worst, t.loads()[i] / share);
  }
  return worst;
}

// Wilson-Hilferty approximation of the chi-square critical value at p = 0.001 (z = 3.0902).
inline double chi_square_critical_p001(double dof) {
  const double a = 2.0 / (9.0 * dof);
  const double c = 1.0 - a + 3.0902 * std::sqrt(a);
  return dof * c * c * c;
}

}  // namespace sticky::hsaf::testing
