// Tests for client identity resolution: source order, trust checks, XFF walk, masks, counters.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "policy/identity.h"

using namespace sticky::policy;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;

IpAddress ip(std::string_view text) {
  IpAddress a;
  REQUIRE(parse_ip(text, a));
  return a;
}

CidrSet set_of(std::initializer_list<std::string_view> entries) {
  CidrSet s;
  for (auto e : entries) {
    const CidrParse p = parse_cidr(e);
    REQUIRE(p.error == CidrError::Ok);
    s.add(p.cidr);
  }
  return s;
}

IdentityConfig base_config() {
  IdentityConfig cfg;
  cfg.cdn_ranges = set_of({"23.32.0.0/11", "2600:1400::/24"});
  cfg.trusted_proxies = set_of({"10.0.0.0/8", "fd00::/8"});
  return cfg;
}

// Holds the source bytes alive for the ClientFacts view.
struct Facts {
  IpAddress src;
  ClientFacts facts;
  explicit Facts(std::string_view source) : src(ip(source)) { facts.source = src.view(); }
};

std::vector<std::uint8_t> key_of(const Identity& id) { return {id.key.begin(), id.key.end()}; }

std::vector<std::uint8_t> addr_key(std::string_view text) {
  const IpAddress a = ip(text);
  return {a.view().begin(), a.view().end()};
}

std::vector<std::uint8_t> str_key(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("With nothing else, the source address masked to /24 or /64 is the key", "[identity]") {
  const IdentityResolver r(base_config(), nullptr);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];

  Facts v4("198.51.100.77");
  Identity id = r.resolve(v4.facts, kNow, buf, n);
  CHECK(id.kind == IdentityKind::Source);
  CHECK(key_of(id) == addr_key("198.51.100.0"));

  Facts v6("2001:db8:1:2:3:4:5:6");
  id = r.resolve(v6.facts, kNow, buf, n);
  CHECK(id.kind == IdentityKind::Source);
  CHECK(key_of(id) == addr_key("2001:db8:1:2::"));
  CHECK(n.resolved[static_cast<std::size_t>(IdentityKind::Source)] == 2);
}

TEST_CASE("A v4-mapped source is keyed as IPv4", "[identity]") {
  const IdentityResolver r(base_config(), nullptr);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];
  const std::uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 77};
  ClientFacts f;
  f.source = sticky::Bytes(mapped, 16);
  const Identity id = r.resolve(f, kNow, buf, n);
  CHECK(id.kind == IdentityKind::Source);
  CHECK(key_of(id) == addr_key("198.51.100.0"));
}

TEST_CASE("True-Client-IP from a CDN edge wins over the source", "[identity]") {
  const IdentityResolver r(base_config(), nullptr);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];
  Facts f("23.33.1.1");
  f.facts.true_client_ip = " 203.0.113.9 ";
  Identity id = r.resolve(f.facts, kNow, buf, n);
  CHECK(id.kind == IdentityKind::TrueClientIp);
  CHECK(key_of(id) == addr_key("203.0.113.9"));  // default /32: the exact client

  Facts f6("2600:1400::1");
  f6.facts.true_client_ip = "2001:db8::abcd";
  id = r.resolve(f6.facts, kNow, buf, n);
  CHECK(id.kind == IdentityKind::TrueClientIp);
  CHECK(key_of(id) == addr_key("2001:db8::abcd"));

  f.facts.true_client_ip = "::ffff:203.0.113.9";
  id = r.resolve(f.facts, kNow, buf, n);
  CHECK(key_of(id) == addr_key("203.0.113.9"));
}

TEST_CASE("Each request on one CDN connection is decided on its own", "[identity]") {
  const IdentityResolver r(base_config(), nullptr);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];
  Facts f("23.33.1.1");
  std::vector<std::vector<std::uint8_t>> keys;
  for (std::string_view client : {"203.0.113.1", "203.0.113.2", "203.0.113.1"}) {
    f.facts.true_client_ip = client;
    keys.push_back(key_of(r.resolve(f.facts, kNow, buf, n)));
  }
  CHECK(keys[0] != keys[1]);
  CHECK(keys[0] == keys[2]);
}

TEST_CASE("True-Client-IP from outside the CDN ranges is ignored and counted", "[identity]") {
  const IdentityResolver r(base_config(), nullptr);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];
  Facts f("198.51.100.77");
  f.facts.true_client_ip = "203.0.113.9";
  const Identity id = r.resolve(f.facts, kNow, buf, n);
  CHECK(id.kind == IdentityKind::Source);
  CHECK(key_of(id) == addr_key("198.51.100.0"));
  CHECK(n.untrusted_tci == 1);
  CHECK(n.bad_tci == 0);
}

TEST_CASE("An invalid True-Client-IP from the CDN is counted and skipped", "[identity]") {
  const IdentityResolver r(base_config(), nullptr);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];
  for (std::string_view bad : {"unknown", "203.0.113.9, 10.0.0.1", "203.0.113", "[::1]", "203.0.113.9:80"}) {
    Facts f("23.33.1.1");
    f.facts.true_client_ip = bad;
    const Identity id = r.resolve(f.facts, kNow, buf, n);
    CHECK(id.kind == IdentityKind::Source);
  }
  CHECK(n.bad_tci == 5);
  CHECK(n.untrusted_tci == 0);
}

TEST_CASE("X-Forwarded-For is walked right to left through trusted proxies", "[identity]") {
  const IdentityResolver r(base_config(), nullptr);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];
  Facts f("10.1.1.1");
  // A spoofed left part, the real client, then two of our proxies.
  f.facts.forwarded_for = "1.1.1.1, 203.0.113.50,10.2.2.2 , 10.3.3.3";
  Identity id = r.resolve(f.facts, kNow, buf, n);
  CHECK(id.kind == IdentityKind::ForwardedFor);
  CHECK(key_of(id) == addr_key("203.0.113.50"));

  f.facts.forwarded_for = "203.0.113.51";
  id = r.resolve(f.facts, kNow, buf, n);
  CHECK(key_of(id) == addr_key("203.0.113.51"));

  f.facts.forwarded_for = "2001:db8::9, [fd00::1]:8443, 10.9.9.9:1234";
  id = r.resolve(f.facts, kNow, buf, n);
  CHECK(id.kind == IdentityKind::ForwardedFor);
  CHECK(key_of(id) == addr_key("2001:db8::9"));
  CHECK(n.bad_xff == 0);
}

TEST_CASE("X-Forwarded-For from an untrusted peer is ignored and counted", "[identity]") {
  const IdentityResolver r(base_config(), nullptr);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];
  Facts f("198.51.100.77");
  f.facts.forwarded_for = "203.0.113.50";
  const Identity id = r.resolve(f.facts, kNow, buf, n);
  CHECK(id.kind == IdentityKind::Source);
  CHECK(n.untrusted_xff == 1);
}

TEST_CASE("A bad X-Forwarded-For element stops the walk and is counted", "[identity]") {
  const IdentityResolver r(base_config(), nullptr);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];
  for (std::string_view bad : {"203.0.113.50, garbage", "203.0.113.50,,10.2.2.2", "unknown, 10.2.2.2", " , ",
                               "203.0.113.50,", "[2001:db8::1", "1.2.3.4:99999"}) {
    INFO(bad);
    Facts f("10.1.1.1");
    f.facts.forwarded_for = bad;
    const Identity id = r.resolve(f.facts, kNow, buf, n);
    CHECK(id.kind == IdentityKind::Source);
  }
  CHECK(n.bad_xff == 7);
}

TEST_CASE("When every X-Forwarded-For hop is trusted the leftmost is used", "[identity]") {
  const IdentityResolver r(base_config(), nullptr);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];
  Facts f("10.1.1.1");
  f.facts.forwarded_for = "10.5.5.5, 10.2.2.2";
  const Identity id = r.resolve(f.facts, kNow, buf, n);
  CHECK(id.kind == IdentityKind::ForwardedFor);
  CHECK(key_of(id) == addr_key("10.5.5.5"));
  CHECK(n.xff_all_trusted == 1);
}

TEST_CASE("An X-Forwarded-For chain longer than the hop limit is refused", "[identity]") {
  const IdentityResolver r(base_config(), nullptr);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];
  std::string chain = "203.0.113.50";
  for (std::size_t i = 0; i < kMaxForwardedHops; ++i) chain += ", 10.0.0.1";
  Facts f("10.1.1.1");
  f.facts.forwarded_for = chain;
  CHECK(r.resolve(f.facts, kNow, buf, n).kind == IdentityKind::Source);
  CHECK(n.xff_too_long == 1);
  // One hop fewer fits.
  chain = "203.0.113.50";
  for (std::size_t i = 0; i + 1 < kMaxForwardedHops; ++i) chain += ", 10.0.0.1";
  f.facts.forwarded_for = chain;
  CHECK(r.resolve(f.facts, kNow, buf, n).kind == IdentityKind::ForwardedFor);
}

TEST_CASE("Configured masks apply to TCI, XFF and source keys", "[identity]") {
  IdentityConfig cfg = base_config();
  cfg.tci_mask_v4 = 24;
  cfg.xff_mask_v6 = 48;
  cfg.source_mask_v4 = 16;
  const IdentityResolver r(cfg, nullptr);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];
  Facts cdn("23.33.1.1");
  cdn.facts.true_client_ip = "203.0.113.9";
  CHECK(key_of(r.resolve(cdn.facts, kNow, buf, n)) == addr_key("203.0.113.0"));
  Facts proxy("10.1.1.1");
  proxy.facts.forwarded_for = "2001:db8:aaaa:bbbb::1";
  CHECK(key_of(r.resolve(proxy.facts, kNow, buf, n)) == addr_key("2001:db8:aaaa::"));
  Facts plain("198.51.100.77");
  CHECK(key_of(r.resolve(plain.facts, kNow, buf, n)) == addr_key("198.51.0.0"));
}

TEST_CASE("The app cookie value is the key and precedes address sources", "[identity]") {
  const IdentityResolver r(base_config(), nullptr);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];
  Facts f("23.33.1.1");
  f.facts.true_client_ip = "203.0.113.9";
  f.facts.app_cookie = "A1B2C3D4E5";
  const Identity id = r.resolve(f.facts, kNow, buf, n);
  CHECK(id.kind == IdentityKind::AppCookie);
  CHECK(key_of(id) == str_key("A1B2C3D4E5"));
  CHECK(n.untrusted_tci == 0);  // later sources are not even looked at
}

TEST_CASE("An app cookie longer than the key buffer is counted and skipped", "[identity]") {
  const IdentityResolver r(base_config(), nullptr);
  IdentityCounters n;
  std::uint8_t buf[8];
  Facts f("198.51.100.77");
  f.facts.app_cookie = "123456789";
  Identity id = r.resolve(f.facts, kNow, buf, n);
  CHECK(id.kind == IdentityKind::Source);
  CHECK(n.app_cookie_too_long == 1);
  f.facts.app_cookie = "12345678";
  id = r.resolve(f.facts, kNow, buf, n);
  CHECK(id.kind == IdentityKind::AppCookie);
}

TEST_CASE("A valid agent cookie comes first; an invalid one falls through and is counted", "[identity]") {
  CookieCodec codec(CookieLimits{.max_idle = 600, .max_life = 0, .future_skew = 60});
  REQUIRE(codec.add_key(0, "0123456789abcdef-secret").empty());
  ServerToken web1;
  REQUIRE(codec.server_token(0, "web1", web1));
  char value[kCookieValueLen];
  REQUIRE(codec.encode(codec.make(web1, kNow), value) == kCookieValueLen);

  const IdentityResolver r(base_config(), &codec);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];
  Facts f("198.51.100.77");
  f.facts.agent_cookie = std::string_view(value, kCookieValueLen);
  f.facts.app_cookie = "SESSION";

  Identity id = r.resolve(f.facts, kNow + 10, buf, n);
  CHECK(id.kind == IdentityKind::AgentCookie);
  CHECK(key_of(id) == std::vector<std::uint8_t>(web1.bytes.begin(), web1.bytes.end()));
  CHECK(id.cookie.server == web1);
  CHECK(id.cookie.issued == kNow);

  id = r.resolve(f.facts, kNow + 601, buf, n);  // idle too long
  CHECK(id.kind == IdentityKind::AppCookie);
  CHECK(n.agent_cookie_rejected[static_cast<std::size_t>(CookieStatus::IdleExpired)] == 1);

  f.facts.agent_cookie = "garbage";
  id = r.resolve(f.facts, kNow, buf, n);
  CHECK(id.kind == IdentityKind::AppCookie);
  CHECK(n.agent_cookie_rejected[static_cast<std::size_t>(CookieStatus::Malformed)] == 1);

  // Without a codec the agent cookie source never yields.
  const IdentityResolver no_codec(base_config(), nullptr);
  f.facts.agent_cookie = std::string_view(value, kCookieValueLen);
  CHECK(no_codec.resolve(f.facts, kNow, buf, n).kind == IdentityKind::AppCookie);
}

TEST_CASE("The configured order decides, and unlisted sources are never used", "[identity]") {
  IdentityConfig cfg = base_config();
  cfg.order = {IdentityKind::TrueClientIp, IdentityKind::AppCookie};
  cfg.order_len = 2;
  REQUIRE(identity_order_error(cfg).empty());
  const IdentityResolver r(cfg, nullptr);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];

  Facts f("23.33.1.1");
  f.facts.true_client_ip = "203.0.113.9";
  f.facts.app_cookie = "SESSION";
  CHECK(r.resolve(f.facts, kNow, buf, n).kind == IdentityKind::TrueClientIp);

  f.facts.true_client_ip = {};
  CHECK(r.resolve(f.facts, kNow, buf, n).kind == IdentityKind::AppCookie);

  f.facts.app_cookie = {};
  const Identity none = r.resolve(f.facts, kNow, buf, n);  // Source not listed
  CHECK(none.kind == IdentityKind::None);
  CHECK(none.key.empty());
  CHECK(n.resolved[static_cast<std::size_t>(IdentityKind::None)] == 1);
}

TEST_CASE("A missing or malformed source address is counted", "[identity]") {
  const IdentityResolver r(base_config(), nullptr);
  IdentityCounters n;
  std::uint8_t buf[kIdentityKeyCapacity];
  ClientFacts f;
  f.true_client_ip = "203.0.113.9";  // cannot be trusted without a source
  f.forwarded_for = "203.0.113.9";
  CHECK(r.resolve(f, kNow, buf, n).kind == IdentityKind::None);
  CHECK(n.bad_source == 1);
  CHECK(n.untrusted_tci == 1);
  CHECK(n.untrusted_xff == 1);
  const std::uint8_t five[5] = {1, 2, 3, 4, 5};
  f.source = sticky::Bytes(five, 5);
  CHECK(r.resolve(f, kNow, buf, n).kind == IdentityKind::None);
  CHECK(n.bad_source == 2);
}

TEST_CASE("A key buffer too small for an address is counted", "[identity]") {
  const IdentityResolver r(base_config(), nullptr);
  IdentityCounters n;
  std::uint8_t buf[8];
  Facts f("2001:db8::1");
  CHECK(r.resolve(f.facts, kNow, buf, n).kind == IdentityKind::None);
  CHECK(n.key_buffer_too_small == 1);
}

TEST_CASE("Identity orders are validated", "[identity]") {
  IdentityConfig cfg;
  CHECK(identity_order_error(cfg).empty());
  cfg.order_len = 0;
  CHECK(identity_order_error(cfg) == "identity order is empty");
  cfg.order = {IdentityKind::Source, IdentityKind::Source};
  cfg.order_len = 2;
  CHECK(identity_order_error(cfg) == "identity order lists a source twice");
  cfg.order = {IdentityKind::Source, IdentityKind::None};
  CHECK(identity_order_error(cfg) == "identity order lists an invalid source");
  cfg.order_len = 6;
  CHECK(identity_order_error(cfg) == "identity order lists more than 5 sources");
}

TEST_CASE("X-Forwarded-For elements accept brackets and ports", "[identity]") {
  IpAddress a;
  CHECK(parse_forwarded_element(" 192.0.2.1 ", a));
  CHECK(a == ip("192.0.2.1"));
  CHECK(parse_forwarded_element("192.0.2.1:8080", a));
  CHECK(a == ip("192.0.2.1"));
  CHECK(parse_forwarded_element("[2001:db8::1]", a));
  CHECK(a == ip("2001:db8::1"));
  CHECK(parse_forwarded_element("[2001:db8::1]:443", a));
  CHECK(parse_forwarded_element("2001:db8::1", a));
  CHECK_FALSE(parse_forwarded_element("[192.0.2.1]", a));
  CHECK_FALSE(parse_forwarded_element("[2001:db8::1]x", a));
  CHECK_FALSE(parse_forwarded_element("192.0.2.1:", a));
  CHECK_FALSE(parse_forwarded_element("", a));
  CHECK_FALSE(parse_forwarded_element("unknown", a));
}
