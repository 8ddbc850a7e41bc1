// The persistence engine with no sockets: placement, pins, moves, drain, cookies, learning. Each
// request runs both phases against this agent's table (store::LocalPins), as the handlers do.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>

#include "policy/persist_engine.h"
#include "store/pin_store.h"

using namespace sticky;
using namespace sticky::policy;
using namespace sticky::model;
using store::LocalPins;
using store::PinAnswer;
using store::PinWrite;
using store::ServerRegistry;
using store::StickyEntry;
using store::StickyKey;
using store::StickyTable;
using store::StickyTableOptions;

namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;  // ms

ServerSetPtr make_set(std::vector<Server> servers, std::uint64_t version) {
  auto s = std::make_shared<ServerSet>();
  s->backend = "app";
  s->servers = std::move(servers);
  s->version = version;
  return s;
}

std::vector<Server> three_up() {
  return {{"s1", 100, ServerState::Up}, {"s2", 100, ServerState::Up}, {"s3", 100, ServerState::Up}};
}

struct Fixture {
  StickyTable table{StickyTableOptions{1 << 16, 16}};
  LocalPins pins{table};
  ServerRegistry registry;
  std::unique_ptr<PersistEngine> engine;
  PersistCounters counters;
  std::array<std::uint8_t, kIdentityKeyCapacity> key{};
  std::array<char, 512> cookie{};

  explicit Fixture(bool with_cookie = false) {
    PersistOptions o;
    o.name = "app";
    o.ttl_ms = 60'000;
    std::unique_ptr<CookieCodec> codec;
    if (with_cookie) {
      o.identity.order = {IdentityKind::AgentCookie, IdentityKind::TrueClientIp, IdentityKind::Source};
      o.identity.order_len = 3;
      codec = std::make_unique<CookieCodec>(CookieLimits{3600, 86400, 60});
      REQUIRE(codec->add_key(3, "0123456789abcdef0123456789abcdef").empty());
      o.insert_cookie = CookieAttributes{};
    } else {
      o.identity.order = {IdentityKind::AppCookie, IdentityKind::TrueClientIp, IdentityKind::Source};
      o.identity.order_len = 3;
    }
    o.identity.cdn_ranges.add(parse_cidr("10.0.0.0/8").cidr);
    engine = std::make_unique<PersistEngine>(std::move(o), std::move(codec), registry);
  }

  // Both request phases: start, the table's answer, decide, and the writes recorded.
  RequestDecision decide(const BackendView& v, const ClientFacts& f, std::int64_t now = kNow) {
    const RequestStart s = engine->start(f, v, now, key, counters);
    if (!s.needs_pin) return s.decision;
    PinWrites w;
    const RequestDecision d = engine->decide(s, pins.lookup(s.query, now), v, now, counters, w);
    counters.table_full += pins.record(w.span(), now).refused;
    return d;
  }

  // Both response phases: the pins the engine names, learn, and the writes recorded.
  ResponseOutcome learn(const ResponseFacts& rf, const BackendView& v, std::int64_t now = kNow) {
    const ResponseStart s = engine->learn_start(rf, v);
    std::array<std::optional<StickyEntry>, 2> before;
    for (std::size_t i = 0; i < s.count; ++i) before[i] = pins.peek(s.keys[i], now);
    ResponseOutcome out = engine->learn(rf, s, std::span(before.data(), s.count), v, now, cookie, counters);
    counters.table_full += pins.record(out.writes.span(), now).refused;
    return out;
  }
};

const std::uint8_t kEdge[4] = {10, 1, 2, 3};
const std::uint8_t kHome[4] = {192, 168, 7, 9};

ClientFacts tci(std::string_view ip) {
  ClientFacts f;
  f.source = Bytes(kEdge, 4);
  f.true_client_ip = ip;
  return f;
}

std::string name_of(const BackendView& v, const RequestDecision& d) {
  return d.server < 0 ? "" : v.servers->servers[static_cast<std::size_t>(d.server)].name;
}

}  // namespace

TEST_CASE("A new client is placed, pinned, and then found by its identity", "[persist_engine]") {
  Fixture fx;
  auto view = fx.engine->make_view(make_set(three_up(), 1));
  const RequestDecision first = fx.decide(*view, tci("203.0.113.5"));
  REQUIRE(first.reason == PinReason::New);
  REQUIRE(first.table_written);
  const RequestDecision again = fx.decide(*view, tci("203.0.113.5"));
  CHECK(again.reason == PinReason::ClientIp);
  CHECK(again.server == first.server);
  CHECK_FALSE(again.table_written);
  CHECK(fx.counters.decisions[static_cast<std::size_t>(PinReason::New)] == 1);
  CHECK(fx.counters.decisions[static_cast<std::size_t>(PinReason::ClientIp)] == 1);
}

TEST_CASE("True-Client-IP from outside the CDN ranges is ignored and the subnet decides", "[persist_engine]") {
  Fixture fx;
  auto view = fx.engine->make_view(make_set(three_up(), 1));
  ClientFacts f;
  f.source = Bytes(kHome, 4);
  f.true_client_ip = "203.0.113.5";
  fx.decide(*view, f);
  const RequestDecision d = fx.decide(*view, f);
  CHECK(d.reason == PinReason::Subnet);
  CHECK(d.identity.kind == IdentityKind::Source);
  CHECK(fx.counters.identity.untrusted_tci == 2);
}

TEST_CASE("Two engines that never talk place the same new clients on the same servers", "[persist_engine]") {
  Fixture a, b;
  // Different server order in the two sets: placement keys on names, not positions.
  auto va = a.engine->make_view(make_set(three_up(), 1));
  auto rev = three_up();
  std::reverse(rev.begin(), rev.end());
  auto vb = b.engine->make_view(make_set(rev, 9));
  for (int i = 0; i < 500; ++i) {
    const std::string ip = "198.51." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    CHECK(name_of(*va, a.decide(*va, tci(ip))) == name_of(*vb, b.decide(*vb, tci(ip))));
  }
}

TEST_CASE("A client pinned to a server in maintenance moves, is re-pinned, and stays", "[persist_engine]") {
  Fixture fx;
  auto v1 = fx.engine->make_view(make_set(three_up(), 1));
  std::map<std::string, std::string> home;
  for (int i = 0; i < 300; ++i) {
    const std::string ip = "203.0." + std::to_string(i / 100) + "." + std::to_string(i % 100);
    home[ip] = name_of(*v1, fx.decide(*v1, tci(ip)));
  }
  auto servers = three_up();
  servers[1].state = ServerState::Maint;  // s2
  auto v2 = fx.engine->make_view(make_set(servers, 2));
  int moved = 0;
  for (const auto& [ip, was] : home) {
    const RequestDecision d = fx.decide(*v2, tci(ip));
    if (was == "s2") {
      ++moved;
      CHECK(d.reason == PinReason::Moved);
      CHECK(d.version == 2);  // the first pin was version 1
      CHECK(name_of(*v2, d) != "s2");
      // The table learned the move: next time it is a plain hit on the new server.
      const RequestDecision again = fx.decide(*v2, tci(ip));
      CHECK(again.reason == PinReason::ClientIp);
      CHECK(again.server == d.server);
    } else {
      CHECK(d.reason == PinReason::ClientIp);  // the others do not move
      CHECK(name_of(*v2, d) == was);
    }
  }
  CHECK(moved > 50);
  // s2 comes back: moved clients stay where they went (no flapping), new clients may use s2.
  auto v3 = fx.engine->make_view(make_set(three_up(), 3));
  for (const auto& [ip, was] : home)
    if (was == "s2") CHECK(name_of(*v3, fx.decide(*v3, tci(ip))) != "s2");
}

TEST_CASE("Drain keeps pinned clients and takes no new ones; weight 0 likewise", "[persist_engine]") {
  for (const bool use_weight_zero : {false, true}) {
    Fixture fx;
    auto v1 = fx.engine->make_view(make_set(three_up(), 1));
    std::vector<std::string> on_s1;
    for (int i = 0; on_s1.size() < 20 && i < 1000; ++i) {
      const std::string ip = "203.1." + std::to_string(i / 200) + "." + std::to_string(i % 200);
      if (name_of(*v1, fx.decide(*v1, tci(ip))) == "s1") on_s1.push_back(ip);
    }
    REQUIRE(on_s1.size() == 20);
    auto servers = three_up();
    if (use_weight_zero) servers[0].weight = 0;
    else servers[0].state = ServerState::Drain;
    auto v2 = fx.engine->make_view(make_set(servers, 2));
    for (const auto& ip : on_s1) CHECK(name_of(*v2, fx.decide(*v2, tci(ip))) == "s1");
    for (int i = 0; i < 300; ++i) {
      const RequestDecision d = fx.decide(*v2, tci("198.18.0." + std::to_string(i % 250) + std::to_string(i)));
      if (d.reason == PinReason::New) CHECK(name_of(*v2, d) != "s1");
    }
  }
}

TEST_CASE("No usable server: no decision, HAProxy balances", "[persist_engine]") {
  Fixture fx;
  auto servers = three_up();
  for (auto& s : servers) s.state = ServerState::Down;
  auto v = fx.engine->make_view(make_set(servers, 1));
  const RequestDecision d = fx.decide(*v, tci("203.0.113.5"));
  CHECK(d.server == -1);
  CHECK(d.reason == PinReason::NoServer);
}

TEST_CASE("Pins expire after the TTL", "[persist_engine]") {
  Fixture fx;
  auto v = fx.engine->make_view(make_set(three_up(), 1));
  fx.decide(*v, tci("203.0.113.5"), kNow);
  CHECK(fx.decide(*v, tci("203.0.113.5"), kNow + 30'000).reason == PinReason::ClientIp);
  // Sliding TTL: 30 s later it is still there (refreshed), 61 s after the last hit it is gone.
  CHECK(fx.decide(*v, tci("203.0.113.5"), kNow + 60'000).reason == PinReason::ClientIp);
  CHECK(fx.decide(*v, tci("203.0.113.5"), kNow + 121'001).reason == PinReason::New);
}

TEST_CASE("The insert cookie is issued on the response, honoured, and refreshed only when needed", "[persist_engine]") {
  Fixture fx(true);
  auto v = fx.engine->make_view(make_set(three_up(), 1));
  ClientFacts f;
  f.source = Bytes(kHome, 4);
  const RequestDecision first = fx.decide(*v, f);
  REQUIRE(first.server >= 0);
  const std::string served = name_of(*v, first);
  ResponseFacts rf;
  rf.served = served;
  rf.picked = served;
  rf.cookie_ok = first.cookie_ok;
  const ResponseOutcome out = fx.learn(rf, *v, kNow);
  REQUIRE_FALSE(out.set_cookie.empty());
  const std::string set_cookie(out.set_cookie);
  CHECK(set_cookie.rfind("STICKY=", 0) == 0);
  CHECK(set_cookie.find(rf.served) == std::string::npos);
  const std::string value = set_cookie.substr(7, set_cookie.find(';') - 7);

  ClientFacts with_cookie;
  with_cookie.source = Bytes(kEdge, 4);  // another address: the cookie wins
  with_cookie.agent_cookie = value;
  const RequestDecision d = fx.decide(*v, with_cookie, kNow + 1000);
  CHECK(d.reason == PinReason::Cookie);
  CHECK(name_of(*v, d) == rf.served);
  CHECK(d.cookie_ok);
  ResponseFacts rf2{rf.served, rf.served, IdentityKind::None, {}, true, {}};
  CHECK(fx.learn(rf2, *v, kNow + 1000).set_cookie.empty());
  // A quarter of max-idle later the cookie wants a refresh.
  CHECK_FALSE(fx.decide(*v, with_cookie, kNow + 901'000).cookie_ok);
}

TEST_CASE("A cookie naming a server in maintenance moves the client and is replaced", "[persist_engine]") {
  Fixture fx(true);
  auto v = fx.engine->make_view(make_set(three_up(), 1));
  ResponseFacts rf{"s2", "s2", IdentityKind::None, {}, false, {}};
  const std::string sc(fx.learn(rf, *v, kNow).set_cookie);
  const std::string value = sc.substr(7, sc.find(';') - 7);
  auto servers = three_up();
  servers[1].state = ServerState::Maint;
  auto v2 = fx.engine->make_view(make_set(servers, 2));
  ClientFacts f;
  f.source = Bytes(kHome, 4);
  f.agent_cookie = value;
  const RequestDecision d = fx.decide(*v2, f, kNow + 1000);
  CHECK(d.reason == PinReason::Moved);
  CHECK(name_of(*v2, d) != "s2");
  CHECK_FALSE(d.cookie_ok);
  // A forged cookie is no identity at all: the next source decides.
  std::string forged = value;
  forged[10] = forged[10] == 'A' ? 'B' : 'A';
  f.agent_cookie = forged;
  CHECK(fx.decide(*v2, f, kNow + 1000).identity.kind == IdentityKind::Source);
  CHECK(fx.counters.identity.agent_cookie_rejected[static_cast<std::size_t>(CookieStatus::BadMac)] == 1);
}

TEST_CASE("An application session cookie is learned from the response and routes later requests", "[persist_engine]") {
  Fixture fx;
  auto v = fx.engine->make_view(make_set(three_up(), 1));
  ResponseFacts rf;
  rf.served = "s3";
  rf.app_cookie = "A1B2C3D4E5";
  const ResponseOutcome out = fx.learn(rf, *v, kNow);
  REQUIRE(out.writes.count() == 1);
  CHECK(out.writes[0].key.kind == static_cast<std::uint8_t>(IdentityKind::AppCookie));
  CHECK(out.writes[0].type == PinWrite::Type::New);
  ClientFacts f;
  f.source = Bytes(kHome, 4);
  f.app_cookie = "A1B2C3D4E5";
  const RequestDecision d = fx.decide(*v, f);
  CHECK(d.reason == PinReason::Learned);
  CHECK(name_of(*v, d) == "s3");
}

TEST_CASE("When HAProxy serves elsewhere than the agent said, the table follows", "[persist_engine]") {
  Fixture fx;
  auto v = fx.engine->make_view(make_set(three_up(), 1));
  const RequestDecision d = fx.decide(*v, tci("203.0.113.77"));
  const std::string picked = name_of(*v, d);
  const std::string other = picked == "s1" ? "s2" : "s1";
  ResponseFacts rf;
  rf.served = other;
  rf.picked = picked;
  rf.kind = d.identity.kind;
  std::vector<std::uint8_t> key(d.identity.key.begin(), d.identity.key.end());
  rf.key = Bytes(key.data(), key.size());
  const ResponseOutcome out = fx.learn(rf, *v, kNow);
  CHECK(out.writes.count() == 1);
  CHECK(fx.counters.followed_redispatch == 1);
  CHECK(name_of(*v, fx.decide(*v, tci("203.0.113.77"))) == other);
}

TEST_CASE("A move seen only on the response (fast path: the agent was not asked) is learned by identity",
          "[persist_engine]") {
  Fixture fx(true);
  auto v = fx.engine->make_view(make_set(three_up(), 1));
  const RequestDecision d = fx.decide(*v, tci("203.0.113.78"));
  const std::string picked = name_of(*v, d);
  const std::string other = picked == "s1" ? "s2" : "s1";
  std::array<std::uint8_t, kIdentityKeyCapacity> buf{};
  // The response carries the request's facts, not the agent's token: identify() must key the
  // client exactly as decide() did (the agent cookie left aside: it names a server, not an entry).
  const Identity id = fx.engine->identify(tci("203.0.113.78"), kNow, buf, fx.counters);
  REQUIRE(id.kind == d.identity.kind);
  CHECK(std::vector<std::uint8_t>(id.key.begin(), id.key.end()) ==
        std::vector<std::uint8_t>(d.identity.key.begin(), d.identity.key.end()));
  ResponseFacts rf;
  rf.served = other;
  rf.kind = id.kind;
  rf.key = id.key;
  const ResponseOutcome out = fx.learn(rf, *v, kNow);
  CHECK(out.writes.count() == 1);
  CHECK(name_of(*v, fx.decide(*v, tci("203.0.113.78"))) == other);
  // From outside the CDN ranges the header is not believed, exactly as on the request.
  ClientFacts spoofed = tci("203.0.113.78");
  spoofed.source = Bytes(kHome, 4);
  CHECK(fx.engine->identify(spoofed, kNow, buf, fx.counters).kind == IdentityKind::Source);
}

TEST_CASE("Identity tokens round trip and reject anything else", "[persist_engine]") {
  const std::uint8_t ip[4] = {203, 0, 113, 2};
  char buf[64];
  const std::size_t n = format_identity_token(IdentityKind::TrueClientIp, Bytes(ip, 4), buf);
  CHECK(std::string_view(buf, n) == "3cb007102");
  std::array<std::uint8_t, 16> kb{};
  IdentityKind kind{};
  Bytes key;
  REQUIRE(parse_identity_token("3cb007102", kind, kb, key));
  CHECK(kind == IdentityKind::TrueClientIp);
  CHECK(std::vector<std::uint8_t>(key.begin(), key.end()) == std::vector<std::uint8_t>{203, 0, 113, 2});
  for (const char* bad : {"", "3", "3c", "9cb007102", "0cb007102", "3cb00710Z", "3CB007102",
                          "5000102030405060708090a0b0c0d0e0f1011"})
    CHECK_FALSE(parse_identity_token(bad, kind, kb, key));
}

// The shared store's answer is an input to decide(), beside the local pin.
PinAnswer with_shared(Fixture& fx, const RequestStart& s, const StickyEntry& shared, bool lapsed) {
  PinAnswer a = fx.pins.lookup(s.query, kNow);
  a.asked_shared = true;
  a.shared = shared;
  a.lapsed = lapsed;
  return a;
}

TEST_CASE("The shared store's pin is merged by version and age, or wins outright over a lapsed one",
          "[persist_engine]") {
  Fixture fx;
  auto v = fx.engine->make_view(make_set(three_up(), 1));
  const RequestDecision mine = fx.decide(*v, tci("203.0.113.90"), kNow);
  const std::string other = name_of(*v, mine) == "s1" ? "s2" : "s1";
  StickyEntry winner;
  winner.server_id = fx.registry.intern("app", other);
  winner.created_ms = kNow - 5000;  // written earlier, same version: loses a plain merge
  winner.last_seen_ms = kNow - 5000;
  winner.expires_ms = winner.last_seen_ms + 60'000;  // not refreshed since: seen 5 s before ours
  winner.last_synced_ms = kNow;
  winner.version = 1;

  const RequestStart s = fx.engine->start(tci("203.0.113.90"), *v, kNow, fx.key, fx.counters);
  PinWrites w;
  const RequestDecision kept = fx.engine->decide(s, with_shared(fx, s, winner, false), *v, kNow, fx.counters, w);
  CHECK(name_of(*v, kept) == name_of(*v, mine));
  REQUIRE(w.count() == 1);  // offered to the table anyway, which keeps ours by the same rule
  CHECK(w[0].type == PinWrite::Type::Adopt);
  CHECK_FALSE(w[0].authoritative);
  fx.pins.record(w.span(), kNow);
  CHECK(name_of(*v, fx.decide(*v, tci("203.0.113.90"), kNow)) == name_of(*v, mine));

  PinWrites w2;
  const RequestDecision replaced = fx.engine->decide(s, with_shared(fx, s, winner, true), *v, kNow, fx.counters, w2);
  CHECK(name_of(*v, replaced) == other);
  CHECK(replaced.reason == PinReason::ClientIp);
  CHECK_FALSE(replaced.refresh_due);  // it came from the store: nothing to write back
  REQUIRE(w2.count() == 1);
  CHECK(w2[0].authoritative);
  fx.pins.record(w2.span(), kNow);
  CHECK(name_of(*v, fx.decide(*v, tci("203.0.113.90"), kNow)) == other);
}

TEST_CASE("A shared pin whose server cannot take the client is adopted, then the client moves", "[persist_engine]") {
  Fixture fx;
  auto servers = three_up();
  servers[2].state = ServerState::Down;
  auto v = fx.engine->make_view(make_set(servers, 1));
  StickyEntry theirs;
  theirs.server_id = fx.registry.intern("app", "s3");
  theirs.created_ms = theirs.last_seen_ms = kNow - 1000;
  theirs.expires_ms = kNow + 59'000;
  theirs.version = 4;
  const RequestStart s = fx.engine->start(tci("203.0.113.91"), *v, kNow, fx.key, fx.counters);
  PinWrites w;
  const RequestDecision d = fx.engine->decide(s, with_shared(fx, s, theirs, false), *v, kNow, fx.counters, w);
  CHECK(d.reason == PinReason::Moved);
  CHECK(name_of(*v, d) != "s3");
  CHECK(d.version == 5);  // the move outranks the adopted pin everywhere
  REQUIRE(w.count() == 2);
  CHECK(w[0].type == PinWrite::Type::Adopt);
  CHECK(w[1].type == PinWrite::Type::Move);
  fx.pins.record(w.span(), kNow);
  const std::optional<StickyEntry> e = fx.pins.peek(s.query.key, kNow);
  REQUIRE(e);
  CHECK(e->version == 5);
  // An expired shared pin is no pin: the client is placed as new.
  theirs.expires_ms = kNow - 1;
  const RequestStart s2 = fx.engine->start(tci("203.0.113.92"), *v, kNow, fx.key, fx.counters);
  PinWrites w3;
  CHECK(fx.engine->decide(s2, with_shared(fx, s2, theirs, false), *v, kNow, fx.counters, w3).reason == PinReason::New);
  CHECK(w3.count() == 1);
}

TEST_CASE("The longest app cookie the resolver accepts is pinned; one byte more is refused and counted",
          "[persist_engine]") {
  Fixture fx;
  auto v = fx.engine->make_view(make_set(three_up(), 1));
  ClientFacts f = tci("203.0.113.5");
  const std::string longest(kIdentityKeyCapacity, 'j');
  f.app_cookie = longest;
  const RequestDecision first = fx.decide(*v, f);
  CHECK(first.identity.kind == IdentityKind::AppCookie);
  CHECK(first.table_written);
  CHECK(fx.counters.table_full == 0);
  CHECK(fx.decide(*v, f).reason == PinReason::Learned);
  const std::string too_long(kIdentityKeyCapacity + 1, 'j');
  f.app_cookie = too_long;
  CHECK(fx.decide(*v, f).identity.kind == IdentityKind::TrueClientIp);
  CHECK(fx.counters.identity.app_cookie_too_long == 1);
}

TEST_CASE("Re-issued cookies keep their first issue time, so max_life ends an active client's cookie",
          "[persist_engine]") {
  Fixture fx(true);  // max_idle 1 h (re-issue after 15 min), max_life 24 h
  auto v = fx.engine->make_view(make_set(three_up(), 1));
  ClientFacts f;
  f.source = Bytes(kHome, 4);
  const RequestDecision first = fx.decide(*v, f);
  const std::string first_server = name_of(*v, first);
  ResponseFacts rf;
  rf.served = rf.picked = first_server;
  std::string value = [&] {
    const std::string sc(fx.learn(rf, *v, kNow).set_cookie);
    return sc.substr(7, sc.find(';') - 7);
  }();
  // A visit every 20 minutes: each one is due a refresh, which carries the issue time along.
  std::int64_t t = kNow;
  std::int64_t last_cookie_visit = 0;
  for (int visit = 1; visit <= 90; ++visit) {
    t += 20 * 60 * 1000;
    ClientFacts with_cookie;
    with_cookie.source = Bytes(kEdge, 4);
    with_cookie.agent_cookie = value;
    const RequestDecision d = fx.decide(*v, with_cookie, t);
    if (d.reason != PinReason::Cookie) break;
    last_cookie_visit = t;
    REQUIRE_FALSE(d.cookie_ok);
    const std::string server = name_of(*v, d);
    ResponseFacts again;
    again.served = again.picked = server;
    again.cookie_issued = d.identity.cookie.issued;
    const std::string sc(fx.learn(again, *v, t).set_cookie);
    REQUIRE_FALSE(sc.empty());
    value = sc.substr(7, sc.find(';') - 7);
  }
  CHECK(last_cookie_visit >= kNow + 23 * 3600 * 1000LL);  // honoured for the whole day...
  CHECK(last_cookie_visit <= kNow + 24 * 3600 * 1000LL);  // ...and not one visit beyond max_life
  CHECK(fx.counters.identity.agent_cookie_rejected[static_cast<std::size_t>(CookieStatus::Expired)] == 1);
}

TEST_CASE("A shared pin not written to the store for a whole TTL asks the store again", "[persist_engine]") {
  // Hits slide the local pin; store refreshes go out at most every TTL/2. A client last seen just
  // before a refresh was due outlives its Redis copy: the next hit must ask the store (lapsed) so
  // the store's current answer, possibly another agent's pin, decides.
  StickyTable table{StickyTableOptions{1 << 12, 4}};
  ServerRegistry registry;
  PersistOptions o;
  o.name = "app";
  o.ttl_ms = 60'000;
  o.shared = true;
  o.identity.order = {IdentityKind::TrueClientIp, IdentityKind::Source};
  o.identity.order_len = 2;
  o.identity.cdn_ranges.add(parse_cidr("10.0.0.0/8").cidr);
  PersistEngine engine(std::move(o), nullptr, registry);
  auto v = engine.make_view(make_set(three_up(), 1));
  PersistCounters counters;
  std::array<std::uint8_t, kIdentityKeyCapacity> key{};
  const ClientFacts f = tci("203.0.113.61");
  // What the shared store does around the engine: the table's answer with Redis reachable, the
  // shared pin when it was asked, and every write marked as sent.
  PinAnswer last;
  auto run = [&](std::int64_t now, std::optional<StickyEntry> shared = std::nullopt) {
    const RequestStart s = engine.start(f, *v, now, key, counters);
    last = store::local_answer(table, s.query, now, true);
    if (last.ask_shared) {
      last.asked_shared = true;
      last.shared = shared;
    }
    PinWrites w;
    const RequestDecision d = engine.decide(s, last, *v, now, counters, w);
    for (const PinWrite& x : w.span()) LocalPins::apply_local(table, x, now, x.type != PinWrite::Type::Adopt);
    return d;
  };

  const RequestDecision first = run(kNow);  // a miss: the store was asked and had nothing
  REQUIRE(first.table_written);             // pinned and written to the store at kNow
  const RequestDecision before_refresh = run(kNow + 29'000);
  CHECK_FALSE(last.ask_shared);  // a plain hit: under TTL/2 since the write, no refresh
  CHECK_FALSE(before_refresh.refresh_due);
  const RequestDecision after = run(kNow + 61'000);  // still pinned locally (slid)...
  CHECK(last.ask_shared);  // ...but the store's copy expired at kNow + 60 s
  CHECK(last.lapsed);
  CHECK(after.server == first.server);  // the store had nothing: ours stands
  CHECK(after.refresh_due);             // and is rewritten to the store, which marks it synced
  run(kNow + 62'000);
  CHECK_FALSE(last.ask_shared);

  // Lapsed again, and this time another agent pinned the client meanwhile: its pin decides.
  const std::string other = name_of(*v, first) == "s1" ? "s2" : "s1";
  StickyEntry theirs;
  theirs.server_id = registry.intern("app", other);
  theirs.created_ms = theirs.last_seen_ms = kNow + 100'000;
  theirs.expires_ms = kNow + 160'000;
  theirs.last_synced_ms = kNow + 121'000;
  theirs.version = 1;
  run(kNow + 90'000);  // a hit under TTL/2 since the last write: slides, nothing written
  CHECK_FALSE(last.ask_shared);
  CHECK(name_of(*v, run(kNow + 121'000, theirs)) == other);
  CHECK(last.lapsed);
  CHECK(name_of(*v, run(kNow + 122'000)) == other);
  CHECK_FALSE(last.ask_shared);
}
