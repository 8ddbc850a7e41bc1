// Tests of RedisClient against a real redis-server: pins, lookups, NX conflicts, moves, TTL refresh, ACL.
#include <catch2/catch.hpp>
#include <ev.h>

#include <array>
#include <fstream>
#include <optional>
#include <string>

#include "redis_process.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_subscriber.h"
#include "store/redis_key.h"
#include "test_records.h"

using namespace sticky;
using namespace sticky::store;
using sticky::test::Loop;
using sticky::test::RedisProcess;

namespace {

std::optional<LookupResult> lookup_sync(struct ev_loop* loop, RedisClient& c, const StickyRecord& r,
                                        int deadline_ms = 0) {
  std::optional<LookupResult> got;
  c.lookup(r.backend, r.kind, r.key, deadline_ms, [&](LookupResult res) { got = std::move(res); });
  test::run_until(loop, [&] { return got.has_value(); }, 2000);
  return got;
}

// One redis-server and the clients of agents A and (unless `count` is 1) B on one loop, connected.
struct Clients {
  RedisProcess redis;
  Loop l;
  RedisCounters ca, cb;
  std::optional<RedisOptions> oa, ob;
  std::optional<RedisClient> a, b;

  bool start(int count = 2) {
    if (!redis.start()) return false;
    oa = test::options_for(redis.port(), "A");
    a.emplace(l.loop, *oa, ca);
    a->start();
    if (count > 1) {
      ob = test::options_for(redis.port(), "B");
      b.emplace(l.loop, *ob, cb);
      b->start();
    }
    return test::run_until(l.loop, [&] { return a->connected() && (!b || b->connected()); }, 3000);
  }
};

}  // namespace

TEST_CASE("A pin written by one client is found by another client's lookup", "[redis_client]") {
  REQUIRE_REDIS();
  Clients two;
  REQUIRE(two.start());

  StickyRecord r = test::record(1, "A", "s7", 30000);
  two.a->write_new(r, [](const StickyRecord&) { FAIL("no conflict expected"); });
  REQUIRE(test::run_until(two.l.loop, [&] { return two.ca.published == 1; }, 2000));

  auto got = lookup_sync(two.l.loop, *two.b, r);
  REQUIRE(got);
  REQUIRE(got->status == LookupStatus::Found);
  CHECK(got->record.server == "s7");
  CHECK(got->record.origin == "A");
  CHECK(got->record.key == r.key);
  CHECK(got->record.expires_ms >= r.expires_ms - 2000);  // recomputed from PTTL
  CHECK(got->record.expires_ms <= r.expires_ms + 2000);
  CHECK(two.cb.lookup_hits == 1);
  // The stored key is printable and carries a TTL.
  std::string key = redis_key_of("t", r);
  CHECK(key == "t:web:5:0a000001");
  CHECK(std::stoll(two.redis.cmd({"PTTL", key})) > 25000);
}

TEST_CASE("The conflict winner carries Redis's remaining TTL, not the stale expiry in its value",
          "[redis_client]") {
  // A's pin was written long ago and kept alive by TTL refreshes (PEXPIRE), which never rewrite
  // the value: its encoded expires_ms lies in the past. B losing the SET NX race must still get a
  // live winner, or adopting it would be refused as expired and B would keep its own pin.
  REQUIRE_REDIS();
  Clients two;
  REQUIRE(two.start());

  StickyRecord old = test::record(6, "A", "s1");
  old.created_ms -= 40 * 60 * 1000;  // pinned 40 minutes ago with a 30-minute TTL...
  old.last_seen_ms = old.created_ms;
  old.expires_ms = old.created_ms + 30 * 60 * 1000;
  std::string key;
  make_redis_key(key, "t", old.backend, old.kind, old.key);
  std::array<std::uint8_t, kMaxEncodedSize> buf{};
  const EncodeResult enc = encode(old, buf);
  REQUIRE(enc.status == CodecStatus::Ok);
  const std::string value(reinterpret_cast<const char*>(buf.data()), enc.size);
  REQUIRE(two.redis.cmd({"SET", key, value, "PX", "1200000"}) == "OK");

  const std::int64_t before = test::wall_ms();
  std::optional<StickyRecord> winner;
  two.b->write_new(test::record(6, "B", "s2"), [&](const StickyRecord& w) { winner = w; });
  REQUIRE(test::run_until(two.l.loop, [&] { return winner.has_value(); }, 2000));
  CHECK(winner->server == "s1");
  CHECK(winner->expires_ms > before + 19 * 60 * 1000);  // ...and refreshed: 20 minutes left in Redis
  CHECK(winner->expires_ms <= test::wall_ms() + 20 * 60 * 1000);
}

TEST_CASE("Lookup of a key nobody wrote reports not found", "[redis_client]") {
  REQUIRE_REDIS();
  Clients one;
  REQUIRE(one.start(1));
  auto got = lookup_sync(one.l.loop, *one.a, test::record(99, "A"));
  REQUIRE(got);
  CHECK(got->status == LookupStatus::NotFound);
  CHECK(one.ca.lookup_misses == 1);
}

TEST_CASE("A second new pin for the same key hands the first writer's record to on_conflict", "[redis_client]") {
  REQUIRE_REDIS();
  Clients two;
  REQUIRE(two.start());

  two.a->write_new(test::record(5, "A", "s1"), nullptr);
  REQUIRE(test::run_until(two.l.loop, [&] { return two.ca.published == 1; }, 2000));
  std::optional<StickyRecord> winner;
  two.b->write_new(test::record(5, "B", "s2"), [&](const StickyRecord& w) { winner = w; });
  REQUIRE(test::run_until(two.l.loop, [&] { return winner.has_value(); }, 2000));
  CHECK(winner->server == "s1");
  CHECK(winner->origin == "A");
  CHECK(two.cb.conflicts == 1);
  CHECK(two.cb.published == 0);  // the loser publishes nothing
}

TEST_CASE("A move overwrites the pin with the caller's bumped version", "[redis_client]") {
  REQUIRE_REDIS();
  Clients one;
  REQUIRE(one.start(1));
  StickyRecord r = test::record(6, "A", "s1");
  one.a->write_new(r, nullptr);
  r.server = "s3";
  r.version = 2;
  one.a->write_move(r);
  REQUIRE(test::run_until(one.l.loop, [&] { return one.ca.published == 2; }, 2000));
  auto got = lookup_sync(one.l.loop, *one.a, r);
  REQUIRE(got);
  REQUIRE(got->status == LookupStatus::Found);
  CHECK(got->record.server == "s3");
  CHECK(got->record.version == 2);
}

TEST_CASE("Refresh extends the TTL, and writes the record back when Redis lost it", "[redis_client]") {
  REQUIRE_REDIS();
  Clients one;
  REQUIRE(one.start(1));
  StickyRecord r = test::record(7, "A", "s1", 5000);
  const std::string key = redis_key_of("t", r);
  one.a->write_new(r, nullptr);
  REQUIRE(test::run_until(one.l.loop, [&] { return one.ca.published == 1; }, 2000));
  CHECK(std::stoll(one.redis.cmd({"PTTL", key})) <= 5000);

  r.expires_ms = test::wall_ms() + 120000;
  std::uint64_t replies = one.ca.replies;
  one.a->refresh_ttl(r);
  REQUIRE(test::run_until(one.l.loop, [&] { return one.ca.replies > replies; }, 2000));
  CHECK(std::stoll(one.redis.cmd({"PTTL", key})) > 100000);
  CHECK(one.ca.recreated == 0);

  one.redis.cmd({"DEL", key});
  one.a->refresh_ttl(r);
  REQUIRE(test::run_until(one.l.loop, [&] { return one.ca.published == 2; }, 2000));
  CHECK(one.ca.recreated == 1);
  CHECK(one.redis.cmd({"EXISTS", key}) == "1");
}

TEST_CASE("A value that is not a sticky record is reported as malformed", "[redis_client]") {
  REQUIRE_REDIS();
  Clients one;
  REQUIRE(one.start(1));
  StickyRecord r = test::record(8, "A");
  one.redis.cmd({"SET", redis_key_of("t", r), "not msgpack"});
  auto got = lookup_sync(one.l.loop, *one.a, r);
  REQUIRE(got);
  CHECK(got->status == LookupStatus::Malformed);
  CHECK(one.ca.malformed == 1);
}

TEST_CASE("Lookups before any connection complete at once with unavailable", "[redis_client]") {
  Loop l;
  RedisCounters c;
  auto o = test::options_for(RedisProcess::free_port(), "A");  // nobody listens there
  RedisClient a(l.loop, o, c);
  a.start();
  bool called = false;
  LookupStatus status = LookupStatus::Found;
  a.lookup("web", 1, "k", 1000, [&](LookupResult res) {
    called = true;
    status = res.status;
  });
  CHECK(called);  // synchronously: no waiting for the deadline when Redis is known down
  CHECK(status == LookupStatus::Unavailable);
  test::run_for(l.loop, 100);
  CHECK_FALSE(a.connected());
  CHECK(c.connect_failures >= 1);
  CHECK(c.reconnects >= 1);
}

TEST_CASE("The ACL user shipped in redis/redis.conf can do everything the agent needs", "[redis_client][acl]") {
  REQUIRE_REDIS();
  std::ifstream conf(std::string(STICKY_SOURCE_DIR) + "/redis/redis.conf");
  std::string line, acl;
  while (std::getline(conf, line))
    if (line.starts_with("user sticky ")) acl = line;
  REQUIRE_FALSE(acl.empty());
  // The shipped file serves cluster "sticky" with a placeholder password; keep both.
  RedisProcess redis(acl + "\nuser default off\n");
  REQUIRE(redis.start());
  Loop l;
  RedisCounters ca;
  auto oa = test::options_for(redis.port(), "A");
  oa.cluster = "sticky";
  oa.username = "sticky";
  oa.password = "CHANGE-ME-sticky-password";
  RedisClient a(l.loop, oa, ca);
  a.start();
  REQUIRE(test::run_until(l.loop, [&] { return a.connected(); }, 3000));
  StickyRecord r = test::record(9, "A");
  a.write_new(r, nullptr);
  REQUIRE(test::run_until(l.loop, [&] { return ca.published == 1; }, 2000));
  auto got = lookup_sync(l.loop, a, r);
  REQUIRE(got);
  CHECK(got->status == LookupStatus::Found);
  // The subscriber side: SUBSCRIBE on the channel, SCAN/MGET/PTTL over the cluster's keys.
  RedisCounters sc;
  auto os = oa;
  os.node_id = "B";
  int seen = 0;
  RedisSubscriber sub(l.loop, os, sc, [&](const StickyRecord&) { ++seen; });
  sub.start();
  REQUIRE(test::run_until(l.loop, [&] { return sc.warmup_scans == 1 && sub.subscribed(); }, 3000));
  CHECK(seen == 1);
  r.version = 2;
  a.write_move(r);
  a.refresh_ttl(r);
  REQUIRE(test::run_until(l.loop, [&] { return ca.published == 2 && seen == 2; }, 2000));
  test::run_for(l.loop, 50);
  CHECK(ca.write_failures == 0);
  CHECK(ca.errors == 0);
  CHECK(sc.errors == 0);

  SECTION("a wrong password is refused and retried with backoff, never connected") {
    RedisCounters cb;
    auto ob = oa;
    ob.password = "wrong";
    RedisClient b(l.loop, ob, cb);
    b.start();
    test::run_for(l.loop, 300);
    CHECK_FALSE(b.connected());
    CHECK(cb.connect_failures >= 2);
    CHECK(b.last_error().find("AUTH") != std::string::npos);
  }
}
