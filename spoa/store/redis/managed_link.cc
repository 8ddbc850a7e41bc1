// Reconnecting, Sentinel-following Redis connection.
#include "store/redis/managed_link.h"

#include "base/log.h"

#include "store/backoff.h"

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
                               // Logged on state changes only, never per retry.
                               if (!last_error_.empty())
                                 STICKY_LOG(Info, "redis %s:%d usable again", link_.endpoint().host.c_str(),
                                            link_.endpoint().port);
                               attempt_ = 0;
                               last_error_.clear();
                               up_ = true;
                               if (hooks_.on_ready) hooks_.on_ready();
                             },
                             [this](std::string_view why) { lost(why); }}),
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
  if (up_)
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

void ManagedLink::on_retry(struct ev_loop*, ev_timer* w, int) { static_cast<ManagedLink*>(w->data)->attempt(); }

}  // namespace sticky::store
