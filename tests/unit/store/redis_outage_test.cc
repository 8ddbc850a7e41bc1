// Tests of behaviour while Redis is down or stalled: bounded write queue, fail-fast lookups, deadlines,
// recovery with flush, resubscribe and catch-up.
#include <catch2/catch.hpp>
#include <ev.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "redis_process.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_subscriber.h"
#include "store/redis_key.h"
#include "test_records.h"

using namespace sticky;
using namespace sticky::store;
using sticky::test::Loop;
using sticky::test::RedisProcess;
using Clock = std::chrono::steady_clock;

namespace {
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}
}  // namespace

TEST_CASE("While Redis is down writes queue (oldest dropped) and flush when it is back", "[redis_outage]") {
  REQUIRE_REDIS();
  RedisProcess redis;
  REQUIRE(redis.start());
  Loop l;
  RedisCounters c;
  auto o = test::options_for(redis.port(), "A");
  o.queue = {10, 1 << 20};
  RedisClient a(l.loop, o, c);
  a.start();
  REQUIRE(test::run_until(l.loop, [&] { return a.connected(); }, 3000));

  redis.kill();
  REQUIRE(test::run_until(l.loop, [&] { return !a.connected(); }, 2000));
  CHECK(c.disconnects == 1);

  // Lookups fail fast: answered inside lookup(), far below their deadline.
  auto t0 = Clock::now();
  std::optional<LookupStatus> status;
  a.lookup("web", 1, "k", 1000, [&](LookupResult r) { status = r.status; });
  REQUIRE(status);
  CHECK(*status == LookupStatus::Unavailable);
  CHECK(ms_since(t0) < 5.0);

  for (int i = 0; i < 15; ++i) a.write_new(test::record(i, "A"), nullptr);
  CHECK(a.queue_depth() == 10);
  CHECK(c.queue_depth == 10);
  CHECK(c.dropped == 5);
  CHECK(c.queued == 15);

  test::run_for(l.loop, 100);  // a few failed reconnects with backoff
  CHECK(c.reconnects >= 2);
  REQUIRE(redis.restart());
  REQUIRE(test::run_until(l.loop, [&] { return a.connected() && c.published == 10; }, 5000));
  CHECK(a.queue_depth() == 0);
  CHECK(c.flushed == 10);
  for (int i = 0; i < 15; ++i) {
    INFO("record " << i);
    CHECK(redis.cmd({"EXISTS", redis_key_of("t", test::record(i, "A"))}) == (i < 5 ? "0" : "1"));
  }
}

TEST_CASE("A lookup against a stopped Redis times out within its deadline, then the link is dropped",
          "[redis_outage]") {
  REQUIRE_REDIS();
  RedisProcess redis;
  REQUIRE(redis.start());
  Loop l;
  RedisCounters c;
  auto o = test::options_for(redis.port(), "A");
  o.stall_timeout_ms = 300;
  o.connect_timeout_ms = 100;
  RedisClient a(l.loop, o, c);
  a.start();
  REQUIRE(test::run_until(l.loop, [&] { return a.connected(); }, 3000));

  redis.pause();
  constexpr int kDeadline = 20;
  std::optional<LookupStatus> status;
  double elapsed = 0;
  auto t0 = Clock::now();
  a.lookup("web", 1, "k", kDeadline, [&](LookupResult r) {
    status = r.status;
    elapsed = ms_since(t0);
  });
  REQUIRE(test::run_until(l.loop, [&] { return status.has_value(); }, 2000));
  CHECK(*status == LookupStatus::Timeout);
  CHECK(elapsed >= kDeadline - 1);
  CHECK(elapsed < kDeadline + 30);
  CHECK(c.lookup_timeouts == 1);

  a.write_new(test::record(1, "A"), nullptr);  // goes out, then is stuck in the stopped server
  // No reply for stall_timeout_ms: the link drops, the stuck write is requeued, lookups fail fast.
  REQUIRE(test::run_until(l.loop, [&] { return !a.connected(); }, 2000));
  CHECK(c.stalls == 1);
  CHECK(a.queue_depth() == 1);
  status.reset();
  a.lookup("web", 1, "k", kDeadline, [&](LookupResult r) { status = r.status; });
  REQUIRE(status);
  CHECK(*status == LookupStatus::Unavailable);

  redis.resume();
  bool recovered = test::run_until(l.loop, [&] { return a.connected() && a.queue_depth() == 0 && c.published >= 1; }, 5000);
  INFO("last error: " << a.last_error() << " connects=" << c.connects << " failures=" << c.connect_failures
                      << " depth=" << a.queue_depth() << " published=" << c.published << " expired=" << c.expired_writes
                      << " write_failures=" << c.write_failures << " errors=" << c.errors << " replies=" << c.replies);
  REQUIRE(recovered);
  CHECK(redis.cmd({"EXISTS", redis_key_of("t", test::record(1, "A"))}) == "1");
}

TEST_CASE("After a Redis restart the subscriber resubscribes and catches up with a new scan", "[redis_outage]") {
  REQUIRE_REDIS();
  RedisProcess redis;
  REQUIRE(redis.start());
  Loop l;
  RedisCounters ca, sb;
  auto oa = test::options_for(redis.port(), "A");
  auto ob = test::options_for(redis.port(), "B");
  int received = 0;
  RedisClient a(l.loop, oa, ca);
  RedisSubscriber b(l.loop, ob, sb, [&](const StickyRecord&) { ++received; });
  a.start();
  b.start();
  REQUIRE(test::run_until(l.loop, [&] { return a.connected() && b.subscribed() && sb.warmup_scans == 1; }, 3000));

  redis.kill();
  REQUIRE(test::run_until(l.loop, [&] { return !a.connected() && !b.subscribed(); }, 2000));
  a.write_new(test::record(3, "A", "s9"), nullptr);  // queued while down
  REQUIRE(redis.restart());
  // The write reaches B either live (if B resubscribed first) or through the catch-up scan.
  REQUIRE(test::run_until(l.loop, [&] { return b.subscribed() && sb.warmup_scans == 2 && received >= 1; }, 5000));
  CHECK(ca.flushed == 1);
}

// A reload that names another Redis replaces each worker's client (SharedPins::follow_options):
// what the old one could not send must reach the new Redis, and a lookup in flight must end.
TEST_CASE("A client handing over to its successor passes on every queued write, oldest first",
          "[redis_outage]") {
  REQUIRE_REDIS();
  RedisProcess old_redis, new_redis;
  REQUIRE(old_redis.start());
  REQUIRE(new_redis.start());
  Loop l;
  RedisCounters c;
  auto old_options = test::options_for(old_redis.port(), "A");
  RedisClient a(l.loop, old_options, c);
  a.start();
  REQUIRE(test::run_until(l.loop, [&] { return a.connected(); }, 3000));
  a.write_new(test::record(0, "A"), nullptr);  // lands in the old Redis
  REQUIRE(test::run_until(l.loop, [&] { return c.published == 1; }, 2000));

  old_redis.kill();
  REQUIRE(test::run_until(l.loop, [&] { return !a.connected(); }, 2000));
  for (int i = 1; i <= 6; ++i) a.write_new(test::record(i, "A"), nullptr);
  REQUIRE(a.queue_depth() == 6);

  std::vector<QueuedWrite> pending = a.hand_over();
  REQUIRE(pending.size() == 6);
  CHECK(pending.front().record.key == test::record(1, "A").key);
  CHECK(pending.back().record.key == test::record(6, "A").key);
  CHECK(a.queue_depth() == 0);
  CHECK(c.queue_depth == 0);
  CHECK(c.dropped == 0);  // handed over, not lost

  RedisClient b(l.loop, test::options_for(new_redis.port(), "A"), c);
  b.take_over(std::move(pending));
  CHECK(b.queue_depth() == 6);
  b.start();
  REQUIRE(test::run_until(l.loop, [&] { return b.connected() && b.queue_depth() == 0 && c.published == 7; }, 5000));
  for (int i = 1; i <= 6; ++i) {
    INFO("record " << i);
    CHECK(new_redis.cmd({"EXISTS", redis_key_of("t", test::record(i, "A"))}) == "1");
  }
  CHECK(new_redis.cmd({"EXISTS", redis_key_of("t", test::record(0, "A"))}) == "0");
  CHECK(c.dropped == 0);
}
