// Tests of weighted Maglev placement: validation, determinism, balance, weights and disruption.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/hash.h"
#include "policy/maglev.h"

namespace {

using sticky::policy::build_maglev;
using sticky::policy::MaglevError;
using sticky::policy::MaglevTable;
using sticky::model::Server;
using sticky::model::ServerSet;
using sticky::model::ServerState;

ServerSet make_set(int n, std::uint32_t weight = 1) {
  ServerSet s;
  s.backend = "web";
  s.version = 1;
  for (int i = 0; i < n; ++i) s.servers.push_back({"srv" + std::to_string(i), weight, ServerState::Up});
  return s;
}

// Slot owner names, so tables of differently ordered sets can be compared.
std::vector<std::string> owners(const MaglevTable& t, const ServerSet& s) {
  std::vector<std::string> out;
  out.reserve(t.size());
  for (std::int16_t idx : t.slots()) out.push_back(idx < 0 ? std::string() : s.servers[static_cast<std::size_t>(idx)].name);
  return out;
}

std::map<std::string, std::size_t> slot_counts(const MaglevTable& t, const ServerSet& s) {
  std::map<std::string, std::size_t> c;
  for (std::int16_t idx : t.slots()) ++c[s.servers[static_cast<std::size_t>(idx)].name];
  return c;
}

double moved_fraction(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::size_t moved = 0;
  for (std::size_t i = 0; i < a.size(); ++i) moved += a[i] != b[i];
  return static_cast<double>(moved) / static_cast<double>(a.size());
}

}  // namespace

TEST_CASE("table sizes must be prime and in range; names must be unique", "[maglev]") {
  const ServerSet s = make_set(3);
  CHECK(build_maglev(s, 65536).error == MaglevError::SizeNotPrime);
  CHECK(build_maglev(s, 1).error == MaglevError::SizeOutOfRange);
  CHECK(build_maglev(s, 5000017).error == MaglevError::SizeOutOfRange);
  CHECK(build_maglev(s, 2).error == MaglevError::TooManyServers);
  CHECK(build_maglev(s, 65537).error == MaglevError::Ok);
  CHECK(build_maglev(s, 251).error == MaglevError::Ok);
  ServerSet dup = s;
  dup.servers.push_back({"srv1", 1, ServerState::Down});
  CHECK(build_maglev(dup).error == MaglevError::DuplicateName);
  CHECK(sticky::policy::maglev_error_name(MaglevError::SizeNotPrime) == "table size is not prime");
  CHECK(sticky::policy::is_prime(65537));
  CHECK(sticky::policy::is_prime(2));
  CHECK_FALSE(sticky::policy::is_prime(1));
  CHECK_FALSE(sticky::policy::is_prime(4294967291U - 2));  // 4294967289 = 3 x 1431655763
  CHECK(sticky::policy::is_prime(4294967291U));            // largest 32-bit prime
}

TEST_CASE("the table is deterministic and independent of server order", "[maglev]") {
  const ServerSet a = make_set(7);
  ServerSet b = a;
  std::reverse(b.servers.begin(), b.servers.end());
  std::rotate(b.servers.begin(), b.servers.begin() + 3, b.servers.end());
  const auto ta = build_maglev(a);
  const auto ta2 = build_maglev(a);
  const auto tb = build_maglev(b);
  REQUIRE(ta.error == MaglevError::Ok);
  CHECK(std::equal(ta.table.slots().begin(), ta.table.slots().end(), ta2.table.slots().begin()));
  CHECK(owners(ta.table, a) == owners(tb.table, b));
  // Pinned values: a change to the build, the seeds or stable_hash64 moves keys on every node at
  // once and must be a deliberate decision. Values from a Python model of this build over the
  // sticky-hash-1 reference (base/hash.h).
  const auto o = owners(ta.table, a);
  CHECK(o[0] == "srv5");
  CHECK(o[1] == "srv0");
  CHECK(o[2] == "srv4");
  CHECK(o[65536] == "srv1");
  CHECK(ta.table.set_version() == 1);
  CHECK(ta.table.usable_servers() == 7);
  // pick() reduces the hash modulo the size and returns an index into the caller's set.
  const int idx = tb.table.pick(12345);
  REQUIRE(idx >= 0);
  CHECK(b.servers[static_cast<std::size_t>(idx)].name == owners(ta.table, a)[12345 % 65537]);
}

TEST_CASE("equal weights balance within 2% of the mean for 3..20 servers", "[maglev]") {
  for (int n = 3; n <= 20; ++n) {
    const ServerSet s = make_set(n);
    const auto b = build_maglev(s);
    REQUIRE(b.error == MaglevError::Ok);
    const auto counts = slot_counts(b.table, s);
    REQUIRE(counts.size() == static_cast<std::size_t>(n));
    std::size_t max = 0;
    for (const auto& [name, c] : counts) max = std::max(max, c);
    const double ratio = static_cast<double>(max) / (65537.0 / n);
    INFO("n=" << n << " max/mean=" << ratio);
    CHECK(ratio < 1.02);
    // Hashed keys, not just slots, land evenly: 200k keys through stable_hash64.
    std::vector<std::size_t> hits(static_cast<std::size_t>(n));
    for (std::uint32_t k = 0; k < 200000; ++k)
      ++hits[static_cast<std::size_t>(b.table.pick(sticky::stable_hash64(std::to_string(k), 7)))];
    const double key_ratio = static_cast<double>(*std::max_element(hits.begin(), hits.end())) / (200000.0 / n);
    INFO("key max/mean=" << key_ratio);
    CHECK(key_ratio < 1.05);  // sampling noise on top of the slot balance
  }
}

TEST_CASE("weights give proportional slot shares", "[maglev]") {
  ServerSet s = make_set(0);
  const std::vector<std::uint32_t> weights{1, 2, 3, 4, 10, 100, 256};
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    s.servers.push_back({"w" + std::to_string(i), weights[i], ServerState::Up});
    total += weights[i];
  }
  const auto b = build_maglev(s);
  REQUIRE(b.error == MaglevError::Ok);
  const auto counts = slot_counts(b.table, s);
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double expected = 65537.0 * weights[i] / static_cast<double>(total);
    const double got = static_cast<double>(counts.at("w" + std::to_string(i)));
    INFO("weight " << weights[i] << " expected " << expected << " got " << got);
    CHECK(std::abs(got - expected) <= std::max(2.0, expected * 0.02));
  }
}

TEST_CASE("removing one of N servers moves under 2/N of the keys", "[maglev]") {
  for (int n : {3, 4, 5, 8, 10, 16, 20}) {
    const ServerSet full = make_set(n);
    ServerSet less = full;
    less.servers.erase(less.servers.begin() + n / 2);
    const auto a = build_maglev(full);
    const auto b = build_maglev(less);
    const auto oa = owners(a.table, full);
    const auto ob = owners(b.table, less);
    const double moved = moved_fraction(oa, ob);
    INFO("n=" << n << " moved=" << moved << " ideal=" << 1.0 / n);
    CHECK(moved >= 1.0 / n * 0.99);  // at least the removed server's own share had to move
    CHECK(moved < 2.0 / n);
    // A server marked down instead of removed gives the same table: placement ignores unusable servers.
    ServerSet down = full;
    down.servers[static_cast<std::size_t>(n / 2)].state = ServerState::Down;
    CHECK(owners(build_maglev(down).table, down) == ob);
  }
}

TEST_CASE("servers that take no new clients get no slots; none usable means -1", "[maglev]") {
  ServerSet s = make_set(4);
  s.servers[0].state = ServerState::Drain;
  s.servers[1].state = ServerState::Maint;
  s.servers[2].weight = 0;
  const auto one = build_maglev(s);
  REQUIRE(one.error == MaglevError::Ok);
  CHECK(one.table.usable_servers() == 1);
  for (std::uint64_t h = 0; h < 1000; ++h) CHECK(one.table.pick(h * 0x9e3779b97f4a7c15ULL) == 3);

  s.servers[3].state = ServerState::Down;
  const auto none = build_maglev(s);
  CHECK(none.error == MaglevError::Ok);
  CHECK(none.table.pick(42) == -1);
  CHECK(build_maglev(make_set(0)).table.pick(42) == -1);
  CHECK(MaglevTable{}.pick(42) == -1);
}
