// Prometheus lines for the policies: persistence decisions, identity rejections, table state, HSAF
// routes, Redis and HAProxy's runtime API. Every layer's counters are rendered from its own list
// (base/counter_list.h); the render_*_counters pieces take plain values, so a test can check that
// every counter kept is exported.
#pragma once

#include <cstdint>
#include <string>

#include "agent/hsaf_runtime.h"
#include "agent/persist_runtime.h"
#include "store/redis/shared_pins.h"
#include "health/health_poller.h"

namespace sticky::agent {

void render_persist_metrics(PersistRuntime& runtime, std::string& out);
void render_hsaf_metrics(const HsafRuntime& runtime, std::string& out);
void render_redis_metrics(const store::SharedStore& shared, std::string& out);
void render_health_metrics(const health::HealthPoller& poller, std::string& out);

void render_persist_counters(const PersistTotals& t, std::string& out);
void render_table_counters(const store::StickyTableCounters& c, std::string& out);
void render_redis_counters(const store::RedisCounters& c, std::uint64_t applied, std::uint64_t foreign,
                           std::string& out);
void render_health_counters(const health::HealthCounters& c, std::string& out);

}  // namespace sticky::agent
