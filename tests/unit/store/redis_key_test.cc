// Tests of Redis key/channel naming and of RedisOptions validation.
#include <catch2/catch.hpp>

#include <string>

#include "store/redis_key.h"
#include "store/redis_options.h"

using namespace sticky::store;

TEST_CASE("Keys hex-encode the key bytes so binary addresses stay printable", "[redis_key]") {
  std::string out;
  make_redis_key(out, "prod", "web", 1, std::string("\x0a\x00\x00\xff", 4));
  CHECK(out == "prod:web:1:0a0000ff");
  make_redis_key(out, "prod", "be:api", 3, "ab");
  CHECK(out == "prod:be:api:3:6162");
  make_redis_key(out, "c", "b", 255, "");
  CHECK(out == "c:b:255:");
}

TEST_CASE("Key, channel and scan pattern share the cluster prefix", "[redis_key]") {
  StickyRecord r;
  r.backend = "web";
  r.kind = 2;
  r.key = "x";
  CHECK(redis_key_of("c1", r) == "c1:web:2:78");
  CHECK(sticky_channel("c1") == "c1:sticky");
  CHECK(scan_pattern("c1") == "c1:*");
}

TEST_CASE("Cluster names with separators or glob characters are refused", "[redis_key]") {
  CHECK(valid_cluster_name("prod-eu.1_a"));
  CHECK_FALSE(valid_cluster_name(""));
  CHECK_FALSE(valid_cluster_name("a:b"));
  CHECK_FALSE(valid_cluster_name("a*"));
  CHECK_FALSE(valid_cluster_name("a[b]"));
  CHECK_FALSE(valid_cluster_name(std::string(65, 'a')));
}

TEST_CASE("Options validation names the offending setting", "[redis_options]") {
  RedisOptions o;
  o.node_id = "n1";
  CHECK(validate(o).empty());
  o.cluster = "bad:name";
  CHECK(validate(o).starts_with("redis.cluster"));
  o.cluster = "ok";
  o.node_id.clear();
  CHECK(validate(o).starts_with("redis.node_id"));
  o.node_id = "n1";
  o.sentinels.push_back({"127.0.0.1", 0});
  CHECK(validate(o).starts_with("redis.sentinels"));
  o.sentinels.clear();
  o.backoff = {100, 10};
  CHECK(validate(o).starts_with("redis.backoff"));
}
