// A RedisLink that keeps itself connected: finds the master (directly or through Sentinel), reconnects
// after any loss with exponential backoff + jitter, and re-asks the sentinels on every reconnect so a
// failover is followed.
#pragma once

#include <ev.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "store/redis/redis_link.h"
#include "store/redis/sentinel_resolver.h"
#include "store/redis/sentinel_watcher.h"
#include "store/redis_counters.h"
#include "store/redis_options.h"

namespace sticky::store {

class ManagedLink {
 public:
  struct Hooks {
    std::function<void()> on_ready;  // every time a connection becomes usable
    std::function<void()> on_down;   // a usable connection was lost (not called for failed attempts)
  };

  // `options` must outlive the link.
  ManagedLink(struct ev_loop* loop, const RedisOptions& options, RedisCounters& counters, Hooks hooks);
  ~ManagedLink();
  ManagedLink(const ManagedLink&) = delete;
  ManagedLink& operator=(const ManagedLink&) = delete;

  void start();
  void stop();
  bool ready() const { return link_.ready(); }
  RedisLink& link() { return link_; }
  const RedisLink& link() const { return link_; }
  // Drops the current connection as unusable (e.g. READONLY after a failover) and reconnects.
  void fail(std::string_view why) { link_.fail(why); }
  const std::string& last_error() const { return last_error_; }
  // The owner's proof that a connection does its job (e.g. the subscription was confirmed). After a
  // ready connection was closed by a permission refusal, readiness alone proves nothing: the backoff
  // keeps growing until this is called.
  void confirm();

 private:
  void attempt();
  void lost(std::string_view why);
  void schedule_retry();
  void refused(std::string_view command, std::string_view arg, std::string_view message);
  static void on_retry(struct ev_loop* loop, ev_timer* w, int revents);

  struct ev_loop* loop_;
  const RedisOptions& options_;
  RedisCounters& counters_;
  Hooks hooks_;
  RedisLink link_;
  std::unique_ptr<SentinelResolver> resolver_;  // only when sentinels are configured
  std::unique_ptr<SentinelWatcher> watcher_;    // likewise: follows +switch-master at once
  ev_timer retry_timer_{};
  std::uint32_t attempt_ = 0;
  std::minstd_rand rng_;
  bool running_ = false;
  bool up_ = false;  // on_ready reported and on_down not yet
  bool refused_after_ready_ = false;  // a ready connection was lost to NOPERM & co and not confirmed since
  std::string last_error_;
};

}  // namespace sticky::store
