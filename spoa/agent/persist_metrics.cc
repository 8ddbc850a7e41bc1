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

// Backend ids are the config order, so backends 0..size-1 are exactly the configured ones.
static std::size_t configured_capacity(PersistRuntime& runtime) {
  std::size_t n = 0;
  for (std::size_t b = 0; b < runtime.size(); ++b)
    n += runtime.table().capacity_for_backend(static_cast<std::uint16_t>(b));
  return n;
}

void render_persist_metrics(PersistRuntime& runtime, std::string& out) {
  const PersistTotals t = runtime.totals();
  out += "# HELP sticky_persist_decisions_total persistence decisions by reason\n";
  out += "# TYPE sticky_persist_decisions_total counter\n";
  for (std::size_t i = 0; i < policy::kPinReasonCount; ++i)
    labelled(out, "sticky_persist_decisions_total", "reason",
             policy::pin_reason_name(static_cast<policy::PinReason>(i)), t.counters.decisions[i]);
  out += "# HELP sticky_agent_cookie_rejected_total agent cookies ignored, by why\n";
  out += "# TYPE sticky_agent_cookie_rejected_total counter\n";
  for (std::size_t i = 1; i < policy::kCookieStatusCount; ++i)
    labelled(out, "sticky_agent_cookie_rejected_total", "status",
             policy::cookie_status_name(static_cast<policy::CookieStatus>(i)),
             t.counters.identity.agent_cookie_rejected[i]);
  const auto& id = t.counters.identity;
  struct Row {
    const char* name;
    const char* help;
    std::uint64_t v;
  };
  const Row rows[] = {
      {"sticky_tci_untrusted_total", "True-Client-IP headers ignored: peer outside the CDN ranges", id.untrusted_tci},
      {"sticky_tci_invalid_total", "True-Client-IP headers from the CDN that were not an address", id.bad_tci},
      {"sticky_xff_untrusted_total", "X-Forwarded-For ignored: peer is not a trusted proxy", id.untrusted_xff},
      {"sticky_xff_invalid_total", "X-Forwarded-For elements that were not an address", id.bad_xff},
      {"sticky_xff_too_long_total", "X-Forwarded-For chains over the hop limit", id.xff_too_long},
      {"sticky_xff_lines_too_long_total", "X-Forwarded-For lines over 4 KiB together (only the last line used)",
       t.handler.xff_lines_too_long},
      {"sticky_fast_path_moves_total",
       "Responses served elsewhere than HAProxy's own stick table said (fast path): the agent followed",
       t.handler.table_hit_moves},
      {"sticky_xff_all_trusted_total", "X-Forwarded-For chains whose every hop is a trusted proxy (leftmost used)",
       id.xff_all_trusted},
      {"sticky_app_cookie_too_long_total", "application cookies longer than a key (not used for persistence)",
       id.app_cookie_too_long},
      {"sticky_source_invalid_total", "requests whose src argument was missing or not an address", id.bad_source},
      {"sticky_cookie_unknown_server_total", "valid cookies naming a server no longer in the backend",
       t.counters.cookie_unknown_server},
      {"sticky_cookies_issued_total", "Set-Cookie values issued", t.counters.cookies_issued},
      {"sticky_app_cookies_learned_total", "application session cookies learned from responses",
       t.counters.learned_app_cookies},
      {"sticky_redispatch_followed_total", "pins corrected to the server HAProxy really used",
       t.counters.followed_redispatch},
      {"sticky_table_refused_total", "pins the table refused (full or invalid)", t.counters.table_full},
      {"sticky_bad_response_key_total", "responses whose identity token did not parse", t.counters.bad_response_key},
      {"sticky_request_messages_total", "persist-req messages handled", t.handler.requests},
      {"sticky_response_messages_total", "persist-res messages handled", t.handler.responses},
      {"sticky_unknown_backend_total", "messages naming a backend absent from the config", t.handler.unknown_backend},
      {"sticky_no_server_view_total", "messages for a backend with no server list yet", t.handler.no_view},
      {"sticky_shared_lookups_total", "decisions that waited for a Redis lookup", t.handler.deferred},
      {"sticky_shared_lookup_hits_total", "Redis lookups that found the client's pin", t.handler.shared_hits},
  };
  for (const Row& r : rows) metrics::append_metric(out, r.name, "counter", r.help, static_cast<double>(r.v));
  const auto tc = runtime.table().counters();
  metrics::append_metric(out, "sticky_table_entries", "gauge",
                         "entries in the sticky table (expired ones are reclaimed within about 5 s)",
                         static_cast<double>(runtime.table().size()));
  metrics::append_metric(out, "sticky_table_capacity", "gauge",
                         "the most entries the table holds: the sum of the backends' capacity",
                         static_cast<double>(configured_capacity(runtime)));
  metrics::append_metric(out, "sticky_table_evicted_total", "counter",
                         "live entries evicted because their backend's capacity was reached (oldest first)",
                         static_cast<double>(tc.evicted_capacity));
  metrics::append_metric(out, "sticky_table_expired_total", "counter",
                         "entries removed after their TTL (by lookups, inserts and the once-a-second sweep)",
                         static_cast<double>(tc.expired));
  out += "# HELP sticky_table_remote_total pins from other agents merged into the table, by outcome\n";
  out += "# TYPE sticky_table_remote_total counter\n";
  const std::pair<const char*, std::uint64_t> remote[] = {
      {"inserted", tc.remote_inserted},
      {"replaced", tc.remote_replaced},
      {"ignored_older", tc.remote_ignored_older},
      {"ignored_expired", tc.remote_ignored_expired},
  };
  for (const auto& [outcome, v] : remote) labelled(out, "sticky_table_remote_total", "outcome", outcome, v);
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
  const hsaf::HsafCounters c = runtime.totals();
  metrics::append_metric(out, "sticky_hsaf_routed_total", "counter", "requests given a serial and a peer",
                         static_cast<double>(c.routed));
  metrics::append_metric(out, "sticky_hsaf_bad_input_total", "counter", "hsaf messages with no usable input or profile",
                         static_cast<double>(c.bad_input));
  metrics::append_metric(out, "sticky_hsaf_no_peer_total", "counter", "hsaf requests with no usable peer anywhere",
                         static_cast<double>(c.no_peer));
  metrics::append_metric(out, "sticky_hsaf_overflow_total", "counter", "hops sent to the overflow region",
                         static_cast<double>(c.overflow_first_hop + c.overflow_second_hop));
  metrics::append_metric(out, "sticky_hsaf_other_region_first_total", "counter",
                         "parent-tier requests whose first hop was the second region", static_cast<double>(c.first_hop_other_region));
}

void render_redis_metrics(const SharedStore& shared, std::string& out) {
  const store::RedisCounters c = shared.totals();
  struct Row {
    const char* name;
    const char* type;
    const char* help;
    std::uint64_t v;
  };
  const Row rows[] = {
      {"sticky_redis_connects_total", "counter", "Redis connections established", c.connects},
      {"sticky_redis_connect_failures_total", "counter", "Redis connection attempts that failed", c.connect_failures},
      {"sticky_redis_disconnects_total", "counter", "established Redis connections lost", c.disconnects},
      {"sticky_redis_stalls_total", "counter", "Redis connections dropped because replies stopped", c.stalls},
      {"sticky_redis_switch_master_total", "counter", "Sentinel failovers followed (+switch-master)",
       c.switch_master_events},
      {"sticky_redis_commands_total", "counter", "commands sent to Redis", c.commands_sent},
      {"sticky_redis_errors_total", "counter", "error or missing replies from Redis", c.errors},
      {"sticky_redis_permission_errors_total", "counter",
       "ACL or authentication refusals from Redis (NOPERM, WRONGPASS, NOAUTH): fix the ACL, see the log",
       c.permission_errors},
      {"sticky_redis_timeouts_total", "counter", "Redis commands past their deadline", c.timeouts},
      {"sticky_redis_writes_total", "counter", "pins written (new, move, refresh)", c.writes},
      {"sticky_redis_queued_total", "counter", "writes queued while Redis was unavailable", c.queued},
      {"sticky_redis_queue_depth", "gauge", "writes waiting for Redis now", c.queue_depth},
      {"sticky_redis_dropped_total", "counter", "queued writes dropped (queue bound, oldest first)", c.dropped},
      {"sticky_redis_flushed_total", "counter", "queued writes sent after Redis came back", c.flushed},
      {"sticky_redis_conflicts_total", "counter", "new pins that lost to another agent's (adopted)", c.conflicts},
      {"sticky_redis_lookups_total", "counter", "local misses looked up in Redis", c.lookups},
      {"sticky_redis_lookup_hits_total", "counter", "lookups that found a pin", c.lookup_hits},
      {"sticky_redis_lookup_timeouts_total", "counter", "lookups past the deadline (decided locally)", c.lookup_timeouts},
      {"sticky_redis_lookup_unavailable_total", "counter", "lookups answered at once: Redis down", c.lookup_unavailable},
      {"sticky_redis_received_total", "counter", "pins received by pub/sub or warm-up", c.received},
      {"sticky_redis_malformed_total", "counter", "records from Redis that did not decode", c.malformed},
      {"sticky_redis_warmup_keys_total", "counter", "keys read by warm-up scans", c.warmup_keys},
  };
  for (const Row& r : rows) metrics::append_metric(out, r.name, r.type, r.help, static_cast<double>(r.v));
  metrics::append_metric(out, "sticky_redis_applied_total", "counter",
                         "remote pins offered to the local table (sticky_table_remote_total says what the merge did)",
                         static_cast<double>(shared.applied()));
  metrics::append_metric(out, "sticky_redis_foreign_total", "counter",
                         "records for a backend or identity kind this agent does not manage (ignored)",
                         static_cast<double>(shared.rejected()));
}

}  // namespace sticky::agent
