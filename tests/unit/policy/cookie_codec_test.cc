// Tests for the signed insert cookie: round trip, every status, rotation, tampering, attributes.
#include <catch2/catch.hpp>

#include <array>
#include <string>

#include "policy/cookie_codec.h"

using namespace sticky::policy;
using namespace sticky::model;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::string_view kSecretA = "0123456789abcdef-secret-A";
constexpr std::string_view kSecretB = "fedcba9876543210-secret-B";

CookieCodec codec_with(std::initializer_list<std::pair<std::uint8_t, std::string_view>> keys,
                       CookieLimits limits = {}) {
  CookieCodec c(limits);
  for (auto [id, secret] : keys) REQUIRE(c.add_key(id, secret).empty());
  return c;
}

ServerToken token_of(const CookieCodec& c, std::string_view name) {
  ServerToken t;
  REQUIRE(c.server_token(c.issuing_key(), name, t));
  return t;
}

std::string encode(const CookieCodec& c, const AgentCookie& cookie) {
  char buf[kCookieValueLen];
  const std::size_t n = c.encode(cookie, buf);
  REQUIRE(n == kCookieValueLen);
  return std::string(buf, n);
}

ServerSet make_set(std::initializer_list<std::string> names) {
  ServerSet s;
  s.backend = "be_app";
  s.version = 7;
  for (const auto& n : names) s.servers.push_back(Server{n, 1, ServerState::Up});
  return s;
}

}  // namespace

TEST_CASE("A cookie round-trips through encode and verify", "[cookie_codec]") {
  const CookieCodec c = codec_with({{3, kSecretA}});
  AgentCookie in = c.make(token_of(c, "web1"), kNow - 100);
  in.last_seen = kNow - 10;
  const std::string value = encode(c, in);
  CHECK(value.size() == 44);
  for (char ch : value) CHECK(((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                               ch == '-' || ch == '_'));

  const CookieCheck out = c.verify(value, kNow);
  REQUIRE(out.status == CookieStatus::Ok);
  CHECK(out.cookie.key == 0);
  CHECK((value[0] == 'E' && value[1] >= 'w' && value[1] <= 'z'));  // first byte 0x13: format 1, id 3
  CHECK(out.cookie.server == token_of(c, "web1"));
  CHECK(out.cookie.issued == kNow - 100);
  CHECK(out.cookie.last_seen == kNow - 10);
}

// Known answers, computed independently (Python's hmac module, the derivation in cookie_codec.h): a
// cookie issued by any version of the agent must keep verifying after an upgrade, and a mixed
// cluster must agree. A change of MAC implementation that alters one bit fails here.
TEST_CASE("Cookies and server tokens match known answers", "[cookie_codec]") {
  const CookieCodec c = codec_with({{3, kSecretA}});
  const ServerToken web1 = token_of(c, "web1");
  const std::array<std::uint8_t, 8> web1_bytes = {0x32, 0xec, 0xfa, 0x7b, 0x07, 0x48, 0x3f, 0x53};
  CHECK(web1.bytes == web1_bytes);
  AgentCookie in = c.make(web1, kNow - 100);
  in.last_seen = kNow - 10;
  CHECK(encode(c, in) == "EzLs-nsHSD9TZVPwnGVT8Pa4rP0Lm79IIqJ98rnzZLPi");
  CHECK(c.verify("EzLs-nsHSD9TZVPwnGVT8Pa4rP0Lm79IIqJ98rnzZLPi", kNow).status == CookieStatus::Ok);

  // A secret longer than the SHA-256 block (hashed first), key id 15, the extreme times.
  const std::string long_secret(100, 'x');
  const CookieCodec l = codec_with({{15, long_secret}});
  const std::array<std::uint8_t, 8> s2_bytes = {0x87, 0x19, 0xaa, 0x7f, 0x04, 0x72, 0xea, 0xf3};
  CHECK(token_of(l, "s2").bytes == s2_bytes);
  AgentCookie edge = l.make(token_of(l, "s2"), 0);
  edge.last_seen = 0xffffffffu;
  CHECK(encode(l, edge) == "H4cZqn8EcurzAAAAAP____8nPSTloIjgLVr8RtQHF6Ef");
  CHECK(l.verify("H4cZqn8EcurzAAAAAP____8nPSTloIjgLVr8RtQHF6Ef", 0xffffffffLL).status == CookieStatus::Ok);
  CHECK(l.verify("H4cZqn8EcurzAAAAAP____8nPSTloIjgLVr8RtQHF6Eg", 0xffffffffLL).status == CookieStatus::BadMac);
}

TEST_CASE("Encoding is deterministic and depends on every field", "[cookie_codec]") {
  const CookieCodec c = codec_with({{0, kSecretA}});
  const AgentCookie base = c.make(token_of(c, "web1"), kNow);
  CHECK(encode(c, base) == encode(c, base));
  AgentCookie other = base;
  other.last_seen += 1;
  CHECK(encode(c, other) != encode(c, base));
  other = base;
  other.server = token_of(c, "web2");
  CHECK(encode(c, other) != encode(c, base));
}

TEST_CASE("Server tokens are keyed: another secret gives other tokens", "[cookie_codec]") {
  const CookieCodec a = codec_with({{0, kSecretA}});
  const CookieCodec b = codec_with({{0, kSecretB}});
  CHECK_FALSE(token_of(a, "web1") == token_of(b, "web1"));
  CHECK_FALSE(token_of(a, "web1") == token_of(a, "web2"));
  CHECK(token_of(a, "web1") == token_of(a, "web1"));
}

TEST_CASE("The cookie value shows no server name", "[cookie_codec]") {
  const CookieCodec c = codec_with({{0, kSecretA}});
  for (std::string name : {"web1", "app-server-frankfurt-01", "10.0.0.5"}) {
    const std::string value = encode(c, c.make(token_of(c, name), kNow));
    CHECK(value.find(name) == std::string::npos);
    CHECK(value.find(name.substr(0, 3)) == std::string::npos);
  }
}

TEST_CASE("Malformed values are refused without reading past them", "[cookie_codec]") {
  const CookieCodec c = codec_with({{0, kSecretA}});
  const std::string good = encode(c, c.make(token_of(c, "web1"), kNow));
  CHECK(c.verify("", kNow).status == CookieStatus::Malformed);
  CHECK(c.verify(good.substr(0, 43), kNow).status == CookieStatus::Malformed);
  CHECK(c.verify(good + "A", kNow).status == CookieStatus::Malformed);
  std::string bad_char = good;
  bad_char[10] = '+';  // standard base64, not base64url
  CHECK(c.verify(bad_char, kNow).status == CookieStatus::Malformed);
  bad_char[10] = '=';
  CHECK(c.verify(bad_char, kNow).status == CookieStatus::Malformed);
  bad_char[10] = '\0';
  CHECK(c.verify(bad_char, kNow).status == CookieStatus::Malformed);
  // First character encodes the version nibble: 'A' means version 0.
  std::string bad_version = good;
  bad_version[0] = 'A';
  CHECK(c.verify(bad_version, kNow).status == CookieStatus::Malformed);
}

TEST_CASE("Changing any single character is detected", "[cookie_codec]") {
  const CookieCodec c = codec_with({{0, kSecretA}, {1, kSecretB}});
  const std::string good = encode(c, c.make(token_of(c, "web1"), kNow));
  const std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (std::size_t pos = 0; pos < good.size(); ++pos) {
    for (char repl : alphabet) {
      if (repl == good[pos]) continue;
      std::string t = good;
      t[pos] = repl;
      const CookieStatus s = c.verify(t, kNow).status;
      // The first two characters carry version and key id, so they may turn into an unknown
      // version or key; everything after must fail authentication.
      INFO("pos " << pos << " char " << repl);
      REQUIRE(s != CookieStatus::Ok);
      if (pos > 1) REQUIRE(s == CookieStatus::BadMac);
    }
  }
}

TEST_CASE("Flipping any bit of the decoded bytes is detected", "[cookie_codec]") {
  // Tamper at byte level by re-encoding: every bit of version, key, token, times and MAC.
  const CookieCodec c = codec_with({{0, kSecretA}});
  const std::string good = encode(c, c.make(token_of(c, "web1"), kNow));
  const std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (std::size_t ch = 0; ch < good.size(); ++ch) {
    const auto v = alphabet.find(good[ch]);
    for (int bit = 0; bit < 6; ++bit) {
      std::string t = good;
      t[ch] = alphabet[v ^ (1u << bit)];
      REQUIRE(c.verify(t, kNow).status != CookieStatus::Ok);
    }
  }
}

TEST_CASE("A cookie signed with another secret fails the MAC", "[cookie_codec]") {
  const CookieCodec a = codec_with({{0, kSecretA}});
  const CookieCodec b = codec_with({{0, kSecretB}});
  const std::string value = encode(b, b.make(token_of(b, "web1"), kNow));
  CHECK(a.verify(value, kNow).status == CookieStatus::BadMac);
}

TEST_CASE("A cookie under a key id we do not have is UnknownKey", "[cookie_codec]") {
  const CookieCodec a = codec_with({{0, kSecretA}});
  const CookieCodec b = codec_with({{5, kSecretA}});
  const std::string value = encode(b, b.make(token_of(b, "web1"), kNow));
  CHECK(a.verify(value, kNow).status == CookieStatus::UnknownKey);
}

TEST_CASE("Key rotation: the newest key issues and the old key still verifies", "[cookie_codec]") {
  const CookieCodec old_only = codec_with({{1, kSecretA}});
  const std::string old_value = encode(old_only, old_only.make(token_of(old_only, "web1"), kNow - 50));

  const CookieCodec rotated = codec_with({{1, kSecretA}, {2, kSecretB}});
  CHECK(rotated.issuing_key() == 1);
  const CookieCheck old_check = rotated.verify(old_value, kNow);
  REQUIRE(old_check.status == CookieStatus::Ok);
  CHECK(old_check.cookie.key == 0);

  const AgentCookie fresh = rotated.make(token_of(rotated, "web1"), kNow);
  CHECK(fresh.key == 1);
  const std::string new_value = encode(rotated, fresh);
  CHECK(rotated.verify(new_value, kNow).status == CookieStatus::Ok);
  // A node that has not yet learned the new key refuses the new cookies as UnknownKey.
  CHECK(old_only.verify(new_value, kNow).status == CookieStatus::UnknownKey);
  // After retiring the old key, its cookies are UnknownKey.
  const CookieCodec retired = codec_with({{2, kSecretB}});
  CHECK(retired.verify(old_value, kNow).status == CookieStatus::UnknownKey);
}

TEST_CASE("Keys are validated when added", "[cookie_codec]") {
  CookieCodec c;
  CHECK_FALSE(c.has_keys());
  CHECK(c.add_key(16, kSecretA) == "key id must be between 0 and 15");
  CHECK(c.add_key(0, "short") == "secret must be at least 16 bytes");
  CHECK(c.add_key(0, kSecretA).empty());
  CHECK(c.key_count() == 1);
  // A secret longer than the SHA-256 block is hashed first (RFC 2104) and still works.
  CHECK(c.add_key(1, std::string(200, 'k')).empty());
  CHECK(c.verify(encode(c, c.make(token_of(c, "web1"), kNow)), kNow).status == CookieStatus::Ok);
  for (int i = 2; i < 16; ++i) CHECK(c.add_key(7, std::string(20, static_cast<char>('a' + i))).empty());
  CHECK(c.add_key(7, kSecretB) == "more than 16 secrets");
  CHECK(c.key_count() == 16);
}

// Ids come from a hash of the secret (agent/persist_runtime.cc), so 1 new secret in 16 shares the
// id of the live one: the rotation must work all the same.
TEST_CASE("Two secrets sharing a key id: each cookie verifies under the key that sealed it", "[cookie_codec]") {
  const CookieCodec old_only = codec_with({{6, kSecretA}});
  const std::string old_value = encode(old_only, old_only.make(token_of(old_only, "web1"), kNow - 50));

  const CookieCodec rotated = codec_with({{6, kSecretA}, {6, kSecretB}});
  const CookieCheck old_check = rotated.verify(old_value, kNow);
  REQUIRE(old_check.status == CookieStatus::Ok);
  CHECK(old_check.cookie.key == 0);
  const std::string new_value = encode(rotated, rotated.make(token_of(rotated, "web2"), kNow));
  const CookieCheck new_check = rotated.verify(new_value, kNow);
  REQUIRE(new_check.status == CookieStatus::Ok);
  CHECK(new_check.cookie.key == 1);
  CHECK(needs_reissue(old_check.cookie, kNow, 0, old_check.cookie.server, rotated.issuing_key()));

  // Tokens are per key: each cookie names its server through its own key's token.
  const ServerSet set = make_set({"web1", "web2"});
  const ServerTokenMap map(rotated, set);
  CHECK(map.find(old_check.cookie.key, old_check.cookie.server) == 0);
  CHECK(map.find(new_check.cookie.key, new_check.cookie.server) == 1);
  CHECK(map.find(new_check.cookie.key, old_check.cookie.server) == -1);

  // The old secret retired: its cookies carry a known id but no key seals them.
  const CookieCodec retired = codec_with({{6, kSecretB}});
  CHECK(retired.verify(old_value, kNow).status == CookieStatus::BadMac);
  CHECK(retired.verify(new_value, kNow).status == CookieStatus::Ok);
  // A node that has only the old key refuses the new cookies the same way.
  CHECK(old_only.verify(new_value, kNow).status == CookieStatus::BadMac);
}

TEST_CASE("Encoding refuses an unknown key or a short buffer", "[cookie_codec]") {
  const CookieCodec c = codec_with({{0, kSecretA}});
  AgentCookie cookie = c.make(token_of(c, "web1"), kNow);
  char small[kCookieValueLen - 1];
  CHECK(c.encode(cookie, small) == 0);
  cookie.key = 9;  // the codec has one key
  char buf[kCookieValueLen];
  CHECK(c.encode(cookie, buf) == 0);
  ServerToken t;
  CHECK_FALSE(c.server_token(9, "web1", t));
}

TEST_CASE("Life and idle limits expire cookies exactly at the boundary", "[cookie_codec]") {
  const CookieLimits limits{.max_idle = 600, .max_life = 3600, .future_skew = 30};
  const CookieCodec c = codec_with({{0, kSecretA}}, limits);
  AgentCookie cookie = c.make(token_of(c, "web1"), kNow);

  CHECK(c.verify(encode(c, cookie), kNow + 600).status == CookieStatus::Ok);
  CHECK(c.verify(encode(c, cookie), kNow + 601).status == CookieStatus::IdleExpired);

  cookie.last_seen = static_cast<std::uint32_t>(kNow + 3500);
  CHECK(c.verify(encode(c, cookie), kNow + 3600).status == CookieStatus::Ok);
  CHECK(c.verify(encode(c, cookie), kNow + 3601).status == CookieStatus::Expired);
  // Expired (absolute) is reported before IdleExpired when both apply.
  CHECK(c.verify(encode(c, cookie), kNow + 9000).status == CookieStatus::Expired);
}

TEST_CASE("Zero limits mean no expiry", "[cookie_codec]") {
  const CookieCodec c = codec_with({{0, kSecretA}}, CookieLimits{.max_idle = 0, .max_life = 0, .future_skew = 0});
  const std::string value = encode(c, c.make(token_of(c, "web1"), kNow));
  CHECK(c.verify(value, kNow + 10 * 365 * 86400).status == CookieStatus::Ok);
}

TEST_CASE("Cookies dated beyond the skew are FromFuture", "[cookie_codec]") {
  const CookieCodec c = codec_with({{0, kSecretA}}, CookieLimits{.max_idle = 0, .max_life = 0, .future_skew = 30});
  AgentCookie cookie = c.make(token_of(c, "web1"), kNow + 30);
  CHECK(c.verify(encode(c, cookie), kNow).status == CookieStatus::Ok);
  cookie = c.make(token_of(c, "web1"), kNow + 31);
  CHECK(c.verify(encode(c, cookie), kNow).status == CookieStatus::FromFuture);
  cookie = c.make(token_of(c, "web1"), kNow);
  cookie.last_seen = static_cast<std::uint32_t>(kNow + 31);
  CHECK(c.verify(encode(c, cookie), kNow).status == CookieStatus::FromFuture);
}

TEST_CASE("An authentic cookie with last_seen before issued is Malformed", "[cookie_codec]") {
  const CookieCodec c = codec_with({{0, kSecretA}});
  AgentCookie cookie = c.make(token_of(c, "web1"), kNow);
  cookie.last_seen = cookie.issued - 1;
  CHECK(c.verify(encode(c, cookie), kNow).status == CookieStatus::Malformed);
}

TEST_CASE("Extreme clock values neither overflow nor verify", "[cookie_codec]") {
  const CookieCodec c = codec_with({{0, kSecretA}}, CookieLimits{.max_idle = 10, .max_life = 10, .future_skew = 0});
  const std::string value = encode(c, c.make(token_of(c, "web1"), kNow));
  CHECK(c.verify(value, INT64_MAX).status == CookieStatus::Expired);
  CHECK(c.verify(value, INT64_MIN).status == CookieStatus::FromFuture);
  CHECK(c.make(ServerToken{}, -5).issued == 0);
  CHECK(c.make(ServerToken{}, INT64_MAX).issued == 0xffffffffu);
}

TEST_CASE("Status names are stable metric labels", "[cookie_codec]") {
  CHECK(cookie_status_name(CookieStatus::Ok) == "ok");
  CHECK(cookie_status_name(CookieStatus::BadMac) == "bad_mac");
  CHECK(cookie_status_name(CookieStatus::IdleExpired) == "idle_expired");
  CHECK(cookie_status_name(CookieStatus::FromFuture) == "from_future");
}

TEST_CASE("needs_reissue refreshes after a quarter of max-idle, on server change, on rotation", "[cookie_codec]") {
  const CookieCodec c = codec_with({{0, kSecretA}});
  const ServerToken web1 = token_of(c, "web1");
  const ServerToken web2 = token_of(c, "web2");
  const AgentCookie cookie = c.make(web1, kNow);
  CHECK_FALSE(needs_reissue(cookie, kNow, 400, web1, 0));
  CHECK_FALSE(needs_reissue(cookie, kNow + 100, 400, web1, 0));
  CHECK(needs_reissue(cookie, kNow + 101, 400, web1, 0));
  CHECK(needs_reissue(cookie, kNow, 400, web2, 0));
  CHECK(needs_reissue(cookie, kNow, 400, web1, 1));
  CHECK_FALSE(needs_reissue(cookie, kNow + 1'000'000, 0, web1, 0));
}

TEST_CASE("ServerTokenMap resolves tokens of every key back to the server", "[cookie_codec]") {
  const CookieCodec c = codec_with({{4, kSecretA}, {5, kSecretB}});
  const ServerSet set = make_set({"web1", "web2", "web3"});
  const ServerTokenMap map(c, set);
  CHECK(map.set_version() == 7);
  CHECK(map.collisions() == 0);
  for (std::size_t i = 0; i < set.servers.size(); ++i) {
    ServerToken t_old, t_new;
    REQUIRE(c.server_token(0, set.servers[i].name, t_old));
    REQUIRE(c.server_token(1, set.servers[i].name, t_new));
    CHECK(map.find(0, t_old) == static_cast<int>(i));
    CHECK(map.find(1, t_new) == static_cast<int>(i));
    CHECK(map.issuing_token(i) == t_new);
    CHECK(map.find(1, t_old) == -1);  // a token is only valid under its own key
  }
  ServerToken absent;
  REQUIRE(c.server_token(1, "web9", absent));
  CHECK(map.find(1, absent) == -1);
  CHECK(map.find(3, absent) == -1);
}

TEST_CASE("A cookie resolves to its server end to end", "[cookie_codec]") {
  const CookieCodec c = codec_with({{0, kSecretA}});
  const ServerSet set = make_set({"alpha", "beta"});
  const ServerTokenMap map(c, set);
  const std::string value = encode(c, c.make(map.issuing_token(1), kNow));
  const CookieCheck check = c.verify(value, kNow + 5);
  REQUIRE(check.status == CookieStatus::Ok);
  CHECK(map.find(check.cookie.key, check.cookie.server) == 1);
}

TEST_CASE("Set-Cookie is formatted with the configured attributes", "[cookie_codec]") {
  CookieAttributes a;
  a.name = "SRV";
  a.path = "/app";
  a.domain = "example.com";
  a.secure = true;
  a.http_only = true;
  a.same_site = SameSite::None;
  a.max_age = 86400;
  REQUIRE(cookie_attributes_error(a).empty());
  char buf[256];
  const std::size_t n = format_set_cookie(a, "VALUE", buf);
  CHECK(std::string_view(buf, n) ==
        "SRV=VALUE; Path=/app; Domain=example.com; Max-Age=86400; Secure; HttpOnly; SameSite=None");

  CookieAttributes minimal;
  minimal.name = "S";
  minimal.path = "";
  minimal.http_only = false;
  minimal.same_site = SameSite::Unset;
  const std::size_t m = format_set_cookie(minimal, "v", buf);
  CHECK(std::string_view(buf, m) == "S=v");

  CookieAttributes defaults;
  const std::size_t d = format_set_cookie(defaults, "v", buf);
  CHECK(std::string_view(buf, d) == "STICKY=v; Path=/; HttpOnly; SameSite=Lax");
}

TEST_CASE("Set-Cookie formatting refuses a buffer too small", "[cookie_codec]") {
  CookieAttributes a;
  char buf[128];
  const std::size_t full = format_set_cookie(a, std::string(44, 'x'), buf);
  REQUIRE(full > 0);
  CHECK(format_set_cookie(a, std::string(44, 'x'), std::span<char>(buf, full)) == full);
  CHECK(format_set_cookie(a, std::string(44, 'x'), std::span<char>(buf, full - 1)) == 0);
}

TEST_CASE("Cookie attributes are validated", "[cookie_codec]") {
  CookieAttributes a;
  a.name = "";
  CHECK(cookie_attributes_error(a) == "cookie name is empty");
  a.name = "bad name";
  CHECK(cookie_attributes_error(a) == "cookie name has a character not allowed in a token");
  a.name = "ok";
  a.path = "/a;b";
  CHECK(cookie_attributes_error(a) == "cookie path contains ';' or a control character");
  a.path = "/";
  a.domain = "ex\nample.com";
  CHECK(cookie_attributes_error(a) == "cookie domain contains ';' or a control character");
  a.domain = "";
  a.same_site = SameSite::None;
  a.secure = false;
  CHECK(cookie_attributes_error(a) == "SameSite=None requires Secure (browsers reject it)");
}
