// Test support: a real redis-server behind a DelayProxy (replies held back on demand), and one
// RedisClient connected through the proxy on a private loop. `tune` adjusts the client's options
// (deadlines, stall timeout) before it is built. Call REQUIRE_REDIS() first.
#pragma once

#include <catch2/catch.hpp>

#include <functional>
#include <memory>

#include "delay_proxy.h"
#include "redis_process.h"
#include "store/redis/redis_client.h"
#include "test_records.h"

namespace sticky::test {

struct ProxiedClient {
  RedisProcess redis;
  std::unique_ptr<DelayProxy> proxy;
  Loop l;
  store::RedisCounters c;
  std::unique_ptr<store::RedisClient> client;

  explicit ProxiedClient(const std::function<void(store::RedisOptions&)>& tune) {
    REQUIRE(redis.start());
    proxy = std::make_unique<DelayProxy>(redis.port());
    REQUIRE(proxy->port() > 0);
    store::RedisOptions o = options_for(proxy->port(), "A");
    tune(o);
    client = std::make_unique<store::RedisClient>(l.loop, o, c);
    client->start();
    REQUIRE(run_until(l.loop, [this] { return client->connected(); }, 3000));
  }
  ~ProxiedClient() { client.reset(); }  // before the proxy and the server it talks to
};

}  // namespace sticky::test
