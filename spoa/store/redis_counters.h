// Plain counters of one Redis client or subscriber. Each is owned by one loop thread (no atomics);
// the metrics exporter reads them from that thread or sums snapshots.
#pragma once

#include <cstdint>

namespace sticky::store {

struct RedisCounters {
  // connection
  std::uint64_t connects = 0;          // connections that reached Ready
  std::uint64_t connect_failures = 0;  // refused, connect timeout, AUTH/ROLE failure
  std::uint64_t reconnects = 0;        // reconnect attempts scheduled after a loss
  std::uint64_t disconnects = 0;       // Ready connections lost
  std::uint64_t stalls = 0;            // connections dropped because replies stopped (stall_timeout_ms)
  std::uint64_t sentinel_queries = 0;
  std::uint64_t sentinel_failures = 0;
  std::uint64_t switch_master_events = 0;  // +switch-master announcements for our master
  // commands
  std::uint64_t commands_sent = 0;
  std::uint64_t replies = 0;
  std::uint64_t errors = 0;            // error replies, NULL replies, refused sends
  std::uint64_t timeouts = 0;          // command deadlines that fired
  std::uint64_t late_replies = 0;      // replies that arrived after their deadline (ignored)
  // writes and the outage queue
  std::uint64_t writes = 0;            // write_new/write_move/refresh_ttl calls
  std::uint64_t write_failures = 0;    // writes rejected by Redis (not retried; e.g. NOPERM, OOM)
  std::uint64_t queued = 0;            // writes put in the outage queue
  std::uint64_t queue_depth = 0;       // current outage queue length (gauge)
  std::uint64_t dropped = 0;           // writes dropped from the outage queue (oldest first, or on stop)
  std::uint64_t flushed = 0;           // queued writes re-sent after recovery
  std::uint64_t conflicts = 0;         // SET NX lost to another node's pin
  std::uint64_t expired_writes = 0;    // writes skipped because the record had already expired
  std::uint64_t recreated = 0;         // refresh found the key gone in Redis and wrote it again
  std::uint64_t published = 0;
  // lookups
  std::uint64_t lookups = 0;
  std::uint64_t lookup_hits = 0;
  std::uint64_t lookup_misses = 0;
  std::uint64_t lookup_unavailable = 0;  // answered at once because Redis is known down
  std::uint64_t lookup_timeouts = 0;
  // subscriber
  std::uint64_t received = 0;          // pub/sub messages and warm-up values seen
  std::uint64_t applied = 0;           // records handed to on_record
  std::uint64_t own_skipped = 0;       // own-origin messages skipped
  std::uint64_t malformed = 0;         // values that failed to decode or did not match their key
  std::uint64_t warmup_scans = 0;      // completed warm-up passes
  std::uint64_t warmup_keys = 0;       // keys visited by warm-up SCANs
  // ACL / authentication refusals (NOPERM, WRONGPASS, NOAUTH): replies and connections they closed
  std::uint64_t permission_errors = 0;
};

}  // namespace sticky::store
