// The whole /metrics page: the workers' core counters, then each layer's (persistence and the
// table, HSAF, Redis when shared, HAProxy's runtime API, connected HAProxy engines).
#pragma once

#include <string>

#include "agent/config_reload.h"
#include "agent/hsaf_runtime.h"
#include "agent/persist_runtime.h"
#include "health/health_poller.h"
#include "io/server.h"
#include "store/redis/shared_pins.h"

namespace sticky::agent {

struct MetricsSources {
  const io::Server& server;
  PersistRuntime& persist;
  const HsafRuntime& hsaf;
  const store::SharedStore* shared = nullptr;
  const health::HealthPoller& poller;
  const ConfigReloader* reloader = nullptr;
};

std::string render_metrics_page(const MetricsSources& s);

}  // namespace sticky::agent
