// Test of Sentinel support: master discovery and following a failover to the promoted replica.
#include <catch2/catch.hpp>
#include <ev.h>

#include <chrono>
#include <string>
#include <thread>

#include "redis_process.h"
#include "store/redis/redis_client.h"
#include "store/redis/sentinel_watcher.h"
#include "store/redis_key.h"
#include "test_records.h"

using namespace sticky;
using namespace sticky::store;
using sticky::test::Loop;
using sticky::test::RedisProcess;

namespace {
bool wait_for(const std::function<bool()>& pred, int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}
}  // namespace

TEST_CASE("A client discovers the master through Sentinel and follows a failover", "[redis_sentinel]") {
  if (!RedisProcess::available()) {
    WARN("redis-server not installed: skipping Sentinel test");
    return;
  }
  RedisProcess master("repl-diskless-sync-delay 0");  // default 5 s wait for more replicas
  REQUIRE(master.start());
  RedisProcess replica("replicaof 127.0.0.1 " + std::to_string(master.port()));
  REQUIRE(replica.start());
  REQUIRE(wait_for([&] { return replica.cmd({"INFO", "replication"}).find("master_link_status:up") !=
                                std::string::npos; }, 10000));
  RedisProcess sentinel("sentinel monitor mymaster 127.0.0.1 " + std::to_string(master.port()) +
                            " 1\nsentinel down-after-milliseconds mymaster 1000\n"
                            "sentinel failover-timeout mymaster 3000\n",
                        RedisProcess::Mode::Sentinel);
  REQUIRE(sentinel.start());
  REQUIRE(wait_for([&] { return !sentinel.cmd({"SENTINEL", "REPLICAS", "mymaster"}).empty(); }, 5000));

  Loop l;
  RedisCounters c;
  auto o = test::options_for(0, "A");
  o.server = {};
  o.sentinels = {{"127.0.0.1", RedisProcess::free_port()},  // a dead sentinel first: it is skipped
                 {"127.0.0.1", sentinel.port()}};
  o.sentinel_master = "mymaster";
  RedisClient a(l.loop, o, c);
  a.start();
  REQUIRE(test::run_until(l.loop, [&] { return a.connected(); }, 3000));
  CHECK(a.endpoint().port == master.port());
  a.write_new(test::record(1, "A"), nullptr);
  REQUIRE(test::run_until(l.loop, [&] { return c.published == 1; }, 2000));

  // Replication is asynchronous (a failover may lose the last writes): wait until the replica has it.
  const std::string key1 = redis_key_of("t", test::record(1, "A"));
  REQUIRE(wait_for([&] { return replica.cmd({"EXISTS", key1}) == "1"; }, 5000));

  // Forced failover: the replica is promoted and Sentinel disconnects the old master's clients.
  REQUIRE(wait_for([&] { return sentinel.cmd({"SENTINEL", "FAILOVER", "mymaster"}) == "OK"; }, 5000));
  REQUIRE(test::run_until(l.loop, [&] { return a.connected() && a.endpoint().port == replica.port(); }, 15000));
  CHECK(c.sentinel_queries >= 2);
  CHECK(c.switch_master_events >= 1);  // followed the announcement, not a timeout
  CHECK(replica.cmd({"ROLE"}).starts_with("master"));

  a.write_new(test::record(2, "A"), nullptr);
  REQUIRE(test::run_until(l.loop, [&] { return c.published == 2; }, 3000));
  CHECK(replica.cmd({"EXISTS", redis_key_of("t", test::record(2, "A"))}) == "1");
  CHECK(replica.cmd({"EXISTS", key1}) == "1");  // replicated before the failover
}

TEST_CASE("A +switch-master payload for our master yields the new address", "[redis_sentinel]") {
  auto ep = parse_switch_master("mymaster 10.0.0.1 6379 10.0.0.2 6380", "mymaster");
  REQUIRE(ep);
  CHECK(ep->host == "10.0.0.2");
  CHECK(ep->port == 6380);
  CHECK_FALSE(parse_switch_master("other 10.0.0.1 6379 10.0.0.2 6380", "mymaster"));
  CHECK_FALSE(parse_switch_master("mymaster 10.0.0.1 6379 10.0.0.2", "mymaster"));
  CHECK_FALSE(parse_switch_master("mymaster 10.0.0.1 6379 10.0.0.2 99999", "mymaster"));
  CHECK_FALSE(parse_switch_master("mymaster a b c d e", "mymaster"));
  CHECK_FALSE(parse_switch_master("", "mymaster"));
}
