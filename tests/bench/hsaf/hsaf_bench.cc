// Prints HSAF numbers: routing rate on one core, table balance and movement, and origin fetches on a Zipf workload.
#include <algorithm>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/hash.h"
#include "hsaf/assignment.h"
#include "hsaf/router.h"
#include "hsaf/split_mix.h"

using namespace sticky::hsaf;
using sticky::model::ServerSet;
using sticky::model::ServerSetPtr;
using sticky::model::ServerState;

namespace {

// CPU time of this thread: the machine is shared, so wall time would count other processes' turns.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

ServerSet make_set(const std::string& backend, int n, const std::vector<std::uint32_t>& weights) {
  ServerSet s;
  s.backend = backend;
  for (int i = 0; i < n; ++i)
    s.servers.push_back({"cache-" + std::to_string(i), weights[static_cast<std::size_t>(i) % weights.size()],
                         ServerState::Up});
  return s;
}

std::vector<std::string> peer_names(const AssignmentTable& t, const ServerSet& s) {
  std::vector<std::string> out;
  for (std::uint32_t v = t.range().min; v <= t.range().max; ++v) {
    const std::int32_t p = t.peer_of(v);
    out.push_back(p < 0 ? "" : s.servers[static_cast<std::size_t>(p)].name);
  }
  return out;
}

double max_over_share(const AssignmentTable& t, const ServerSet& s) {
  double total = 0, worst = 0;
  for (const auto& srv : s.servers) total += srv.accepts_new() ? srv.weight : 0;
  for (std::size_t i = 0; i < s.servers.size(); ++i)
    if (s.servers[i].accepts_new())
      worst = std::max(worst, t.loads()[i] / (t.range().count() * s.servers[i].weight / total));
  return worst;
}

// The routers and inputs of the throughput modes; URLs are built once so the loops only route.
struct ThroughputFixture {
  std::shared_ptr<const Router> edge;
  std::shared_ptr<const Router> parent;
  std::vector<std::string> longs, shorts, customs;
  std::vector<std::uint64_t> hashes;  // pairs (h1, h2)
  static constexpr const char* kLongHost = "www.example-shop.com";
  static constexpr const char* kShortHost = "cdn.example.com";
  static constexpr std::size_t kMask = 4095;

  ThroughputFixture() {
    HsafConfig c;
    c.tier = Tier::Parent;
    c.region = {"eu-west", "be_west"};
    c.other_region = {"eu-central", "be_central"};
    const auto west = std::make_shared<const ServerSet>(make_set("be_west", 16, {1}));
    const auto central = std::make_shared<const ServerSet>(make_set("be_central", 16, {1}));
    parent = Router::build(c, {west, central, nullptr}).router;
    HsafConfig e;
    e.region = c.region;
    edge = Router::build(e, {west, nullptr, nullptr}).router;
    SplitMix64 rng(42);
    for (std::size_t i = 0; i <= kMask; ++i) {
      longs.push_back("/assets/v2/catalog/item-" + std::to_string(i * 7919) + "/image.jpg?w=640&sig=ab" +
                      std::to_string(i));
      shorts.push_back("/img/" + std::to_string(i * 7919) + ".jpg");
      customs.push_back("tenant-" + std::to_string(i % 97) + "/session-" + std::to_string(i * 7919));
      hashes.push_back(rng.next());
      hashes.push_back(rng.next());
    }
  }
};

// What a caller reads from a route (both hops' peers and the bucket), so no part can be optimised away.
std::uint64_t consume(const Route& r) {
  return r.bucket + static_cast<std::uint64_t>(r.hops[0].peer_index) + r.hops[0].peer.size() +
         (r.hop_count > 1 ? r.hops[1].peer.size() : 0);
}

struct Mode {
  const char* key;    // for `hsaf_bench count <key> N`
  const char* label;
};
constexpr Mode kModes[] = {
    {"edge-long", "edge, long URL: normalise+hash, serial, peer"},
    {"edge-short", "edge, short URL"},
    {"parent-long", "parent, long URL: 2 serials, bucket, 2 hops, coin"},
    {"parent-short", "parent, short URL"},
    {"custom", "parent, custom value (2 hashes, 2 hops)"},
    {"hashes", "parent, hashes given (serials + peers only)"},
};

// Routes n requests of one mode; the coin comes from a SplitMix64 as in the agent.
std::uint64_t run_mode(const ThroughputFixture& f, std::size_t mode, std::uint64_t n, SplitMix64& rng,
                       HsafCounters& k) {
  std::uint64_t sink = 0;
  auto urls = [&](const Router& r, const std::vector<std::string>& t, const char* host) {
    for (std::uint64_t i = 0; i < n; ++i) sink += consume(r.route_url(host, t[i & f.kMask], rng.next(), k));
  };
  switch (mode) {
    case 0: urls(*f.edge, f.longs, f.kLongHost); break;
    case 1: urls(*f.edge, f.shorts, f.kShortHost); break;
    case 2: urls(*f.parent, f.longs, f.kLongHost); break;
    case 3: urls(*f.parent, f.shorts, f.kShortHost); break;
    case 4:
      for (std::uint64_t i = 0; i < n; ++i)
        sink += consume(f.parent->route_custom(f.customs[i & f.kMask], rng.next(), k));
      break;
    case 5:
      for (std::uint64_t i = 0; i < n; ++i) {
        const std::size_t j = 2 * (i & f.kMask);
        sink += consume(f.parent->route_hashes(f.hashes[j], f.hashes[j + 1], rng.next(), k));
      }
      break;
    default: break;
  }
  return sink;
}

// (1) Serial + peer computations per second on one core, median of rounds.
void bench_throughput(int rounds) {
  rounds = std::max(rounds, 1);
  const ThroughputFixture f;
  std::printf("(1) routes per second on one core (thread CPU time, median of %d rounds of 2M)\n"
              "    long:  '%s' + '%s' (%zu bytes hashed)\n"
              "    short: '%s' + '%s' (%zu bytes hashed)\n    custom: '%s' (%zu bytes)\n",
              rounds, f.kLongHost, f.longs[1].c_str(), std::strlen(f.kLongHost) + f.longs[1].size(), f.kShortHost,
              f.shorts[1].c_str(), std::strlen(f.kShortHost) + f.shorts[1].size(), f.customs[1].c_str(),
              f.customs[1].size());
  HsafCounters k;
  SplitMix64 rng(1);
  // Rounds visit every mode in turn, so a slow phase of the shared machine hits all modes alike.
  constexpr std::size_t kModeCount = std::size(kModes);
  constexpr std::uint64_t kPerRound = 2000000;
  std::vector<double> rates[kModeCount];
  std::uint64_t sinks[kModeCount] = {};
  for (int round = 0; round < rounds; ++round) {
    for (std::size_t m = 0; m < kModeCount; ++m) {
      const double t0 = thread_cpu_seconds();
      sinks[m] += run_mode(f, m, kPerRound, rng, k);
      rates[m].push_back(double(kPerRound) / (thread_cpu_seconds() - t0));
    }
  }
  for (std::size_t m = 0; m < kModeCount; ++m) {
    std::vector<double>& r = rates[m];
    std::sort(r.begin(), r.end());
    std::printf("    %-12s %-50s median %6.2f M/s  (min %.2f, max %.2f)  [checksum %llu]\n", kModes[m].key,
                kModes[m].label, r[r.size() / 2] / 1e6, r.front() / 1e6, r.back() / 1e6,
                static_cast<unsigned long long>(sinks[m] % 1000));
  }
  std::printf("    instructions per route (exact, unlike these rates): tests/bench/hsaf/instructions.sh "
              "<hsaf_bench>\n");
}

// For instruction counts: routes n requests of one mode and nothing else, so under
// `valgrind --tool=callgrind` (count(n) - count(0)) / n is the instructions per route
// (tests/bench/hsaf/instructions.sh does this for every mode).
int count_mode(const std::string& key, std::uint64_t n) {
  const ThroughputFixture f;
  for (std::size_t m = 0; m < std::size(kModes); ++m) {
    if (key != kModes[m].key) continue;
    HsafCounters k;
    SplitMix64 rng(1);
    const std::uint64_t sink = run_mode(f, m, n, rng, k);
    std::printf("%s %llu routes [checksum %llu]\n", kModes[m].key, static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(sink % 1000));
    return 0;
  }
  std::fprintf(stderr, "usage: hsaf_bench count <mode> <n> (mode '%s' is unknown); modes:", key.c_str());
  for (const Mode& m : kModes) std::fprintf(stderr, " %s", m.key);
  std::fprintf(stderr, "\n");
  return 2;
}

// (2) Balance and movement of the serial -> peer table.
void bench_balance() {
  const SerialRange range{100, 500};
  std::printf("\n(2) serial->peer table over 401 serials (slack 8%%); moved = serials changing peer / the ideal\n"
              "    (ideal = the lost peer's own serials; target <= 1.2). down = peer DOWN (still configured);\n"
              "    removed = peer deleted from the server list. Worst and mean over every choice of lost peer.\n");
  std::printf("    %-3s %-9s %-12s %-22s %-22s %s\n", "N", "weights", "max/share", "down: worst / mean",
              "removed: worst / mean", "moved back on return");
  for (int n : {4, 8, 16}) {
    for (const std::vector<std::uint32_t>& w : {std::vector<std::uint32_t>{1}, std::vector<std::uint32_t>{1, 2, 3, 4}}) {
      const ServerSet s = make_set("be", n, w);
      const AssignmentTable t = build_assignment(s, range).table;
      const auto before = peer_names(t, s);
      double dw = 0, dm = 0, rw = 0, rm = 0, back_worst = 0;
      for (int v = 0; v < n; ++v) {
        const double ideal = std::max(1U, t.loads()[static_cast<std::size_t>(v)]);
        ServerSet down = s;
        down.servers[static_cast<std::size_t>(v)].state = ServerState::Down;
        const auto d = peer_names(build_assignment(down, range).table, down);
        ServerSet removed = s;
        removed.servers.erase(removed.servers.begin() + v);
        const auto r = peer_names(build_assignment(removed, range).table, removed);
        double md = 0, mr = 0;
        for (std::size_t i = 0; i < before.size(); ++i) {
          md += before[i] != d[i];
          mr += before[i] != r[i];
        }
        const auto again = peer_names(build_assignment(s, range).table, s);
        double mb = 0;
        for (std::size_t i = 0; i < before.size(); ++i) mb += r[i] != again[i];
        dw = std::max(dw, md / ideal);
        dm += md / ideal / n;
        rw = std::max(rw, mr / ideal);
        rm += mr / ideal / n;
        back_worst = std::max(back_worst, mb / ideal);
      }
      std::printf("    %-3d %-9s %-12.3f %5.3f / %-14.3f %5.3f / %-14.3f %.3f (removed case)\n", n,
                  w.size() == 1 ? "equal" : "1,2,3,4", max_over_share(t, s), dw, dm, rw, rm, back_worst);
    }
  }
}

// A fixed-capacity LRU of object ids; returns true on a hit.
class Lru {
 public:
  explicit Lru(std::size_t cap) : cap_(cap) { where_.reserve(cap * 2); }
  bool access(std::uint32_t id) {
    auto it = where_.find(id);
    if (it != where_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return true;
    }
    order_.push_front(id);
    where_[id] = order_.begin();
    if (order_.size() > cap_) {
      where_.erase(order_.back());
      order_.pop_back();
    }
    return false;
  }

 private:
  std::size_t cap_;
  std::list<std::uint32_t> order_;
  std::unordered_map<std::uint32_t, std::list<std::uint32_t>::iterator> where_;
};

// (3) Origin fetches on a Zipf workload: 8 cache peers, LRU of 5,000 objects each.
void bench_cache() {
  constexpr int kUrls = 100000, kRequests = 1000000, kPeers = 8, kCacheObjects = 5000;
  constexpr double kZipfS = 0.9;
  std::vector<double> cdf(kUrls);
  double acc = 0;
  for (int i = 0; i < kUrls; ++i) cdf[static_cast<std::size_t>(i)] = (acc += 1.0 / std::pow(i + 1.0, kZipfS));
  for (double& x : cdf) x /= acc;
  std::vector<std::string> urls;
  for (int i = 0; i < kUrls; ++i) urls.push_back("/media/" + std::to_string(static_cast<std::uint32_t>(i) * 2654435761U) + ".mp4");

  HsafConfig c;
  c.region = {"eu-west", "be_west"};
  const auto set = std::make_shared<const ServerSet>(make_set("be_west", kPeers, {1}));
  const auto router = Router::build(c, {set, nullptr, nullptr}).router;

  std::vector<Lru> hsaf(kPeers, Lru(kCacheObjects)), rr(kPeers, Lru(kCacheObjects)), mod(kPeers, Lru(kCacheObjects));
  std::uint64_t miss_hsaf = 0, miss_rr = 0, miss_mod = 0;
  SplitMix64 rng(99);
  HsafCounters k;
  for (int i = 0; i < kRequests; ++i) {
    const double u = double(rng.next() >> 11) * 0x1.0p-53;
    const auto id = static_cast<std::uint32_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
    const std::string& url = urls[std::min<std::size_t>(id, kUrls - 1)];
    const Route r = router->route_url("cdn.example.com", url, 0, k);
    miss_hsaf += !hsaf[static_cast<std::size_t>(r.hops[0].peer_index)].access(id);
    miss_rr += !rr[static_cast<std::size_t>(i % kPeers)].access(id);
    miss_mod += !mod[sticky::stable_hash64("cdn.example.com" + url, 0) % kPeers].access(id);
  }
  std::printf("\n(3) cache simulation: %d requests, %d URLs, Zipf s=%.1f, %d peers x LRU %d objects\n", kRequests,
              kUrls, kZipfS, kPeers, kCacheObjects);
  std::printf("    %-28s %10s %10s\n", "policy", "origin", "hit ratio");
  auto row = [&](const char* name, std::uint64_t m) {
    std::printf("    %-28s %10llu %9.1f%%\n", name, static_cast<unsigned long long>(m), 100.0 * (1.0 - double(m) / kRequests));
  };
  row("HSAF (401 serials -> peer)", miss_hsaf);
  row("round robin", miss_rr);
  row("URL hash modulo 8", miss_mod);
}

}  // namespace

// Usage: hsaf_bench [throughput [rounds]|balance|cache] (default: all three), or hsaf_bench count <mode> <n>.
int main(int argc, char** argv) {
  const std::string only = argc > 1 ? argv[1] : "";
  if (only == "count") return argc == 4 ? count_mode(argv[2], std::strtoull(argv[3], nullptr, 10)) : count_mode("", 0);
  if (only.empty() || only == "throughput") bench_throughput(argc > 2 && only == "throughput" ? std::atoi(argv[2]) : 7);
  if (only.empty() || only == "balance") bench_balance();
  if (only.empty() || only == "cache") bench_cache();
  return 0;
}
