// Sentinel master discovery: one short-lived connection per sentinel, tried in order.
#include "store/redis/sentinel_resolver.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <string>

namespace sticky::store {

namespace {
LinkSettings sentinel_settings(const RedisOptions& o) {
  LinkSettings s;
  s.connect_timeout_ms = o.connect_timeout_ms;
  s.stall_timeout_ms = o.stall_timeout_ms;
  s.username = o.sentinel_username;
  s.password = o.sentinel_password;
  s.require_master = false;  // a sentinel's ROLE is "sentinel"
  return s;
}

std::optional<RedisEndpoint> parse_master_addr(const redisReply* r) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return std::nullopt;
  const redisReply* host = r->element[0];
  const redisReply* port = r->element[1];
  if (host->type != REDIS_REPLY_STRING || port->type != REDIS_REPLY_STRING || host->len == 0) return std::nullopt;
  int p = 0;
  auto [end, ec] = std::from_chars(port->str, port->str + port->len, p);
  if (ec != std::errc() || end != port->str + port->len || p <= 0 || p > 65535) return std::nullopt;
  return RedisEndpoint{std::string(host->str, host->len), p};
}
}  // namespace

SentinelResolver::SentinelResolver(struct ev_loop* loop, const RedisOptions& options, RedisCounters& counters)
    : options_(options),
      counters_(counters),
      link_(loop, sentinel_settings(options), counters,
            RedisLink::Hooks{[this] { ask(); },
                             [this](std::string_view) {
                               if (!active_) return;
                               ++counters_.sentinel_failures;
                               try_next();
                             },
                             nullptr}) {}

void SentinelResolver::resolve(DoneFn done) {
  cancel();
  active_ = true;
  next_ = 0;
  done_ = std::move(done);
  try_next();
}

void SentinelResolver::cancel() {
  active_ = false;
  done_ = nullptr;
  link_.close();
}

void SentinelResolver::try_next() {
  if (next_ >= options_.sentinels.size()) return finish(std::nullopt);
  ++counters_.sentinel_queries;
  link_.open(options_.sentinels[next_++]);
}

void SentinelResolver::ask() {
  link_.command({"SENTINEL", "get-master-addr-by-name", options_.sentinel_master}, options_.command_timeout_ms,
                [this](ReplyOutcome o, const redisReply* r) {
                  if (!active_) return;
                  std::optional<RedisEndpoint> master;
                  if (o == ReplyOutcome::Reply) master = parse_master_addr(r);
                  link_.close();
                  if (master) return finish(std::move(master));
                  ++counters_.sentinel_failures;
                  try_next();
                });
}

void SentinelResolver::finish(std::optional<RedisEndpoint> master) {
  active_ = false;
  DoneFn done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(master));
}

}  // namespace sticky::store
