// Renders counters as Prometheus text exposition format (version 0.0.4).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "metrics/counters.h"

namespace sticky::metrics {

// Extra sections (policy, store, health...) append their own lines through this hook.
using ExtraRenderer = std::function<void(std::string& out)>;

std::string render_prometheus(const std::vector<const Shard*>& shards,
                              const std::vector<ExtraRenderer>& extras);

// Appends one metric (HELP, TYPE and value) in the exposition format.
void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   double value);

}  // namespace sticky::metrics
