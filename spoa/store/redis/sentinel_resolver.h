// Asks the configured Sentinels, one after another, for the current master address
// (SENTINEL get-master-addr-by-name), without blocking the loop.
#pragma once

#include <ev.h>

#include <cstddef>
#include <functional>
#include <optional>

#include "store/redis/redis_link.h"
#include "store/redis_counters.h"
#include "store/redis_options.h"

namespace sticky::store {

class SentinelResolver {
 public:
  // nullopt: no sentinel gave an address (all unreachable, unknown master name, or a malformed answer).
  using DoneFn = std::function<void(std::optional<RedisEndpoint> master)>;

  SentinelResolver(struct ev_loop* loop, const RedisOptions& options, RedisCounters& counters);

  // Starts a query round; `done` runs exactly once unless cancel() comes first. A round already in
  // progress is cancelled.
  void resolve(DoneFn done);
  void cancel();
  bool active() const { return active_; }

 private:
  void try_next();
  void ask();
  void finish(std::optional<RedisEndpoint> master);

  const RedisOptions& options_;
  RedisCounters& counters_;
  RedisLink link_;
  std::size_t next_ = 0;
  bool active_ = false;
  DoneFn done_;
};

}  // namespace sticky::store
