// Benchmark: sticky table inserts/lookups per second and memory per entry; Maglev balance and disruption.
//
// Usage: table_bench [rounds] [max_entries]   (defaults: 3 rounds, 10000000 entries).
// Each table figure is the median over rounds; every round builds a fresh table.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "policy/maglev.h"
#include "policy/sticky_table.h"

namespace {

using sticky::policy::StickyKey;
using sticky::policy::StickyTable;
using sticky::policy::StickyTableOptions;

constexpr std::int64_t kT0 = 1700000000000LL;
constexpr std::int64_t kTtl = 30 * 60 * 1000;

std::size_t rss_bytes() {
  long pages_total = 0;
  long pages_resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = 0;
    std::fclose(f);
  }
  return static_cast<std::size_t>(pages_resident) * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// Client i's IPv4 address, scrambled so consecutive ids do not share cache lines or buckets trivially.
std::uint32_t client_addr(std::uint64_t i) { return static_cast<std::uint32_t>(i * 2654435761ULL); }

struct KeyBuf {
  char b[4];
  StickyKey key(std::uint32_t addr) {
    for (int k = 0; k < 4; ++k) b[k] = static_cast<char>(addr >> (24 - 8 * k));
    return {1, 0, {b, 4}};
  }
};

// Runs fn(begin, end) over [0, n) split across `threads` threads; returns wall seconds.
template <typename Fn>
double run_split(std::size_t n, int threads, Fn fn) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int w = 0; w < threads; ++w) {
    const std::size_t begin = n * static_cast<std::size_t>(w) / static_cast<std::size_t>(threads);
    const std::size_t end = n * static_cast<std::size_t>(w + 1) / static_cast<std::size_t>(threads);
    pool.emplace_back([=] { fn(begin, end); });
  }
  for (auto& t : pool) t.join();
  return seconds_since(t0);
}

void bench_table(std::size_t n, int threads, int rounds) {
  std::vector<double> ins, look, rss_per, acct_per;
  std::uint64_t checksum = 0;
  for (int r = 0; r < rounds; ++r) {
    const std::size_t rss0 = rss_bytes();
    auto table = std::make_unique<StickyTable>(StickyTableOptions{n, 64});
    const double t_ins = run_split(n, threads, [&](std::size_t b, std::size_t e) {
      KeyBuf kb;
      for (std::size_t i = b; i < e; ++i) table->upsert(kb.key(client_addr(i)), static_cast<std::uint32_t>(i % 16), kT0, kTtl);
    });
    const std::size_t rss1 = rss_bytes();
    std::vector<std::uint64_t> hits(static_cast<std::size_t>(threads));
    // Lookups in a different order than inserts: a multiplicative permutation of [0, n).
    const double t_look = run_split(n, threads, [&](std::size_t b, std::size_t e) {
      KeyBuf kb;
      std::uint64_t h = 0;
      for (std::size_t i = b; i < e; ++i) {
        const std::uint64_t id = (i * 0x9E3779B1ULL) % n;
        if (auto hit = table->lookup(kb.key(client_addr(id)), kT0 + 1000)) h += hit->server_id + 1;
      }
      hits[b * static_cast<std::size_t>(threads) / n] = h;
    });
    for (auto h : hits) checksum += h;
    const auto mem = table->memory();
    ins.push_back(static_cast<double>(n) / t_ins);
    look.push_back(static_cast<double>(n) / t_look);
    rss_per.push_back(static_cast<double>(rss1 - rss0) / static_cast<double>(mem.entries));
    acct_per.push_back(static_cast<double>(mem.used_bytes) / static_cast<double>(mem.entries));
    if (r == rounds - 1)
      std::printf("  (entries kept %zu of %zu, evicted %llu, RSS after fill %.0f MB)\n", mem.entries, n,
                  static_cast<unsigned long long>(table->counters().evicted_capacity), static_cast<double>(rss1) / 1e6);
  }
  std::printf("table n=%-9zu threads=%d  inserts/s %6.2f M  lookups/s %6.2f M  bytes/entry: RSS delta %5.1f, "
              "accounted %5.1f (key 4)  [checksum %llu]\n",
              n, threads, median(ins) / 1e6, median(look) / 1e6, median(rss_per), median(acct_per),
              static_cast<unsigned long long>(checksum % 1000));
}

sticky::policy::ServerSet make_set(int n) {
  sticky::policy::ServerSet s;
  s.backend = "web";
  for (int i = 0; i < n; ++i) s.servers.push_back({"srv" + std::to_string(i), 1, sticky::policy::ServerState::Up});
  return s;
}

void bench_maglev(int n) {
  const auto full = make_set(n);
  auto less = full;
  less.servers.erase(less.servers.begin() + n / 2);
  const auto t0 = std::chrono::steady_clock::now();
  const auto a = sticky::policy::build_maglev(full);
  const double build_ms = seconds_since(t0) * 1e3;
  const auto b = sticky::policy::build_maglev(less);
  std::vector<std::size_t> counts(static_cast<std::size_t>(n));
  std::size_t moved = 0;
  for (std::size_t i = 0; i < a.table.size(); ++i) {
    const auto sa = static_cast<std::size_t>(a.table.slots()[i]);
    ++counts[sa];
    moved += full.servers[sa].name != less.servers[static_cast<std::size_t>(b.table.slots()[i])].name;
  }
  const double mean = static_cast<double>(a.table.size()) / n;
  const double max = static_cast<double>(*std::max_element(counts.begin(), counts.end()));
  const double min = static_cast<double>(*std::min_element(counts.begin(), counts.end()));
  std::printf("maglev N=%-2d size=%zu  max/mean %.5f  min/mean %.5f  moved on removing one: %.4f (ideal 1/N %.4f, "
              "ratio %.3f)  build %.2f ms\n",
              n, a.table.size(), max / mean, min / mean, static_cast<double>(moved) / static_cast<double>(a.table.size()),
              1.0 / n, static_cast<double>(moved) / static_cast<double>(a.table.size()) * n, build_ms);
}

}  // namespace

int main(int argc, char** argv) {
  // Fixed mmap threshold: large blocks always come from mmap and go back on free, so one round's
  // freed table does not hide the next round's RSS growth.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  const std::size_t max_n = argc > 2 ? static_cast<std::size_t>(std::atoll(argv[2])) : 10000000;
  std::printf("sticky table, 64 shards, IPv4 keys, median of %d rounds\n", rounds);
  for (std::size_t n : {std::size_t{1000000}, std::size_t{10000000}}) {
    if (n > max_n) continue;
    for (int threads : {1, 2}) bench_table(n, threads, rounds);
  }
  for (int n : {4, 8, 16}) bench_maglev(n);
  return 0;
}
