// Plain counters of one Redis client or subscriber. Each is owned by one loop thread (no atomics);
// the metrics exporter sums snapshots. X(field, metric, label, type, help): the list the exporter
// walks (base/counter_list.h), so every counter kept here is on /metrics; the round-trip histogram
// beside them is listed in kRedisHistogramFields, rendered and merged with them.
#pragma once

#include <cstdint>

#include "base/counter_list.h"
#include "metrics/latency_histogram.h"

namespace sticky::store {

#define STICKY_REDIS_COUNTERS(X)                                                                          \
  /* connection */                                                                                       \
  X(connects, "sticky_redis_connects_total", "", Counter, "Redis connections established")               \
  X(connect_failures, "sticky_redis_connect_failures_total", "", Counter,                                \
    "Redis connection attempts that failed (refused, connect timeout, AUTH/ROLE failure)")               \
  X(reconnects, "sticky_redis_reconnects_total", "", Counter, "reconnect attempts scheduled after a loss") \
  X(disconnects, "sticky_redis_disconnects_total", "", Counter, "established Redis connections lost")    \
  X(connected, "sticky_redis_connected", "", Gauge,                                                      \
    "workers whose Redis connection is up (sampled as their counters are published, about once a second)") \
  X(settings_pending, "sticky_redis_settings_pending", "", Gauge,                                        \
    "workers still using the previous Redis settings: a reload changed them, and the new connection is not up yet") \
  X(stalls, "sticky_redis_stalls_total", "", Counter, "Redis connections dropped because replies stopped") \
  X(sentinel_queries, "sticky_redis_sentinel_queries_total", "", Counter, "master address queries sent to Sentinels") \
  X(sentinel_failures, "sticky_redis_sentinel_failures_total", "", Counter,                              \
    "Sentinel queries that gave no usable master address")                                               \
  X(switch_master_events, "sticky_redis_switch_master_total", "", Counter,                               \
    "Sentinel failovers followed (+switch-master)")                                                      \
  /* commands */                                                                                         \
  X(commands_sent, "sticky_redis_commands_total", "", Counter, "commands sent to Redis")                 \
  X(replies, "sticky_redis_replies_total", "", Counter, "replies received from Redis")                   \
  X(errors, "sticky_redis_errors_total", "", Counter, "error or missing replies from Redis")             \
  X(timeouts, "sticky_redis_timeouts_total", "", Counter, "Redis commands past their deadline")          \
  X(late_replies, "sticky_redis_late_replies_total", "", Counter,                                       \
    "replies that arrived after their deadline (ignored)")                                               \
  X(pubsub_messages, "sticky_redis_pubsub_messages_total", "", Counter,                                  \
    "replies that were messages on a subscription, SUBSCRIBE's confirmation included (not round trips)") \
  /* writes and the outage queue */                                                                      \
  X(writes, "sticky_redis_writes_total", "", Counter, "pins written (new, move, refresh)")               \
  X(write_failures, "sticky_redis_write_failures_total", "", Counter,                                    \
    "writes Redis rejected (not retried; e.g. NOPERM, OOM): those pins stay local")                      \
  X(queued, "sticky_redis_queued_total", "", Counter, "writes queued while Redis was unavailable")       \
  X(queue_depth, "sticky_redis_queue_depth", "", Gauge, "writes waiting for Redis now")                  \
  X(dropped, "sticky_redis_dropped_total", "", Counter,                                                  \
    "queued writes dropped (queue bound, oldest first, or on stop)")                                     \
  X(flushed, "sticky_redis_flushed_total", "", Counter, "queued writes sent after Redis came back")      \
  X(conflicts, "sticky_redis_conflicts_total", "", Counter, "new pins that lost to another agent's (adopted)") \
  X(moves_superseded, "sticky_redis_moves_superseded_total", "", Counter,                                \
    "moves not written: Redis already held a version at least as new (that one adopted)")              \
  X(expired_writes, "sticky_redis_expired_writes_total", "", Counter,                                    \
    "writes skipped because the pin had expired before it could be sent")                                \
  X(recreated, "sticky_redis_recreated_total", "", Counter,                                              \
    "TTL refreshes that found the key gone in Redis and wrote it again")                                 \
  X(published, "sticky_redis_published_total", "", Counter, "pins published to the other agents")        \
  /* lookups */                                                                                          \
  X(lookups, "sticky_redis_lookups_total", "", Counter, "local misses looked up in Redis")               \
  X(lookup_hits, "sticky_redis_lookup_hits_total", "", Counter, "lookups that found a pin")              \
  X(lookup_misses, "sticky_redis_lookup_misses_total", "", Counter, "lookups that found no pin")         \
  X(lookup_unavailable, "sticky_redis_lookup_unavailable_total", "", Counter,                            \
    "lookups answered at once: Redis down")                                                              \
  X(lookup_timeouts, "sticky_redis_lookup_timeouts_total", "", Counter,                                  \
    "lookups past the deadline (decided locally)")                                                       \
  /* subscriber */                                                                                       \
  X(received, "sticky_redis_received_total", "", Counter, "pins received by pub/sub or warm-up")         \
  X(applied, "sticky_redis_subscriber_records_total", "", Counter,                                       \
    "records from pub/sub or warm-up handed to the local table")                                         \
  X(own_skipped, "sticky_redis_own_skipped_total", "", Counter, "own pub/sub messages skipped")          \
  X(malformed, "sticky_redis_malformed_total", "", Counter,                                              \
    "records from Redis that did not decode or did not match their key")                                 \
  X(warmup_scans, "sticky_redis_warmup_scans_total", "", Counter, "completed warm-up passes")            \
  X(warmup_keys, "sticky_redis_warmup_keys_total", "", Counter, "keys read by warm-up scans")             \
  /* ACL / authentication refusals (NOPERM, WRONGPASS, NOAUTH): replies and connections they closed */    \
  X(permission_errors, "sticky_redis_permission_errors_total", "", Counter,                              \
    "ACL or authentication refusals from Redis (NOPERM, WRONGPASS, NOAUTH): fix the ACL, see the log")

struct RedisCounters {
  STICKY_REDIS_COUNTERS(STICKY_COUNTER_FIELD)
  // Every reply to a command, from the command sent to its reply read, late replies included: its
  // count is replies + late_replies - pubsub_messages.
  metrics::LatencyHistogram command_seconds;
};
#define STICKY_X(f, ...) STICKY_COUNTER_ROW(RedisCounters, f, __VA_ARGS__)
inline constexpr CounterField<RedisCounters> kRedisCounterFields[] = {STICKY_REDIS_COUNTERS(STICKY_X)};
#undef STICKY_X
inline constexpr metrics::HistogramField<RedisCounters> kRedisHistogramFields[] = {
    {&RedisCounters::command_seconds, "sticky_redis_command_seconds",
     "Redis commands from sent to reply received (late replies too; pub/sub messages are not round trips)"},
};

// One worker's counters added to a total: the counter list and the histograms.
inline void add_redis_counters(RedisCounters& into, const RedisCounters& from) {
  add_fields(into, from, kRedisCounterFields);
  metrics::add_histograms(into, from);
}

}  // namespace sticky::store

namespace sticky::metrics {
template <>
inline constexpr std::span<const HistogramField<store::RedisCounters>> kHistogramFields<store::RedisCounters> =
    store::kRedisHistogramFields;
}  // namespace sticky::metrics
