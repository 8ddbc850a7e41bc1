// Pins every Route field for 60,000 generated requests across tiers, query modes and outages.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "base/hash.h"
#include "hsaf/router.h"
#include "hsaf/split_mix.h"
#include "hsaf_test_support.h"

using namespace sticky::hsaf;
using sticky::model::ServerSet;
using sticky::model::ServerSetPtr;
using sticky::model::ServerState;

namespace {

// Order-sensitive fold of values into one 64-bit digest.
struct Digest {
  std::uint64_t value = 0;
  void add(std::uint64_t v) { value = sticky::fmix64(value ^ v) + 0x9e3779b97f4a7c15ULL; }
  void add(std::string_view s) { add(sticky::stable_hash64(s, s.size())); }
};

void add_route(Digest& d, const Route& r) {
  d.add(static_cast<std::uint64_t>(r.status));
  d.add(r.serial1);
  d.add(r.serial2);
  d.add(r.has_serial2);
  d.add(r.bucket);
  d.add(r.hop_count);
  d.add(r.other_region_first);
  d.add(static_cast<std::uint64_t>(r.overflow));
  for (int i = 0; i < r.hop_count; ++i) {
    const Hop& h = r.hops[i];
    d.add(h.region);
    d.add(h.backend);
    d.add(h.peer);
    d.add(static_cast<std::uint64_t>(static_cast<std::int64_t>(h.peer_index)));
    d.add(h.serial);
    d.add(h.via_overflow);
  }
}

void add_counters(Digest& d, const HsafCounters& c) {
  for (std::uint64_t v : {c.routed, c.bad_input, c.no_peer, c.overflow_first_hop, c.overflow_second_hop,
                          c.hop_dropped, c.first_hop_other_region})
    d.add(v);
}

ServerSetPtr set_of(const std::string& backend, int n, std::vector<std::uint32_t> weights, int down_mask) {
  ServerSet s = testing::make_set(backend, n, std::move(weights));
  for (int i = 0; i < n; ++i)
    if (down_mask >> i & 1) s.servers[static_cast<std::size_t>(i)].state = ServerState::Down;
  return std::make_shared<const ServerSet>(std::move(s));
}

// Random request text: mixed case, digits, separators, non-ASCII, all the URL shapes the normaliser knows.
std::string random_text(SplitMix64& rng, std::size_t max_len) {
  static constexpr char kAlphabet[] = "abcXYZ019-._~/%=&?#\xC3\xA9Q";
  const std::size_t n = rng.next() % (max_len + 1);
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += kAlphabet[rng.next() % (sizeof kAlphabet - 1)];
  return s;
}

std::string random_target(SplitMix64& rng) {
  std::string t;
  switch (rng.next() % 6) {
    case 0: t = "http://Cdn.Example.COM"; break;
    case 1: t = "HTTPS://h" + random_text(rng, 6); break;
    default: break;
  }
  if (rng.next() % 8 != 0) t += "/" + random_text(rng, 90);
  if (rng.next() % 2 == 0) {
    t += "?";
    static const char* const kNames[] = {"id", "lang", "utm", "i", "ID", "langx"};
    const std::uint64_t params = rng.next() % 5;
    for (std::uint64_t p = 0; p < params; ++p) {
      if (p) t += "&";
      t += kNames[rng.next() % 6];
      if (rng.next() % 4) t += "=" + random_text(rng, 8);
    }
  }
  if (rng.next() % 10 == 0) t += "#frag" + random_text(rng, 4);
  return t;
}

struct Case {
  const char* name;
  HsafConfig cfg;
  HsafBackends backends;
  std::uint64_t pinned;
};

HsafConfig base_config(Tier tier, QueryMode q, std::vector<std::string> params, bool lower_path, bool overflow) {
  HsafConfig c;
  c.tier = tier;
  c.url.query = q;
  c.url.params = std::move(params);
  c.url.lowercase_path = lower_path;
  c.serials = {100, 500};
  c.serials2 = {600, 1000};
  c.region = {"eu-west", "be_west"};
  if (tier == Tier::Parent) c.other_region = {"eu-central", "be_central"};
  if (overflow) c.overflow = {"us-east", "be_us"};
  return c;
}

}  // namespace

// The digests were taken from the Router before the issue-5 speed-ups (per-hop resolve at request time);
// any optimisation must keep serials, buckets, hop order, peers, overflow flags and counters identical.
TEST_CASE("route results for generated requests match the pinned digests", "[router][golden]") {
  const std::vector<std::uint32_t> w1{1}, w4{1, 2, 3, 4};
  const std::vector<Case> cases = {
      {"edge keep", base_config(Tier::Edge, QueryMode::Keep, {}, false, false),
       {set_of("be_west", 8, w1, 0), nullptr, nullptr}, 0xc2a2bead61bb89e7ULL},
      {"edge drop, lowercase path, region down -> overflow",
       base_config(Tier::Edge, QueryMode::Drop, {}, true, true),
       {set_of("be_west", 5, w1, 0x1f), nullptr, set_of("be_us", 7, w4, 0x2)}, 0x664326d0c94f90e4ULL},
      {"edge params, weighted, some peers down",
       base_config(Tier::Edge, QueryMode::Params, {"id", "lang"}, false, true),
       {set_of("be_west", 12, w4, 0x105), nullptr, set_of("be_us", 3, w1, 0)}, 0x9e6531034c606d60ULL},
      {"parent keep, healthy, overflow configured", base_config(Tier::Parent, QueryMode::Keep, {}, false, true),
       {set_of("be_west", 16, w1, 0), set_of("be_central", 6, w4, 0), set_of("be_us", 4, w1, 0)},
       0xfa34798ee84fde5cULL},
      {"parent params, lowercase path, region down",
       base_config(Tier::Parent, QueryMode::Params, {"lang", "id", "utm"}, true, true),
       {set_of("be_west", 8, w1, 0xff), set_of("be_central", 6, w1, 0x1), set_of("be_us", 4, w4, 0)},
       0xc5450a198182cd08ULL},
      {"parent drop, other region down", base_config(Tier::Parent, QueryMode::Drop, {}, false, true),
       {set_of("be_west", 8, w4, 0x10), set_of("be_central", 6, w1, 0x3f), set_of("be_us", 4, w1, 0)},
       0x950501bd23b93abaULL},
      {"parent, both regions down -> one overflow hop", base_config(Tier::Parent, QueryMode::Keep, {}, false, true),
       {set_of("be_west", 3, w1, 0x7), set_of("be_central", 2, w1, 0x3), set_of("be_us", 5, w4, 0)},
       0x43fc01ea6238c5ccULL},
      {"parent, no overflow, one region down -> hop dropped",
       base_config(Tier::Parent, QueryMode::Keep, {}, false, false),
       {set_of("be_west", 3, w1, 0x7), set_of("be_central", 9, w4, 0), nullptr}, 0xaf3b2793f8a9ad5aULL},
      {"parent, nothing usable -> no peer", base_config(Tier::Parent, QueryMode::Keep, {}, false, true),
       {set_of("be_west", 3, w1, 0x7), set_of("be_central", 2, w1, 0x3), set_of("be_us", 2, w1, 0x3)},
       0x381538108e35ac2ULL},
  };
  for (const Case& tc : cases) {
    INFO(tc.name);
    RouterBuild b = Router::build(tc.cfg, tc.backends);
    INFO((b.errors.empty() ? std::string() : b.errors[0]));
    REQUIRE(b.router);
    const Router& router = *b.router;
    SplitMix64 rng(0x601d);
    HsafCounters k;
    Digest d;
    for (int i = 0; i < 5000; ++i) {
      const std::string host = rng.next() % 7 == 0 ? std::string() : random_text(rng, 30);
      const std::string target = random_target(rng);
      const std::uint64_t coin = rng.next();
      add_route(d, router.route_url(host, target, coin, k));
      const std::string custom = random_text(rng, 40);
      add_route(d, router.route_custom(custom, rng.next(), k));
      const std::uint64_t h1 = rng.next(), h2 = rng.next();
      add_route(d, router.route_hashes(h1, h2, rng.next(), k));
    }
    add_counters(d, k);
    CHECK(d.value == tc.pinned);
  }
}
