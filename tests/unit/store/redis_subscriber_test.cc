// Tests of RedisSubscriber against a real redis-server: pub/sub delivery, own-origin skipping, warm-up SCAN.
#include <catch2/catch.hpp>
#include <ev.h>

#include <map>
#include <string>

#include "redis_process.h"
#include "store/entry_codec.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_subscriber.h"
#include "store/redis_key.h"
#include "test_records.h"

using namespace sticky;
using namespace sticky::store;
using sticky::test::Loop;
using sticky::test::RedisProcess;

TEST_CASE("A write on node A reaches node B's subscriber and A's own subscriber skips it", "[redis_subscriber]") {
  REQUIRE_REDIS();
  RedisProcess redis;
  REQUIRE(redis.start());
  Loop l;
  RedisCounters client_a, sub_a_counters, sub_b_counters;
  auto oa = test::options_for(redis.port(), "A");
  auto ob = test::options_for(redis.port(), "B");
  std::vector<StickyRecord> at_a, at_b;
  RedisClient a(l.loop, oa, client_a);
  RedisSubscriber sub_a(l.loop, oa, sub_a_counters, [&](const StickyRecord& r) { at_a.push_back(r); });
  RedisSubscriber sub_b(l.loop, ob, sub_b_counters, [&](const StickyRecord& r) { at_b.push_back(r); });
  a.start();
  sub_a.start();
  sub_b.start();
  REQUIRE(test::run_until(l.loop, [&] {
    return a.connected() && sub_a.subscribed() && sub_b.subscribed() && sub_a_counters.warmup_scans == 1 &&
           sub_b_counters.warmup_scans == 1;
  }, 3000));

  StickyRecord r = test::record(1, "A", "s4");
  a.write_new(r, nullptr);
  r.server = "s5";
  r.version = 2;
  a.write_move(r);
  REQUIRE(test::run_until(l.loop, [&] { return at_b.size() == 2 && sub_a_counters.own_skipped == 2; }, 2000));
  CHECK(at_b[0].server == "s4");
  CHECK(at_b[1].server == "s5");
  CHECK(at_b[1].version == 2);
  CHECK(at_b[1].key == r.key);
  CHECK(at_a.empty());
  CHECK(sub_b_counters.received == 2);
  CHECK(sub_b_counters.applied == 2);

  SECTION("garbage published on the channel is counted, not delivered") {
    redis.cmd({"PUBLISH", sticky_channel("t"), "\xc1\xc1"});
    REQUIRE(test::run_until(l.loop, [&] { return sub_b_counters.malformed == 1; }, 2000));
    CHECK(at_b.size() == 2);
  }
}

TEST_CASE("Warm-up SCAN delivers every record already in Redis, in bounded batches", "[redis_subscriber]") {
  REQUIRE_REDIS();
  RedisProcess redis;
  REQUIRE(redis.start());
  Loop l;
  RedisCounters cc;
  auto oa = test::options_for(redis.port(), "A");
  RedisClient a(l.loop, oa, cc);
  a.start();
  REQUIRE(test::run_until(l.loop, [&] { return a.connected(); }, 3000));
  constexpr int kRecords = 1234;
  for (int i = 0; i < kRecords; ++i) a.write_new(test::record(i, i % 2 ? "A" : "C", "s" + std::to_string(i % 7)), nullptr);
  REQUIRE(test::run_until(l.loop, [&] { return cc.published == kRecords; }, 5000));
  // Noise the warm-up must count or ignore: a non-record under the prefix, a key of another cluster.
  redis.cmd({"SET", "sticky:t:web:1:ffff", "junk", "PX", "60000"});
  redis.cmd({"SET", "other:web:1:00", "junk"});
  redis.cmd({"SET", "sticky:t2:web:1:00", "junk"});  // cluster "t2" shares the "sticky:t" prefix, not "sticky:t:"

  RedisCounters sc;
  auto ob = test::options_for(redis.port(), "A");  // same node id: warm-up includes own-origin records
  ob.warmup_batch = 100;
  std::map<std::string, StickyRecord> got;
  RedisSubscriber sub(l.loop, ob, sc, [&](const StickyRecord& r) { got[r.key] = r; });
  sub.start();
  REQUIRE(test::run_until(l.loop, [&] { return sc.warmup_scans == 1; }, 10000));
  CHECK(got.size() == kRecords);
  CHECK(sc.malformed == 1);
  CHECK(sc.warmup_keys >= kRecords + 1);  // SCAN may repeat a key during a rehash
  StickyRecord want = test::record(77, "A", "s0");
  REQUIRE(got.count(want.key) == 1);
  CHECK(got[want.key].server == "s0");
  CHECK(got[want.key].origin == "A");
  CHECK(got[want.key].expires_ms > test::wall_ms() + 50000);

  SECTION("a node that restarts finds the records again") {
    got.clear();
    sub.stop();
    sub.start();
    REQUIRE(test::run_until(l.loop, [&] { return sc.warmup_scans == 2; }, 10000));
    CHECK(got.size() == kRecords);
  }
}
