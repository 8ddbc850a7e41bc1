// Validation of RedisOptions (called at startup; errors name the offending setting).
#include "store/redis_options.h"

#include "store/entry_codec.h"
#include "store/redis_key.h"

namespace sticky::store {

std::string endpoint_text(const RedisEndpoint& e) { return e.host + ":" + std::to_string(e.port); }

std::string validate(const RedisOptions& o) {
  if (!valid_cluster_name(o.cluster)) return "redis.cluster: must match [A-Za-z0-9._-]{1,64}";
  if (o.node_id.empty() || o.node_id.size() > kMaxOriginLen) return "redis.node_id: must be 1..64 bytes";
  if (o.sentinels.empty() && (o.server.host.empty() || o.server.port <= 0 || o.server.port > 65535))
    return "redis.server: host and port 1..65535 required";
  for (const auto& s : o.sentinels)
    if (s.host.empty() || s.port <= 0 || s.port > 65535) return "redis.sentinels: host and port 1..65535 required";
  if (!o.sentinels.empty() && o.sentinel_master.empty()) return "redis.sentinel_master: required with sentinels";
  if (o.connect_timeout_ms <= 0) return "redis.connect_timeout_ms: must be > 0";
  if (o.command_timeout_ms <= 0) return "redis.command_timeout_ms: must be > 0";
  if (o.lookup_deadline_ms <= 0) return "redis.lookup_deadline_ms: must be > 0";
  if (o.stall_timeout_ms <= 0) return "redis.stall_timeout_ms: must be > 0";
  if (o.backoff.base_ms <= 0 || o.backoff.max_ms < o.backoff.base_ms)
    return "redis.backoff: need 0 < base_ms <= max_ms";
  if (o.queue.max_items == 0 || o.queue.max_bytes == 0) return "redis.queue: limits must be > 0";
  if (o.warmup_batch == 0) return "redis.warmup_batch: must be > 0";
  return {};
}

}  // namespace sticky::store
