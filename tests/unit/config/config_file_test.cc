// Tests of the config loader: values and defaults, each class of error with its file:line message,
// all errors reported together, suggestions for unknown keys, and the shipped example file.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "config/config_file.h"

using namespace sticky::config;
using namespace std::chrono_literals;

namespace {

// A scratch directory for secret and CIDR files, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sticky-config-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string write(const std::string& name, const std::string& content) {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << content;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const std::string kSecret(40, 'k');

// True when `errors` holds exactly `message` (printing all of them otherwise, to ease debugging).
bool has(const std::vector<std::string>& errors, const std::string& message) {
  bool found = std::find(errors.begin(), errors.end(), message) != errors.end();
  if (!found) {
    UNSCOPED_INFO("looking for: " << message);
    for (const std::string& e : errors) UNSCOPED_INFO("  got: " << e);
  }
  return found;
}

LoadResult load(const std::string& text, const TempDir& dir) { return load_string(text, "t.yaml", dir.path()); }

}  // namespace

TEST_CASE("a full config parses with every value in place", "[config]") {
  TempDir dir;
  dir.write("k1", kSecret);
  dir.write("k0", kSecret + "\n");
  dir.write("edges.txt", "# edges\n192.0.2.0/24\n\n2001:db8::/32  # v6\n");
  dir.write("redis.pass", "hunter2hunter2\n");
  LoadResult r = load(R"(agent:
  listen: ["127.0.0.1:2000", "[::1]:2000", "unix:/run/s.sock"]
  threads: 4
  log_level: debug
  metrics: 127.0.0.1:9124
  max_frame_size: 65536
  max_connections: 500
haproxy:
  runtime_api: unix:/run/haproxy/admin.sock
  poll_interval: 500ms
redis:
  sentinels: ["10.0.0.1:26379", "10.0.0.2:26379"]
  master_name: mymaster
  user: sticky
  password_file: redis.pass
  cluster: prod
  node_id: lb1
  lookup_deadline: 5ms
  queue_max_bytes: 32m
backends:
  - name: app
    identity: [true_client_ip, agent_cookie, source]
    ttl: 2h
    capacity: 64k
    servers: [{name: s1, weight: 100}, {name: s2, weight: 0}]
    agent_cookie: {name: SID, secrets: [k1, k0], max_idle: 30m, max_life: 12h, domain: example.com,
                   same_site: None}
    true_client_ip: {header: X-Real-Client, trusted: ["203.0.113.0/24"], trusted_file: edges.txt, mask_v4: 24}
    source: {mask_v4: 16}
hsaf:
  - name: cache
    input: {mode: custom, query: keep, lowercase_path: true}
    tiers: [{min: 100, max: 199}, {min: 200, max: 299}]
    regions: [{name: east, backend: cache_east}]
    overflow: {name: spill, backend: cache_spill}
    servers: {cache_east: [{name: c1}], cache_spill: [{name: o1, weight: 3}]}
)",
                      dir);
  INFO((r.errors.empty() ? std::string() : r.errors.front()));
  REQUIRE(r.ok());
  CHECK(r.warnings.empty());
  const Config& c = r.config;
  CHECK(c.agent.listen == std::vector<std::string>{"127.0.0.1:2000", "[::1]:2000", "unix:/run/s.sock"});
  CHECK(c.agent.threads == 4);
  CHECK(c.agent.log_level == LogLevel::Debug);
  CHECK(c.agent.metrics == "127.0.0.1:9124");
  CHECK(c.agent.max_frame_size == 65536);
  CHECK(c.agent.max_connections == 500);
  CHECK(c.haproxy.runtime_api == "unix:/run/haproxy/admin.sock");
  CHECK(c.haproxy.poll_interval == 500ms);
  REQUIRE(c.redis.has_value());
  CHECK(c.redis->sentinels.size() == 2);
  CHECK(c.redis->master_name == "mymaster");
  CHECK(c.redis->password_file == dir.path() + "/redis.pass");
  CHECK(c.redis->cluster == "prod");
  CHECK(c.redis->node_id == "lb1");
  CHECK(c.redis->lookup_deadline == 5ms);
  CHECK(c.redis->command_timeout == 200ms);  // default kept
  CHECK(c.redis->queue_max_bytes == 32ULL << 20);
  REQUIRE(c.backends.size() == 1);
  const Backend& b = c.backends[0];
  CHECK(b.name == "app");
  CHECK(b.identity == std::vector<IdentitySource>{IdentitySource::TrueClientIp, IdentitySource::AgentCookie,
                                                  IdentitySource::Source});
  CHECK(b.ttl == 2h);
  CHECK(b.capacity == 64 * 1024);
  REQUIRE(b.servers.size() == 2);
  CHECK(b.servers[1].name == "s2");
  CHECK(b.servers[1].weight == 0);
  REQUIRE(b.agent_cookie.has_value());
  CHECK(b.agent_cookie->name == "SID");
  CHECK(b.agent_cookie->secret_files == std::vector<std::string>{dir.path() + "/k1", dir.path() + "/k0"});
  CHECK(b.agent_cookie->max_idle == 30min);
  CHECK(b.agent_cookie->same_site == SameSite::None);
  CHECK(b.agent_cookie->path == "/");
  CHECK(b.true_client_ip->header == "X-Real-Client");
  CHECK(b.true_client_ip->trusted_file == dir.path() + "/edges.txt");
  CHECK(b.true_client_ip->mask_v4 == 24);
  CHECK(b.true_client_ip->mask_v6 == 128);
  CHECK(b.source->mask_v4 == 16);
  CHECK(b.source->mask_v6 == 64);
  CHECK_FALSE(b.app_cookie.has_value());
  CHECK(c.find_backend("app") == &b);
  REQUIRE(c.hsaf.size() == 1);
  const HsafProfile& h = c.hsaf[0];
  CHECK(h.input.mode == HsafInputMode::Custom);
  CHECK(h.input.query == HsafQueryMode::Keep);
  CHECK(h.input.lowercase_path);
  CHECK(h.tiers.size() == 2);
  CHECK(h.tiers[1].min == 200);
  CHECK(h.overflow->backend == "cache_spill");
  CHECK(h.servers.at("cache_spill")[0].weight == 3);
  CHECK(h.servers.at("cache_east")[0].weight == 1);
}

TEST_CASE("a minimal config gets the documented defaults", "[config]") {
  TempDir dir;
  LoadResult r = load("backends:\n  - name: app\n    servers: [{name: s1}]\n", dir);
  REQUIRE(r.ok());
  const Config& c = r.config;
  CHECK(c.agent.listen == std::vector<std::string>{"127.0.0.1:12345"});
  CHECK(c.agent.threads == 0);
  CHECK(c.agent.log_level == LogLevel::Info);
  CHECK(c.agent.max_frame_size == 16380);
  CHECK(c.haproxy.runtime_api.empty());
  CHECK(c.haproxy.poll_interval == 1s);
  CHECK_FALSE(c.redis.has_value());
  const Backend& b = c.backends.at(0);
  CHECK(b.ttl == 30min);
  CHECK(b.capacity == 1000000);
  CHECK(b.servers.at(0).weight == 1);
  CHECK(b.identity == std::vector<IdentitySource>{IdentitySource::Source});
  CHECK(b.source->mask_v4 == 24);
}

TEST_CASE("without an identity list every configured source is used in canonical order", "[config]") {
  TempDir dir;
  LoadResult r = load("backends:\n  - name: app\n    servers: [{name: s1}]\n"
                      "    forwarded_for: {trusted_proxies: [10.0.0.0/8]}\n    app_cookie: {name: JSESSIONID}\n",
                      dir);
  REQUIRE(r.ok());
  CHECK(r.config.backends[0].identity == std::vector<IdentitySource>{IdentitySource::AppCookie,
                                                                     IdentitySource::ForwardedFor,
                                                                     IdentitySource::Source});
}

TEST_CASE("a redis section fills node_id from the host name when absent", "[config]") {
  TempDir dir;
  LoadResult r = load("redis: {address: 127.0.0.1:6379}\n", dir);
  REQUIRE(r.ok());
  CHECK_FALSE(r.config.redis->node_id.empty());
  CHECK(r.config.redis->cluster == "sticky");
  CHECK(r.config.redis->queue_max_bytes == 64ULL << 20);
}

TEST_CASE("unknown keys are errors with a suggestion for near misses", "[config]") {
  TempDir dir;
  LoadResult r = load("agent:\n  thread: 4\n  colour: blue\nhaproxy:\n  pol_interval: 1s\nbackend: []\n", dir);
  CHECK(r.errors.size() == 4);
  CHECK(has(r.errors, "t.yaml:2: agent: unknown key 'thread' (did you mean 'threads'?)"));
  CHECK(has(r.errors, "t.yaml:3: agent: unknown key 'colour'"));
  CHECK(has(r.errors, "t.yaml:5: haproxy: unknown key 'pol_interval' (did you mean 'poll_interval'?)"));
  CHECK(has(r.errors, "t.yaml:6: unknown key 'backend' (did you mean 'backends'?)"));
}

TEST_CASE("an empty agent.listen loads as an empty list: the listeners then come from --listen",
          "[config]") {
  TempDir dir;
  for (const char* text : {"agent:\n  listen: # a comment, no value\n", "agent:\n  listen: []\n"}) {
    LoadResult r = load(text, dir);
    INFO(text);
    CHECK(r.errors.empty());
    CHECK(r.config.agent.listen.empty());
  }
}

TEST_CASE("values out of range or malformed name the bounds or the expected form", "[config]") {
  TempDir dir;
  LoadResult r = load(R"(agent:
  threads: 5000
  max_frame_size: big
  log_level: verbose
  listen: ["127.0.0.1"]
haproxy:
  poll_interval: 30
  api_timeout: 2x
backends:
  - name: app
    ttl: 0s
    capacity: 0
    servers: [{name: s1, weight: 300}]
    source: {mask_v4: 33}
)",
                      dir);
  CHECK(has(r.errors, "t.yaml:2: agent.threads: '5000' is out of range (0..1024)"));
  CHECK(has(r.errors, "t.yaml:3: agent.max_frame_size: 'big': not a plain non-negative integer"));
  CHECK(has(r.errors,
            "t.yaml:4: agent.log_level: unknown value 'verbose' (expected one of: error warn info debug)"));
  CHECK(has(r.errors,
            "t.yaml:5: agent.listen[0]: '127.0.0.1': missing :port (use host:port, [v6]:port or unix:/path)"));
  CHECK(has(r.errors, "t.yaml:7: haproxy.poll_interval: '30': duration needs a unit (ms, s, m, h or d)"));
  CHECK(has(r.errors, "t.yaml:8: haproxy.api_timeout: '2x': unknown duration unit (use ms, s, m, h or d)"));
  CHECK(has(r.errors, "t.yaml:11: backends[0].ttl: '0s' is out of range (1s..30d)"));
  CHECK(has(r.errors, "t.yaml:12: backends[0].capacity: '0' is out of range (1..1073741824)"));
  CHECK(has(r.errors, "t.yaml:13: backends[0].servers[0].weight: '300' is out of range (0..256)"));
  CHECK(has(r.errors, "t.yaml:14: backends[0].source.mask_v4: '33' is out of range (1..32)"));
  CHECK(r.errors.size() == 10);
}

TEST_CASE("cookie names, CIDRs and secret files are validated", "[config]") {
  TempDir dir;
  dir.write("short.key", "too-short\n");
  dir.write("edges.txt", "192.0.2.0/24\n\n10.1.2.3/40\n");
  LoadResult r = load(R"(backends:
  - name: app
    servers: [{name: s1}]
    agent_cookie:
      name: "ST;KY"
      secrets: [missing.key, short.key]
    app_cookie: {name: "JSESSION ID"}
    true_client_ip:
      trusted: ["10.0.0.0/33", "300.1.1.1"]
      trusted_file: edges.txt
)",
                      dir);
  CHECK(has(r.errors, "t.yaml:5: backends[0].agent_cookie.name: 'ST;KY': illegal character in cookie name (';')"));
  CHECK(has(r.errors, "t.yaml:6: backends[0].agent_cookie.secrets[0]: cannot read secret file '" + dir.path() +
                          "/missing.key'"));
  CHECK(has(r.errors, "t.yaml:6: backends[0].agent_cookie.secrets[1]: secret file '" + dir.path() +
                          "/short.key' holds 9 bytes, needs at least 32"));
  CHECK(has(r.errors,
            "t.yaml:7: backends[0].app_cookie.name: 'JSESSION ID': illegal character in cookie name (a space)"));
  CHECK(has(r.errors, "t.yaml:9: backends[0].true_client_ip.trusted[0]: '10.0.0.0/33': IPv4 prefix length must be 0..32"));
  CHECK(has(r.errors, "t.yaml:9: backends[0].true_client_ip.trusted[1]: '300.1.1.1': invalid IPv4 address in CIDR"));
  CHECK(has(r.errors, dir.path() + "/edges.txt:3: backends[0].true_client_ip.trusted_file: '10.1.2.3/40': "
                                   "IPv4 prefix length must be 0..32"));
  CHECK(r.errors.size() == 7);
}

TEST_CASE("identity entries must be known, listed once and configured", "[config]") {
  TempDir dir;
  LoadResult r = load(R"(backends:
  - name: app
    servers: [{name: s1}]
    identity: [agent_cookie, sorce, source, source]
)",
                      dir);
  CHECK(has(r.errors, "t.yaml:4: backends[0].identity[1]: unknown value 'sorce' (expected one of: agent_cookie "
                      "app_cookie true_client_ip forwarded_for source); did you mean 'source'?"));
  CHECK(has(r.errors, "t.yaml:4: backends[0].identity[3]: 'source' is listed twice"));
  CHECK(has(r.errors, "t.yaml:4: backends[0].identity: 'agent_cookie' is listed but the backend has no "
                      "'agent_cookie' section"));
  CHECK(r.errors.size() == 3);
}

TEST_CASE("hsaf tiers must be ordered and disjoint, regions 1 or 2", "[config]") {
  TempDir dir;
  LoadResult r = load(R"(haproxy: {runtime_api: "127.0.0.1:9999"}
hsaf:
  - name: cache
    tiers:
      - {min: 100, max: 200}
      - {min: 150, max: 400}
    regions: [{name: a, backend: b1}, {name: b, backend: b2}, {name: c, backend: b3}]
    servers: {nowhere: [{name: x}]}
  - name: cache
    tiers: [{min: 1}, {min: 9, max: 5}]
    regions: [{name: a, backend: b1}]
    input: {query: params}
)",
                      dir);
  CHECK(has(r.errors, "t.yaml:6: hsaf[0].tiers[1]: tier overlaps tier 0: serial ranges must be disjoint"));
  CHECK(has(r.errors, "t.yaml:7: hsaf[0].regions: give 1 or 2 regions, not 3"));
  CHECK(has(r.errors, "t.yaml:8: hsaf[0].servers.nowhere: backend 'nowhere' is not a region or overflow backend "
                      "of this profile"));
  CHECK(has(r.errors, "t.yaml:10: hsaf[1].tiers[0]: missing required key 'max'"));
  CHECK(has(r.errors, "t.yaml:10: hsaf[1].tiers[1]: min 9 is above max 5"));
  CHECK(has(r.errors, "t.yaml:12: hsaf[1].input.params: query: params needs at least one parameter name"));
  CHECK(has(r.errors, "t.yaml:9: hsaf[1]: hsaf profile 'cache' is configured twice"));
  CHECK(r.errors.size() == 7);
}

TEST_CASE("redis needs exactly one of address or sentinels and warns on inline passwords", "[config]") {
  TempDir dir;
  LoadResult both = load("redis:\n  address: 127.0.0.1:6379\n  sentinels: [\"127.0.0.1:26379\"]\n", dir);
  CHECK(has(both.errors, "t.yaml:2: redis: give exactly one of 'address' or 'sentinels'"));
  CHECK(has(both.errors, "t.yaml:2: redis: 'sentinels' needs 'master_name'"));
  LoadResult inline_pw = load("redis:\n  address: 127.0.0.1:6379\n  password: secret\n  cluster: a:b\n", dir);
  CHECK(has(inline_pw.errors, "t.yaml:4: redis.cluster: must be non-empty and without ':' (it prefixes every key)"));
  CHECK(has(inline_pw.warnings, "t.yaml:3: redis.password: inline password: anyone who can read this file can "
                                "use it; prefer password_file"));
}

TEST_CASE("static-only setups need servers for every backend", "[config]") {
  TempDir dir;
  LoadResult r = load("backends:\n  - name: app\n  - name: app\n    servers: [{name: s1}, {name: s1}]\n", dir);
  CHECK(has(r.errors, "t.yaml:2: backends[0]: no 'servers' and no haproxy.runtime_api: backend 'app' would have "
                      "no servers"));
  CHECK(has(r.errors, "t.yaml:3: backends[1]: backend 'app' is configured twice"));
  CHECK(has(r.errors, "t.yaml:4: backends[1].servers[1]: server 's1' is listed twice"));
  CHECK(r.errors.size() == 3);
}

TEST_CASE("duplicate keys, wrong shapes and cookie attribute conflicts are reported", "[config]") {
  TempDir dir;
  dir.write("k", kSecret);
  LoadResult r = load(R"(agent:
  threads: 1
  threads: 2
haproxy: [1, 2]
backends:
  - name: app
    servers: [{name: s1}]
    agent_cookie: {secrets: [k], same_site: None, secure: false, max_idle: 2d, max_life: 1d}
)",
                      dir);
  CHECK(has(r.errors, "t.yaml:3: agent.threads: key given twice"));
  CHECK(has(r.errors, "t.yaml:4: haproxy: expected a mapping of keys"));
  CHECK(has(r.errors, "t.yaml:8: backends[0].agent_cookie: same_site None requires secure: true (browsers drop "
                      "it otherwise)"));
  CHECK(has(r.errors, "t.yaml:8: backends[0].agent_cookie.max_idle: max_idle is longer than max_life"));
  CHECK(r.errors.size() == 4);
}

TEST_CASE("a YAML syntax error is reported with its line", "[config]") {
  TempDir dir;
  LoadResult r = load("agent:\n  threads: [1, 2\nhaproxy: {}\n", dir);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].starts_with("t.yaml:"));
  CHECK(r.errors[0].find("YAML syntax error") != std::string::npos);
}

TEST_CASE("a missing config file is one clear error", "[config]") {
  LoadResult r = load_file("/nonexistent/sticky-agent.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == "/nonexistent/sticky-agent.yaml: cannot open config file");
}

TEST_CASE("the shipped example config loads without errors or warnings", "[config]") {
  LoadResult r = load_file(STICKY_EXAMPLE_CONFIG);
  for (const std::string& e : r.errors) UNSCOPED_INFO(e);
  for (const std::string& w : r.warnings) UNSCOPED_INFO(w);
  CHECK(r.ok());
  CHECK(r.warnings.empty());
  REQUIRE(r.config.backends.size() == 1);
  CHECK(r.config.backends[0].identity.size() == 5);
  CHECK(r.config.backends[0].agent_cookie->secret_files.size() == 2);
  CHECK(r.config.hsaf.at(0).regions.size() == 2);
  CHECK(r.config.redis->cluster == "prod");
}

TEST_CASE("the option reference lists every option with its default and bounds", "[config]") {
  std::string ref = describe_options();
  CHECK(ref.find("agent.threads  integer  default 0  range 0..1024  -- worker threads; 0 = one per core\n") !=
        std::string::npos);
  CHECK(ref.find("redis.lookup_deadline  duration  default 3ms  range 1ms..10s") != std::string::npos);
  CHECK(ref.find("backends[].name  name  default \"\"  required") != std::string::npos);
  CHECK(ref.find("hsaf[].tiers[].max") != std::string::npos);
}
