// Benchmark: delay from write_new() on agent A to the record reaching agent B's subscriber callback,
// through a real local redis-server. Prints p50/p90/p99/max; one write at a time, then in bursts.
#include <ev.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "redis_process.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_subscriber.h"
#include "test_records.h"

using namespace sticky;
using namespace sticky::store;
using Clock = std::chrono::steady_clock;

namespace {
void report(const char* label, std::vector<double> us) {
  if (us.empty()) {
    std::printf("%-28s no samples\n", label);
    return;
  }
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) { return us[std::min(us.size() - 1, static_cast<std::size_t>(p * us.size()))]; };
  double sum = 0;
  for (double v : us) sum += v;
  std::printf("%-28s n=%zu  p50=%.0f us  p90=%.0f us  p99=%.0f us  max=%.0f us  mean=%.0f us\n", label, us.size(),
              pct(0.50), pct(0.90), pct(0.99), us.back(), sum / static_cast<double>(us.size()));
}
}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 2000;
  int burst = argc > 2 ? std::atoi(argv[2]) : 100;
  if (!test::RedisProcess::available()) {
    std::printf("redis-server not installed\n");
    return 0;
  }
  test::RedisProcess redis;
  if (!redis.start()) {
    std::printf("redis-server did not start\n");
    return 1;
  }
  struct ev_loop* loop = ev_loop_new(EVFLAG_AUTO);
  RedisCounters ca, cb;
  auto oa = test::options_for(redis.port(), "A");
  auto ob = test::options_for(redis.port(), "B");
  std::vector<Clock::time_point> sent(static_cast<std::size_t>(n) * 2);
  std::vector<double> delays;
  delays.reserve(sent.size());
  auto index_of = [](const StickyRecord& r) {
    return (static_cast<unsigned char>(r.key[2]) << 8) | static_cast<unsigned char>(r.key[3]);
  };
  {
    RedisClient a(loop, oa, ca);
    RedisSubscriber b(loop, ob, cb, [&](const StickyRecord& r) {
      delays.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent[index_of(r)]).count());
    });
    a.start();
    b.start();
    if (!test::run_until(loop, [&] { return a.connected() && b.subscribed() && cb.warmup_scans == 1; }, 3000)) {
      std::printf("could not connect\n");
      return 1;
    }
    // One at a time: the pure propagation path (SET NX -> reply -> PUBLISH -> message -> decode).
    for (int i = 0; i < n; ++i) {
      sent[i] = Clock::now();
      a.write_new(test::record(i, "A"), nullptr);
      std::size_t want = delays.size() + 1;
      test::run_until(loop, [&] { return delays.size() >= want; }, 1000);
    }
    std::vector<double> single(delays);
    delays.clear();
    // Bursts: `burst` writes issued back to back, as when many new clients arrive in one loop turn.
    auto t0 = Clock::now();
    for (int i = n; i < 2 * n && i < 65536; i += burst) {
      for (int j = i; j < std::min(i + burst, 2 * n); ++j) {
        sent[j] = Clock::now();
        a.write_new(test::record(j, "A"), nullptr);
      }
      std::size_t want = static_cast<std::size_t>(std::min(i + burst, 2 * n) - n);
      test::run_until(loop, [&] { return delays.size() >= want; }, 2000);
    }
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    report("single write -> subscriber", single);
    char label[64];
    std::snprintf(label, sizeof label, "bursts of %d -> subscriber", burst);
    report(label, delays);
    std::printf("burst phase: %zu records in %.3f s = %.0f writes/s through one client+subscriber\n", delays.size(),
                secs, static_cast<double>(delays.size()) / secs);
    std::printf("commands sent by writer: %llu for %d pins (%.1f per pin), errors=%llu\n",
                static_cast<unsigned long long>(ca.commands_sent), 2 * n,
                static_cast<double>(ca.commands_sent) / (2.0 * n), static_cast<unsigned long long>(ca.errors));
  }
  ev_loop_destroy(loop);
  return 0;
}
