// Tests of RedisClient against a real redis-server: pins, lookups, NX conflicts, moves, TTL refresh, ACL.
#include <catch2/catch.hpp>
#include <ev.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
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
  CHECK(key == "sticky:t:web:5:0a000001");
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
  // The shipped user with its placeholder password serves any cluster name (here the README's "prod").
  RedisProcess redis(acl + "\nuser default off\n");
  REQUIRE(redis.start());
  Loop l;
  RedisCounters ca;
  auto oa = test::options_for(redis.port(), "A");
  oa.cluster = "prod";
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
  // One error reply: the move's EVALSHA met a Redis that had not seen the script (NOSCRIPT) and
  // was sent again as EVAL. No refusal: the ACL allows both.
  CHECK(ca.errors == 1);
  CHECK(ca.permission_errors == 0);
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

namespace {
// Captures what this process writes to stderr (the agent's log) between construction and text().
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    path_ = "/tmp/sticky-redis-acl-log-" + std::to_string(::getpid());
    fd_ = ::open(path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    saved_ = ::dup(2);
    ::dup2(fd_, 2);
  }
  ~StderrCapture() {
    restore();
    ::unlink(path_.c_str());
  }
  std::string text() {
    restore();
    std::string out, line;
    std::ifstream f(path_);
    while (std::getline(f, line)) out += line + "\n";
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    ::close(fd_);
    saved_ = -1;
  }
  std::string path_;
  int fd_ = -1, saved_ = -1;
};
}  // namespace

TEST_CASE("An ACL that denies the agent's keys and channel is logged once and backed off, never a reconnect storm",
          "[redis_client][acl]") {
  REQUIRE_REDIS();
  // The ACL of a Redis set up for another key prefix: every key and channel of the agent is refused.
  RedisProcess redis(
      "user sticky on >pw resetkeys ~other:* resetchannels &other:* -@all +get +set +mget +pexpire +pttl "
      "+publish +subscribe +scan +role +ping\n");
  REQUIRE(redis.start());
  Loop l;
  auto o = test::options_for(redis.port(), "A");
  o.cluster = "prod";
  o.username = "sticky";
  o.password = "pw";
  o.backoff = {50, 5000};  // the agent's defaults
  RedisCounters cc, sc;
  int seen = 0;
  StderrCapture log;
  RedisClient client(l.loop, o, cc);
  RedisSubscriber sub(l.loop, o, sc, [&](const StickyRecord&) { ++seen; });
  client.start();
  sub.start();
  REQUIRE(test::run_until(l.loop, [&] { return client.connected(); }, 3000));
  for (int i = 0; i < 20; ++i) client.write_new(test::record(i, "A"), nullptr);
  std::optional<LookupResult> got = lookup_sync(l.loop, client, test::record(1, "A"));
  test::run_for(l.loop, 2500);
  client.stop();
  sub.stop();
  std::string text = log.text();
  INFO("log:\n" << text);

  REQUIRE(got);
  CHECK(got->status == LookupStatus::Error);  // answered at once, not a timeout: traffic goes on locally
  CHECK(cc.write_failures == 20);
  CHECK(cc.permission_errors >= 21);  // 20 SET + 1 GET
  CHECK(sc.permission_errors >= 1);   // SUBSCRIBE, which closes the connection
  // Backoff grows across the refusals: 2.5 s allow at most ~6 attempts from 50 ms doubling, where a
  // storm (each ready connection resetting the backoff) made ~30/s.
  CHECK(sc.connects >= 2);
  CHECK(sc.connects <= 9);  // the subscriber's data connection included
  CHECK(cc.connects == 1);  // the writers' connection is never dropped for a refusal
  CHECK(seen == 0);
  // One line per kind of refusal (keys, channels), naming the first command refused, its key or channel
  // and the grant the ACL needs; nothing per retry.
  std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  CHECK(lines == 2);
  CHECK(text.find("refused SET sticky:prod:web:5:") != std::string::npos);
  CHECK(text.find("refused SUBSCRIBE sticky:prod") != std::string::npos);
  CHECK(text.find("~sticky:*") != std::string::npos);
  CHECK(text.find("NOPERM") != std::string::npos);
}
