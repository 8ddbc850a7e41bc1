// Reconnecting, Sentinel-following Redis connection.
#include "store/redis/managed_link.h"

#include "base/log.h"

#include "store/backoff.h"
#include "store/permission_errors.h"

namespace sticky::store {

namespace {
LinkSettings data_settings(const RedisOptions& o) {
  LinkSettings s;
  s.connect_timeout_ms = o.connect_timeout_ms;
  s.stall_timeout_ms = o.stall_timeout_ms;
  s.username = o.username;
  s.password = o.password;
  s.require_master = true;
  return s;
}
}  // namespace

ManagedLink::ManagedLink(struct ev_loop* loop, const RedisOptions& options, RedisCounters& counters, Hooks hooks)
    : loop_(loop),
      options_(options),
      counters_(counters),
      hooks_(std::move(hooks)),
      link_(loop, data_settings(options), counters,
            RedisLink::Hooks{[this] {
                               // Logged on state changes only, never per retry. A connection that was
                               // closed by a refusal is not "usable" until confirm() says so.
                               if (!refused_after_ready_) {
                                 if (!last_error_.empty())
                                   STICKY_LOG(Info, "redis %s:%d usable again", link_.endpoint().host.c_str(),
                                              link_.endpoint().port);
                                 attempt_ = 0;
                               }
                               last_error_.clear();
                               up_ = true;
                               if (hooks_.on_ready) hooks_.on_ready();
                             },
                             [this](std::string_view why) { lost(why); },
                             [this](std::string_view command, std::string_view arg, std::string_view message) {
                               refused(command, arg, message);
                             }}),
      rng_(std::random_device{}()) {
  if (!options_.sentinels.empty()) {
    resolver_ = std::make_unique<SentinelResolver>(loop, options_, counters);
    watcher_ = std::make_unique<SentinelWatcher>(loop, options_, counters, [this](const RedisEndpoint& master) {
      bool same = link_.endpoint().host == master.host && link_.endpoint().port == master.port;
      if (same && !link_.idle()) return;
      // Leave the old master now; the reconnect re-asks the sentinels, which already answer the new one.
      if (!link_.idle()) link_.fail("sentinel announced +switch-master");
    });
  }
  ev_timer_init(&retry_timer_, &ManagedLink::on_retry, 0., 0.);
  retry_timer_.data = this;
}

ManagedLink::~ManagedLink() { stop(); }

void ManagedLink::start() {
  if (running_) return;
  running_ = true;
  attempt_ = 0;
  if (watcher_) watcher_->start();
  attempt();
}

void ManagedLink::stop() {
  running_ = false;
  up_ = false;
  ev_timer_stop(loop_, &retry_timer_);
  if (resolver_) resolver_->cancel();
  if (watcher_) watcher_->stop();
  link_.close();
}

void ManagedLink::attempt() {
  if (!running_) return;
  if (!resolver_) return link_.open(options_.server);
  resolver_->resolve([this](std::optional<RedisEndpoint> master) {
    if (!running_) return;
    if (!master) {
      last_error_ = "no sentinel returned a master address";
      return schedule_retry();
    }
    link_.open(*master);
  });
}

void ManagedLink::lost(std::string_view why) {
  // A refusal was logged once by refused(); reconnecting cannot cure it, so it is not logged again
  // here and the backoff keeps growing across reconnects (no storm of connect/refuse/reconnect).
  const bool refusal = is_permission_error(why);
  if (up_ && refusal) refused_after_ready_ = true;
  if (up_ && !refusal)
    STICKY_LOG(Warn, "redis %s:%d lost (%.*s): pins stay local, writes queue until it is back",
               link_.endpoint().host.c_str(), link_.endpoint().port, static_cast<int>(why.size()), why.data());
  last_error_ = std::string(why);
  bool was_up = up_;
  up_ = false;
  if (running_) schedule_retry();
  if (was_up && hooks_.on_down) hooks_.on_down();
}

void ManagedLink::schedule_retry() {
  if (!running_ || ev_is_active(&retry_timer_)) return;
  ++counters_.reconnects;
  double unit = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  std::int64_t delay = backoff_delay_ms(options_.backoff, attempt_++, unit);
  ev_timer_set(&retry_timer_, static_cast<double>(delay) / 1000.0, 0.);
  ev_timer_start(loop_, &retry_timer_);
}

void ManagedLink::confirm() {
  if (!refused_after_ready_) return;
  refused_after_ready_ = false;
  attempt_ = 0;
  STICKY_LOG(Info, "redis %s:%d accepts this agent's commands again", link_.endpoint().host.c_str(),
             link_.endpoint().port);
}

void ManagedLink::refused(std::string_view command, std::string_view arg, std::string_view message) {
  // Once per process for each refusal (Redis words them by what is denied: keys, channels, a command,
  // the password), whatever the number of workers, commands and retries.
  if (!first_permission_report(message)) return;
  std::string need = acl_requirement(options_.username);
  STICKY_LOG(Error,
             "redis %s:%d refused %.*s%s%.*s: %.*s. The %s. Until then pins stay local (refused writes are "
             "dropped, reconnects back off up to %lld ms); counted in sticky_redis_permission_errors_total",
             link_.endpoint().host.c_str(), link_.endpoint().port, static_cast<int>(command.size()), command.data(),
             arg.empty() ? "" : " ", static_cast<int>(arg.size()), arg.data(), static_cast<int>(message.size()),
             message.data(), need.c_str(), static_cast<long long>(options_.backoff.max_ms));
}

void ManagedLink::on_retry(struct ev_loop*, ev_timer* w, int) { static_cast<ManagedLink*>(w->data)->attempt(); }

}  // namespace sticky::store
