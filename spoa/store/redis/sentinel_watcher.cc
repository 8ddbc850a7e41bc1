// +switch-master subscription on a Sentinel, reconnecting round-robin over the configured sentinels.
#include "store/redis/sentinel_watcher.h"

#include <hiredis/hiredis.h>

#include <array>
#include <charconv>
#include <string>

#include "store/backoff.h"

namespace sticky::store {

std::optional<RedisEndpoint> parse_switch_master(std::string_view payload, std::string_view master_name) {
  std::array<std::string_view, 5> tok;
  std::size_t n = 0;
  while (!payload.empty()) {
    std::size_t sp = payload.find(' ');
    std::string_view t = payload.substr(0, sp);
    if (!t.empty()) {
      if (n == tok.size()) return std::nullopt;
      tok[n++] = t;
    }
    if (sp == std::string_view::npos) break;
    payload.remove_prefix(sp + 1);
  }
  if (n != 5 || tok[0] != master_name) return std::nullopt;
  int port = 0;
  auto [end, ec] = std::from_chars(tok[4].data(), tok[4].data() + tok[4].size(), port);
  if (ec != std::errc() || end != tok[4].data() + tok[4].size() || port <= 0 || port > 65535) return std::nullopt;
  return RedisEndpoint{std::string(tok[3]), port};
}

namespace {
LinkSettings watcher_settings(const RedisOptions& o) {
  LinkSettings s;
  s.connect_timeout_ms = o.connect_timeout_ms;
  s.stall_timeout_ms = o.stall_timeout_ms;
  s.username = o.sentinel_username;
  s.password = o.sentinel_password;
  s.require_master = false;
  return s;
}
}  // namespace

SentinelWatcher::SentinelWatcher(struct ev_loop* loop, const RedisOptions& options, RedisCounters& counters,
                                 SwitchFn on_switch)
    : loop_(loop),
      options_(options),
      counters_(counters),
      on_switch_(std::move(on_switch)),
      link_(loop, watcher_settings(options), counters,
            RedisLink::Hooks{[this] {
                               attempt_ = 0;
                               link_.subscribe("+switch-master", [this](ReplyOutcome o, const redisReply* r) {
                                 if (o != ReplyOutcome::Reply) return;  // link loss arrives through on_lost
                                 if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
                                 const redisReply* kind = r->element[0];
                                 const redisReply* body = r->element[2];
                                 std::string_view k(kind->str ? kind->str : "", kind->str ? kind->len : 0);
                                 if (k == "subscribe") {
                                   watching_ = true;
                                   return;
                                 }
                                 if (k != "message" || body->type != REDIS_REPLY_STRING) return;
                                 auto ep = parse_switch_master(std::string_view(body->str, body->len),
                                                               options_.sentinel_master);
                                 if (!ep) return;
                                 ++counters_.switch_master_events;
                                 if (on_switch_) on_switch_(*ep);
                               });
                             },
                             [this](std::string_view) { lost(); },
                             nullptr}),
      rng_(std::random_device{}()) {
  ev_timer_init(&retry_timer_, &SentinelWatcher::on_retry, 0., 0.);
  retry_timer_.data = this;
}

SentinelWatcher::~SentinelWatcher() { stop(); }

void SentinelWatcher::start() {
  if (running_ || options_.sentinels.empty()) return;
  running_ = true;
  connect_next();
}

void SentinelWatcher::stop() {
  running_ = false;
  watching_ = false;
  ev_timer_stop(loop_, &retry_timer_);
  link_.close();
}

void SentinelWatcher::connect_next() {
  if (!running_) return;
  const RedisEndpoint& ep = options_.sentinels[next_ % options_.sentinels.size()];
  ++next_;
  link_.open(ep);
}

void SentinelWatcher::lost() {
  watching_ = false;
  if (!running_ || ev_is_active(&retry_timer_)) return;
  double unit = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  std::int64_t delay = backoff_delay_ms(options_.backoff, attempt_++, unit);
  ev_timer_set(&retry_timer_, static_cast<double>(delay) / 1000.0, 0.);
  ev_timer_start(loop_, &retry_timer_);
}

void SentinelWatcher::on_retry(struct ev_loop*, ev_timer* w, int) {
  static_cast<SentinelWatcher*>(w->data)->connect_next();
}

}  // namespace sticky::store
