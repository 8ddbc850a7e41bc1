// sticky_redis_command_seconds against a real redis-server behind a proxy that holds replies back:
// each reply is timed from its command's send (late replies too), pub/sub messages are not, and the
// histogram's count is exactly replies + late_replies - pubsub_messages.
#include <catch2/catch.hpp>
#include <ev.h>

#include <optional>
#include <string>

#include "delay_proxy.h"
#include "proxied_client.h"
#include "redis_process.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_subscriber.h"
#include "test_records.h"

using namespace sticky;
using namespace sticky::store;
using sticky::test::DelayProxy;
using sticky::test::Loop;
using sticky::test::RedisProcess;

namespace {

std::uint64_t timed(const RedisCounters& c) { return metrics::histogram_count(c.command_seconds); }
std::uint64_t untimed_replies(const RedisCounters& c) { return c.replies + c.late_replies - c.pubsub_messages; }

// Observations at or under `us` microseconds (the histogram's own bounds).
std::uint64_t at_most_us(const RedisCounters& c, std::uint32_t us) {
  std::uint64_t n = 0;
  for (std::size_t b = 0; b < metrics::kLatencyBoundsUs.size() && metrics::kLatencyBoundsUs[b] <= us; ++b)
    n += c.command_seconds.buckets[b];
  return n;
}

}  // namespace

TEST_CASE("Every reply is timed from its command's send, a late one with its real round trip", "[redis_latency]") {
  REQUIRE_REDIS();
  test::ProxiedClient pc([](RedisOptions& o) {
    o.lookup_deadline_ms = 10;
    o.stall_timeout_ms = 5000;  // a 40 ms reply is late, not a stall
  });
  DelayProxy& proxy = *pc.proxy;
  Loop& l = pc.l;
  RedisCounters& c = pc.c;
  RedisClient& a = *pc.client;
  // The handshake's replies (ROLE) are round trips too.
  CHECK(timed(c) >= 1);
  CHECK(timed(c) == untimed_replies(c));

  SECTION("replies held back 3 ms are all counted above the 2.5 ms bound") {
    proxy.set_delay_ms(3);
    const std::uint64_t before = timed(c), fast_before = at_most_us(c, 2500);
    const std::uint64_t sum_before = c.command_seconds.sum_ns;
    a.write_new(test::record(1, "A", "s1", 30000), nullptr);  // SET NX, then PUBLISH
    REQUIRE(test::run_until(l.loop, [&] { return c.published == 1 && timed(c) == before + 2; }, 2000));
    CHECK(at_most_us(c, 2500) == fast_before);
    CHECK(c.command_seconds.sum_ns - sum_before >= 2 * 3'000'000);
    CHECK(timed(c) == untimed_replies(c));
  }

  SECTION("a lookup past its deadline is counted when its reply comes, at its real 40 ms") {
    proxy.set_delay_ms(40);
    const std::uint64_t before = timed(c), fast_before = at_most_us(c, 25000);
    std::optional<LookupResult> got;
    a.lookup("web", 5, "0a000001", 0, [&](LookupResult r) { got = std::move(r); });
    REQUIRE(test::run_until(l.loop, [&] { return got.has_value(); }, 2000));
    CHECK(got->status == LookupStatus::Timeout);
    CHECK(timed(c) == before);  // nothing back yet
    // GET and PTTL, pipelined: two late replies.
    REQUIRE(test::run_until(l.loop, [&] { return c.late_replies == 2; }, 2000));
    CHECK(timed(c) == before + 2);
    CHECK(at_most_us(c, 25000) == fast_before);  // over 25 ms: in the 50 ms bucket or above
    CHECK(timed(c) == untimed_replies(c));
  }
}

TEST_CASE("Pub/sub messages are replies but not round trips", "[redis_latency]") {
  REQUIRE_REDIS();
  RedisProcess redis;
  REQUIRE(redis.start());
  Loop l;
  RedisCounters ca, sc;
  auto oa = test::options_for(redis.port(), "A");
  auto ob = test::options_for(redis.port(), "B");
  RedisClient a(l.loop, oa, ca);
  std::size_t got = 0;
  RedisSubscriber sub(l.loop, ob, sc, [&](const StickyRecord&) { ++got; });
  a.start();
  sub.start();
  REQUIRE(test::run_until(l.loop, [&] { return a.connected() && sub.subscribed() && sc.warmup_scans == 1; }, 5000));
  for (int i = 0; i < 5; ++i) a.write_new(test::record(i, "A", "s1", 30000), nullptr);
  REQUIRE(test::run_until(l.loop, [&] { return got == 5; }, 3000));
  CHECK(sc.pubsub_messages == 1 + 5);  // SUBSCRIBE's confirmation, then the five pins
  CHECK(timed(sc) == untimed_replies(sc));
  CHECK(timed(sc) < sc.replies);
  REQUIRE(test::run_until(l.loop, [&] { return timed(ca) == untimed_replies(ca) && ca.published == 5; }, 2000));
  CHECK(ca.pubsub_messages == 0);
  CHECK(timed(ca) >= 10);  // five SET NX and five PUBLISH, after the handshake
}
