// Router: serials and buckets, hop order from the coin, even region split, overflow, bad input, no allocation.
#include <catch2/catch.hpp>

#include <cmath>

#include "base/hash.h"
#include "hsaf/router.h"
#include "hsaf/split_mix.h"
#include "alloc_counter.h"
#include "hsaf_test_support.h"

using namespace sticky::hsaf;
using sticky::model::ServerSet;
using sticky::model::ServerSetPtr;
using sticky::model::ServerState;
using testing::make_set;

namespace {
constexpr std::uint64_t kRegionFirst = 0;                // top bit clear
constexpr std::uint64_t kOtherFirst = 1ULL << 63;        // top bit set

HsafConfig parent_config() {
  HsafConfig c;
  c.tier = Tier::Parent;
  c.serials = {100, 500};
  c.serials2 = {600, 1000};
  c.region = {"eu-west", "be_west"};
  c.other_region = {"eu-central", "be_central"};
  c.overflow = {"us-east", "be_us"};
  return c;
}

ServerSetPtr set_of(const std::string& backend, int n, bool all_down = false) {
  ServerSet s = make_set(backend, n);
  if (all_down)
    for (auto& srv : s.servers) srv.state = ServerState::Down;
  return std::make_shared<const ServerSet>(std::move(s));
}

std::shared_ptr<const Router> build_ok(const HsafConfig& c, const HsafBackends& b) {
  RouterBuild r = Router::build(c, b);
  INFO((r.errors.empty() ? std::string() : r.errors[0]));
  REQUIRE(r.router);
  return r.router;
}

HsafBackends healthy() { return {set_of("be_west", 8), set_of("be_central", 6), set_of("be_us", 4)}; }
}  // namespace

TEST_CASE("edge tier: one serial from the normalised URL picks the local peer", "[router]") {
  HsafConfig c;
  c.region = {"eu-west", "be_west"};
  const auto set = set_of("be_west", 8);
  const auto router = build_ok(c, {set, nullptr, nullptr});
  HsafCounters k;
  const Route r = router->route_url("Example.COM", "/index.html", kOtherFirst, k);
  REQUIRE(r.status == RouteStatus::Ok);
  CHECK(r.serial1 == 137);  // pinned: serial of "example.com/index.html" in 100..500
  CHECK_FALSE(r.has_serial2);
  CHECK(r.bucket == 37);
  CHECK_FALSE(r.other_region_first);
  REQUIRE(r.hop_count == 1);
  CHECK(r.hops[0].region == "eu-west");
  CHECK(r.hops[0].backend == "be_west");
  CHECK(r.hops[0].peer_index == router->region_table().peer_of(137));
  CHECK(r.hops[0].peer == set->servers[static_cast<std::size_t>(r.hops[0].peer_index)].name);
  CHECK(r.overflow == Overflow::None);
  CHECK(k.routed == 1);
}

TEST_CASE("parent tier: two serials, combined bucket, and the coin sets the hop order", "[router]") {
  const auto router = build_ok(parent_config(), healthy());
  HsafCounters k;
  const Route a = router->route_url("example.com", "/index.html", kRegionFirst, k);
  REQUIRE(a.status == RouteStatus::Ok);
  CHECK(a.serial1 == 137);
  CHECK(a.serial2 == 822);
  CHECK(a.bucket == (137 - 100) * 401 + (822 - 600));
  REQUIRE(a.hop_count == 2);
  CHECK(a.hops[0].region == "eu-west");
  CHECK(a.hops[0].serial == 137);
  CHECK(a.hops[1].region == "eu-central");
  CHECK(a.hops[1].serial == 822);

  const Route b = router->route_url("example.com", "/index.html", kOtherFirst, k);
  CHECK(b.other_region_first);
  REQUIRE(b.hop_count == 2);
  // Same peers per region whichever region comes first, so each region caches the object once.
  CHECK(b.hops[0].region == "eu-central");
  CHECK(b.hops[0].peer == a.hops[1].peer);
  CHECK(b.hops[1].peer == a.hops[0].peer);
  CHECK(k.first_hop_other_region == 1);
}

TEST_CASE("a custom extracted value is hashed like a URL would be", "[router]") {
  const auto router = build_ok(parent_config(), healthy());
  HsafCounters k;
  const Route r = router->route_custom("session-group-17", 0, k);
  CHECK(r.serial1 == serial_of(sticky::stable_hash64("session-group-17", kSerialSeed1), SerialRange{100, 500}));
  CHECK(r.serial2 == serial_of(sticky::stable_hash64("session-group-17", kSerialSeed2), SerialRange{600, 1000}));
}

TEST_CASE("a seeded coin splits first hops evenly between the two regions", "[router]") {
  const auto router = build_ok(parent_config(), healthy());
  HsafCounters k;
  SplitMix64 rng(2024);
  constexpr int kRequests = 200000;
  int other_first = 0;
  for (int i = 0; i < kRequests; ++i) {
    const Route r = router->route_hashes(rng.next(), rng.next(), rng.next(), k);
    other_first += r.other_region_first;
  }
  // Binomial(n, 1/2): within 3.29 standard deviations (two-sided p = 0.001).
  const double sd = std::sqrt(kRequests * 0.25);
  CHECK(std::abs(other_first - kRequests / 2.0) < 3.29 * sd);
  CHECK(k.first_hop_other_region == static_cast<std::uint64_t>(other_first));
}

TEST_CASE("a region with no usable peer is replaced by the overflow region", "[router]") {
  HsafBackends b = healthy();
  b.region = set_of("be_west", 8, /*all_down=*/true);
  const auto router = build_ok(parent_config(), b);
  HsafCounters k;
  const Route first = router->route_url("example.com", "/x", kRegionFirst, k);
  REQUIRE(first.hop_count == 2);
  CHECK(first.hops[0].region == "us-east");
  CHECK(first.hops[0].via_overflow);
  CHECK(first.hops[1].region == "eu-central");
  CHECK(first.overflow == Overflow::FirstHop);
  CHECK(overflow_reason(first.overflow) == "first-hop region has no usable peer; overflow region used");

  const Route second = router->route_url("example.com", "/x", kOtherFirst, k);
  REQUIRE(second.hop_count == 2);
  CHECK(second.hops[0].region == "eu-central");
  CHECK(second.hops[1].region == "us-east");
  CHECK(second.overflow == Overflow::SecondHop);
  CHECK(second.hops[1].peer == first.hops[0].peer);  // overflow uses the replaced region's serial
  CHECK(k.overflow_first_hop == 1);
  CHECK(k.overflow_second_hop == 1);
}

TEST_CASE("when both regions are empty the overflow region serves a single hop", "[router]") {
  HsafBackends b = healthy();
  b.region = set_of("be_west", 8, true);
  b.other_region = set_of("be_central", 6, true);
  const auto router = build_ok(parent_config(), b);
  HsafCounters k;
  const Route r = router->route_url("example.com", "/x", kOtherFirst, k);
  REQUIRE(r.status == RouteStatus::Ok);
  REQUIRE(r.hop_count == 1);
  CHECK(r.hops[0].region == "us-east");
  CHECK(r.hops[0].serial == r.serial2);  // other_region came first, so its serial set is used
  CHECK(r.overflow == Overflow::BothHops);
  CHECK(k.hop_dropped == 1);
}

TEST_CASE("without a usable peer anywhere the route says so", "[router]") {
  HsafConfig c = parent_config();
  c.overflow = {};
  HsafBackends b{set_of("be_west", 3, true), set_of("be_central", 2), nullptr};
  const auto router = build_ok(c, b);
  HsafCounters k;
  Route r = router->route_url("example.com", "/x", kRegionFirst, k);
  REQUIRE(r.status == RouteStatus::Ok);
  REQUIRE(r.hop_count == 1);  // the empty region's hop is dropped, not invented
  CHECK(r.hops[0].region == "eu-central");
  CHECK(k.hop_dropped == 1);

  b.other_region = set_of("be_central", 2, true);
  const auto none = build_ok(c, b);
  r = none->route_url("example.com", "/x", kRegionFirst, k);
  CHECK(r.status == RouteStatus::NoPeer);
  CHECK(r.hop_count == 0);
  CHECK(k.no_peer == 1);
}

TEST_CASE("empty serial input is a bad-input result, counted", "[router]") {
  const auto router = build_ok(parent_config(), healthy());
  HsafCounters k;
  CHECK(router->route_url("", "", 0, k).status == RouteStatus::BadInput);
  CHECK(router->route_custom("", 0, k).status == RouteStatus::BadInput);
  CHECK(k.bad_input == 2);
  CHECK(k.routed == 0);
  CHECK(route_status_name(RouteStatus::BadInput) == "bad-input");
}

TEST_CASE("build rejects missing or mismatched server sets and invalid config", "[router]") {
  HsafBackends b = healthy();
  b.other_region = set_of("be_wrong", 2);
  RouterBuild r = Router::build(parent_config(), b);
  CHECK_FALSE(r.router);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == "server set for 'be_central' is for backend 'be_wrong'");

  b = healthy();
  b.overflow = nullptr;
  r = Router::build(parent_config(), b);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == "no server set was supplied for backend 'be_us'");

  HsafConfig c = parent_config();
  c.serials2 = {400, 800};
  r = Router::build(c, healthy());
  CHECK_FALSE(r.router);
  CHECK(r.errors.size() == 1);
}

TEST_CASE("the normalised input can be previewed into a caller buffer", "[router]") {
  HsafConfig c = parent_config();
  c.url.query = QueryMode::Params;
  c.url.params = {"id"};
  const auto router = build_ok(c, healthy());
  char buf[64];
  const CharBufferSink s = router->normalized("Shop.Example", "/Item?utm=1&id=7", buf);
  CHECK(s.fits());
  CHECK(s.view() == "shop.example/Item?id=7");
}

TEST_CASE("routing allocates nothing", "[router]") {
  HsafConfig c = parent_config();
  c.url.query = QueryMode::Params;
  c.url.params = {"id", "lang"};
  c.url.lowercase_path = true;
  HsafBackends b = healthy();
  b.region = set_of("be_west", 8, true);  // include the overflow path
  const auto router = build_ok(c, b);
  HsafCounters k;
  SplitMix64 rng(7);
  if (!testing::kCountingAllocations) {
    WARN("allocation counting is off in sanitizer builds; the ordinary build checks this");
    return;
  }
  const std::uint64_t before = testing::allocation_count();
  std::uint64_t sink = 0;
  for (int i = 0; i < 1000; ++i) {
    const Route r = router->route_url("Shop.Example", "/Catalog/Item?lang=en&utm=x&id=42", rng.next(), k);
    sink += r.bucket + r.hops[0].peer.size();
    sink += router->route_custom("custom-value", rng.next(), k).serial1;
  }
  CHECK(testing::allocation_count() == before);
  CHECK(sink > 0);
  CHECK(k.routed == 2000);
}
