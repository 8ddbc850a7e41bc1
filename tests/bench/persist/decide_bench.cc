// The persistence engine alone on one core, both phases against the local table (start, lookup,
// decide, record) for True-Client-IP clients with the table holding 1,000,000 of them (hits), and
// for new clients (placement + insert). Prints ns/decision.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "policy/persist_engine.h"
#include "store/pin_store.h"

using namespace sticky;
using namespace sticky::policy;
using namespace sticky::model;
using namespace sticky::store;

int main(int argc, char** argv) {
  const std::size_t kClients = argc > 1 ? std::stoul(argv[1]) : 1000000;
  StickyTable table(StickyTableOptions{2 * kClients, 64});
  LocalPins pins(table);
  ServerRegistry registry;
  PersistOptions o;
  o.name = "app";
  o.identity.order = {IdentityKind::TrueClientIp, IdentityKind::Source};
  o.identity.order_len = 2;
  o.identity.cdn_ranges.add(parse_cidr("127.0.0.0/8").cidr);
  PersistEngine engine(o, nullptr, registry);
  auto set = std::make_shared<ServerSet>();
  set->backend = "app";
  set->version = 1;
  for (int i = 0; i < 8; ++i) set->servers.push_back({"s" + std::to_string(i), 100, ServerState::Up});
  auto view = engine.make_view(set);

  std::vector<std::string> ips(kClients);
  for (std::size_t i = 0; i < kClients; ++i)
    ips[i] = "100." + std::to_string(i >> 16 & 255) + "." + std::to_string(i >> 8 & 255) + "." +
             std::to_string(i & 255);
  const std::uint8_t edge[4] = {127, 0, 0, 1};
  ClientFacts f;
  f.source = Bytes(edge, 4);
  PersistCounters counters;
  std::array<std::uint8_t, kIdentityKeyCapacity> key{};
  std::int64_t now = 1'800'000'000'000;
  auto decide = [&] {
    const RequestStart st = engine.start(f, *view, now, key, counters);
    if (!st.needs_pin) return;
    PinWrites w;
    engine.decide(st, pins.lookup(st.query, now), *view, now, counters, w);
    if (w.count()) pins.record(w.span(), now);
  };

  auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < kClients; ++i) {
    f.true_client_ip = ips[i];
    decide();
  }
  const double insert_ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / kClients;

  std::mt19937_64 rng(42);
  std::vector<std::uint32_t> order(argc > 2 ? std::stoul(argv[2]) : 2000000);
  for (auto& x : order) x = static_cast<std::uint32_t>(rng() % kClients);
  std::vector<double> rounds;
  for (int r = 0; r < 5; ++r) {
    now += 1000;
    t0 = std::chrono::steady_clock::now();
    for (std::uint32_t i : order) {
      f.true_client_ip = ips[i];
      decide();
    }
    rounds.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() /
                     static_cast<double>(order.size()));
  }
  std::sort(rounds.begin(), rounds.end());
  std::printf("persistence engine, one core, True-Client-IP clients, 8 servers\n");
  std::printf("  new client (identity + Maglev + insert), 1M clients: %.0f ns/decision\n", insert_ns);
  std::printf("  returning client (identity + lookup), table at %zu entries: median %.0f ns/decision "
              "(min %.0f, max %.0f, 5 rounds of %zu)\n",
              table.size(), rounds[2], rounds[0], rounds[4], order.size());
  std::printf("  decisions: new %llu, client-ip %llu\n",
              static_cast<unsigned long long>(counters.decisions[static_cast<std::size_t>(PinReason::New)]),
              static_cast<unsigned long long>(counters.decisions[static_cast<std::size_t>(PinReason::ClientIp)]));
  return 0;
}
