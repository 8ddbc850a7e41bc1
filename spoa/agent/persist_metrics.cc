// Renders the persistence counters (published by workers about once a second).
#include "agent/persist_metrics.h"

#include <cstdio>

#include "metrics/exporter.h"

namespace sticky::agent {

static void labelled(std::string& out, const char* name, const char* label, std::string_view value,
                     std::uint64_t n) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s{%s=\"%.*s\"} %llu\n", name, label, static_cast<int>(value.size()),
                value.data(), static_cast<unsigned long long>(n));
  out += buf;
}

// The partitions of the backends the current config has (a removed backend's stays allocated).
static std::size_t configured_capacity(PersistRuntime& runtime) {
  std::size_t n = 0;
  const PersistBackendsPtr backends = runtime.current();
  for (std::size_t b = 0; b < backends->size(); ++b)
    n += runtime.table().capacity_for_backend(backends->backend(static_cast<int>(b)).engine->options().id);
  return n;
}

void render_persist_counters(const PersistTotals& t, std::string& out) {
  out += "# HELP sticky_persist_decisions_total persistence decisions by reason\n";
  out += "# TYPE sticky_persist_decisions_total counter\n";
  for (std::size_t i = 0; i < policy::kPinReasonCount; ++i)
    labelled(out, "sticky_persist_decisions_total", "reason",
             policy::pin_reason_name(static_cast<policy::PinReason>(i)), t.counters.decisions[i]);
  out += "# HELP sticky_identity_resolved_total requests keyed by each identity (none: no usable identity)\n";
  out += "# TYPE sticky_identity_resolved_total counter\n";
  for (std::size_t i = 0; i < policy::kIdentityKindCount; ++i)
    labelled(out, "sticky_identity_resolved_total", "kind",
             policy::identity_kind_name(static_cast<policy::IdentityKind>(i)), t.counters.identity.resolved[i]);
  out += "# HELP sticky_agent_cookie_rejected_total agent cookies ignored, by why\n";
  out += "# TYPE sticky_agent_cookie_rejected_total counter\n";
  // Slot 0 is CookieStatus::Ok, which rejects nothing and is never counted.
  for (std::size_t i = 1; i < policy::kCookieStatusCount; ++i)
    labelled(out, "sticky_agent_cookie_rejected_total", "status",
             policy::cookie_status_name(static_cast<policy::CookieStatus>(i)),
             t.counters.identity.agent_cookie_rejected[i]);
  metrics::append_counters(out, t.counters.identity, policy::kIdentityCounterFields);
  metrics::append_counters(out, t.counters, policy::kPersistCounterFields);
  metrics::append_counters(out, t.handler, kHandlerCounterFields);
}

void render_table_counters(const store::StickyTableCounters& c, std::string& out) {
  metrics::append_counters(out, c, store::kStickyTableCounterFields);
}

void render_persist_metrics(PersistRuntime& runtime, std::string& out) {
  render_persist_counters(runtime.totals(), out);
  metrics::append_metric(out, "sticky_table_entries", "gauge",
                         "entries in the sticky table (expired ones are reclaimed within about 5 s)",
                         static_cast<double>(runtime.table().size()));
  metrics::append_metric(out, "sticky_table_capacity", "gauge",
                         "the most entries the table holds: the sum of the backends' capacity",
                         static_cast<double>(configured_capacity(runtime)));
  render_table_counters(runtime.table().counters(), out);
  metrics::append_metric(out, "sticky_reload_dropped_pins_total", "counter",
                         "pins dropped because a config reload removed their backend",
                         static_cast<double>(runtime.reload_dropped()));
  if (const HaproxyTableSync* sync = runtime.table_sync()) {
    metrics::append_metric(out, "sticky_haproxy_table_clears_total", "counter",
                           "servers whose pins were cleared from HAProxy's stick table (fast path) on DOWN/MAINT",
                           static_cast<double>(sync->clears()));
    metrics::append_metric(out, "sticky_haproxy_table_clear_failures_total", "counter",
                           "runtime API clear table commands that failed (retried at the next change)",
                           static_cast<double>(sync->failures()));
  }
}

void render_hsaf_metrics(const HsafRuntime& runtime, std::string& out) {
  metrics::append_counters(out, runtime.totals(), hsaf::kHsafCounterFields);
}

void render_redis_counters(const store::RedisCounters& c, std::uint64_t applied, std::uint64_t foreign,
                           std::string& out) {
  metrics::append_counters(out, c, store::kRedisCounterFields);
  metrics::append_metric(out, "sticky_redis_applied_total", "counter",
                         "remote pins offered to the local table (sticky_table_remote_total says what the merge did)",
                         static_cast<double>(applied));
  metrics::append_metric(out, "sticky_redis_foreign_total", "counter",
                         "records for a backend or identity kind this agent does not manage (ignored)",
                         static_cast<double>(foreign));
}

void render_redis_metrics(const store::SharedStore& shared, std::string& out) {
  render_redis_counters(shared.totals(), shared.applied(), shared.rejected(), out);
}

void render_health_counters(const health::HealthCounters& c, std::string& out) {
  metrics::append_counters(out, c, health::kHealthCounterFields);
  metrics::append_metric(out, "sticky_health_static_fallback", "gauge",
                         "1 while the server view comes from the config's static servers, not HAProxy",
                         c.on_static_fallback ? 1.0 : 0.0);
}

void render_health_metrics(const health::HealthPoller& poller, std::string& out) {
  render_health_counters(poller.counters(), out);
}

}  // namespace sticky::agent
