// Tests of Redis key/channel naming and of RedisOptions validation.
#include <catch2/catch.hpp>

#include <string>

#include "store/permission_errors.h"
#include "store/redis_key.h"
#include "store/redis_options.h"

using namespace sticky::store;

TEST_CASE("Keys hex-encode the key bytes so binary addresses stay printable", "[redis_key]") {
  std::string out;
  make_redis_key(out, "prod", "web", 1, std::string("\x0a\x00\x00\xff", 4));
  CHECK(out == "sticky:prod:web:1:0a0000ff");
  make_redis_key(out, "prod", "be:api", 3, "ab");
  CHECK(out == "sticky:prod:be:api:3:6162");
  make_redis_key(out, "c", "b", 255, "");
  CHECK(out == "sticky:c:b:255:");
}

TEST_CASE("Key, channel and scan pattern share the sticky:<cluster> prefix the shipped ACL allows",
          "[redis_key]") {
  StickyRecord r;
  r.backend = "web";
  r.kind = 2;
  r.key = "x";
  CHECK(redis_key_of("c1", r) == "sticky:c1:web:2:78");
  CHECK(sticky_channel("c1") == "sticky:c1");
  CHECK(scan_pattern("c1") == "sticky:c1:*");
  // Whatever the cluster, keys and channel fall under the one ACL pattern of redis/redis.conf.
  for (std::string_view cluster : {"prod", "eu-1", "sticky"}) {
    CHECK(redis_key_of(cluster, r).starts_with(kAclKeyPattern.substr(1, kAclKeyPattern.size() - 2)));
    CHECK(sticky_channel(cluster).starts_with(kAclChannelPattern.substr(1, kAclChannelPattern.size() - 2)));
  }
  // Scanning cluster "a" must not read cluster "ab".
  CHECK(scan_pattern("a") == "sticky:a:*");
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

TEST_CASE("ACL and authentication refusals are recognised, other errors are not", "[redis_acl]") {
  CHECK(is_permission_error("NOPERM this user has no permissions to access one of the keys used as arguments"));
  CHECK(is_permission_error("connection lost: NOPERM this user has no permissions to access one of the channels"));
  CHECK(is_permission_error("AUTH rejected: WRONGPASS invalid username-password pair or user is disabled."));
  CHECK(is_permission_error("NOAUTH Authentication required."));
  CHECK(is_permission_error("ERR invalid password"));
  CHECK_FALSE(is_permission_error("READONLY You can't write against a read only replica."));
  CHECK_FALSE(is_permission_error("OOM command not allowed when used memory > 'maxmemory'."));
  CHECK_FALSE(is_permission_error("connection lost: Connection reset by peer"));
  CHECK_FALSE(is_permission_error("ERR value is NOPERMANENT"));  // a code only at the start or after ": "
  std::string need = acl_requirement("sticky");
  CHECK(need.find("'sticky'") != std::string::npos);
  CHECK(need.find("~sticky:*") != std::string::npos);
  CHECK(need.find("&sticky:*") != std::string::npos);
}

TEST_CASE("Each refusal is reported once per process, and the memory of them is bounded", "[redis_acl]") {
  CHECK(first_permission_report("unit-test SET NOPERM"));
  CHECK_FALSE(first_permission_report("unit-test SET NOPERM"));
  CHECK(first_permission_report("unit-test GET NOPERM"));
  std::size_t fresh = 0;
  for (int i = 0; i < 100; ++i) fresh += first_permission_report("unit-test filler " + std::to_string(i)) ? 1 : 0;
  CHECK(fresh <= kMaxPermissionReports);
  CHECK_FALSE(first_permission_report("unit-test filler 99"));
}

TEST_CASE("A backend's keys are found by pattern and told apart from a longer backend name", "[redis_key]") {
  CHECK(backend_scan_pattern("c1", "app") == "sticky:c1:app:*");
  CHECK(backend_scan_pattern("c1", "a*b") == "sticky:c1:a\\*b:*");
  std::string k;
  make_redis_key(k, "c1", "app", 2, std::string("\x0a\x00\x00\x01", 4));
  CHECK(key_backend(k, "c1") == "app");
  make_redis_key(k, "c1", "app:v2", 2, "x");
  CHECK(key_backend(k, "c1") == "app:v2");  // matched by app's pattern, but not app's key
  CHECK(key_backend(k, "c2").empty());
  CHECK(key_backend("sticky:c1:app", "c1").empty());
  CHECK(key_backend("sticky:c1::2:ab", "c1").empty());
  CHECK(key_backend("other:c1:app:2:ab", "c1").empty());
}
