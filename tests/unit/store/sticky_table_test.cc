// Tests of the sharded sticky table and of the server registry that names its server ids.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "store/server_registry.h"
#include "store/sticky_table.h"

namespace {

using sticky::store::RemoteOutcome;
using sticky::store::StickyEntry;
using sticky::store::StickyKey;
using sticky::store::StickyStatus;
using sticky::store::StickyTable;
using sticky::store::StickyTableOptions;

constexpr std::int64_t kT0 = 1700000000000LL;  // 2023-11-14, a whole second
constexpr std::int64_t kSec = 1000;
constexpr std::int64_t kTtl = 30 * 60 * kSec;

// Keys own their bytes so tests can build many of them.
struct OwnedKey {
  std::uint16_t backend = 1;
  std::uint8_t kind = 0;
  std::string bytes;
  StickyKey view() const { return {backend, kind, bytes}; }
};

OwnedKey ipv4(std::uint32_t addr, std::uint16_t backend = 1) {
  std::string b(4, '\0');
  for (int i = 0; i < 4; ++i) b[static_cast<std::size_t>(i)] = static_cast<char>(addr >> (24 - 8 * i));
  return {backend, 0, b};
}

StickyTable small_table(std::size_t capacity) { return StickyTable(StickyTableOptions{capacity, 1}); }

}  // namespace

TEST_CASE("an inserted key is found with its server and times, other keys miss", "[sticky_table]") {
  StickyTable t;
  const OwnedKey k = ipv4(0x0a000001);
  const auto r = t.upsert(k.view(), 7, kT0, kTtl);
  REQUIRE(r.status == StickyStatus::Ok);
  REQUIRE(r.created);
  REQUIRE(r.version == 1);

  const auto e = t.lookup(k.view(), kT0 + 5 * kSec);
  REQUIRE(e.has_value());
  CHECK(e->server_id == 7);
  CHECK(e->created_ms == kT0);
  CHECK(e->last_seen_ms == kT0 + 5 * kSec);
  CHECK(e->expires_ms == kT0 + 5 * kSec + kTtl);
  CHECK(e->last_synced_ms == 0);
  CHECK(e->version == 1);

  // Same bytes under another backend or kind are different keys.
  OwnedKey other_backend = k;
  other_backend.backend = 2;
  OwnedKey other_kind = k;
  other_kind.kind = 3;
  CHECK_FALSE(t.lookup(other_backend.view(), kT0).has_value());
  CHECK_FALSE(t.lookup(other_kind.view(), kT0).has_value());
  CHECK_FALSE(t.lookup(ipv4(0x0a000002).view(), kT0).has_value());

  const auto c = t.counters();
  CHECK(c.lookups == 4);
  CHECK(c.hits == 1);
  CHECK(c.misses == 3);
  CHECK(c.inserts == 1);
  CHECK(t.size() == 1);
}

TEST_CASE("an entry expires exactly TTL after it was last seen", "[sticky_table]") {
  StickyTable t;
  const OwnedKey k = ipv4(1);
  t.upsert(k.view(), 1, kT0, 10 * kSec);
  CHECK(t.peek(k.view(), kT0 + 9 * kSec).has_value());
  CHECK_FALSE(t.peek(k.view(), kT0 + 10 * kSec).has_value());
  CHECK_FALSE(t.lookup(k.view(), kT0 + 10 * kSec).has_value());
  CHECK(t.size() == 0);  // the expired entry was removed by the lookup
  CHECK(t.counters().expired == 1);
  CHECK(t.counters().misses == 1);
}

TEST_CASE("a lookup refreshes last_seen and slides the expiry; peek does not", "[sticky_table]") {
  StickyTable t;
  const OwnedKey k = ipv4(2);
  t.upsert(k.view(), 1, kT0, 10 * kSec);
  REQUIRE(t.peek(k.view(), kT0 + 8 * kSec)->last_seen_ms == kT0);  // peek leaves it alone
  const auto hit = t.lookup(k.view(), kT0 + 8 * kSec);
  REQUIRE(hit.has_value());
  CHECK(hit->expires_ms == kT0 + 18 * kSec);
  CHECK(t.lookup(k.view(), kT0 + 17 * kSec).has_value());  // would have expired at +10 s without the refresh
  CHECK(t.peek(k.view(), kT0 + 26 * kSec).has_value());
  CHECK_FALSE(t.peek(k.view(), kT0 + 27 * kSec).has_value());
  // A lookup with an older clock (another thread's) never moves last_seen backwards.
  CHECK(t.lookup(k.view(), kT0 + 1 * kSec)->last_seen_ms == kT0 + 17 * kSec);
}

TEST_CASE("a lookup with the backend's TTL now re-arms the pin with it; idle longer than either TTL is expired",
          "[sticky_table]") {
  // A config reload changed the backend's TTL after these pins were written with 30 s.
  StickyTable t;
  const OwnedKey shorter = ipv4(20), longer = ipv4(21), idle = ipv4(22), plain = ipv4(23);
  for (const OwnedKey* k : {&shorter, &longer, &idle, &plain}) t.upsert(k->view(), 1, kT0, 30 * kSec);
  const auto a = t.lookup(shorter.view(), kT0 + 5 * kSec, 10 * kSec);
  REQUIRE(a.has_value());
  CHECK(a->expires_ms == kT0 + 15 * kSec);
  CHECK(a->created_ms == kT0);
  CHECK_FALSE(t.peek(shorter.view(), kT0 + 15 * kSec).has_value());
  const auto b = t.lookup(longer.view(), kT0 + 5 * kSec, 60 * kSec);
  REQUIRE(b.has_value());
  CHECK(b->expires_ms == kT0 + 65 * kSec);
  CHECK(t.peek(longer.view(), kT0 + 64 * kSec).has_value());
  // Idle for 12 s: within its own 30 s, beyond the backend's 10 s now: gone, counted as expired.
  const auto before = t.counters().expired;
  CHECK_FALSE(t.lookup(idle.view(), kT0 + 12 * kSec, 10 * kSec).has_value());
  CHECK(t.counters().expired == before + 1);
  // Without a TTL (0) the entry keeps its own.
  CHECK(t.lookup(plain.view(), kT0 + 5 * kSec, 0)->expires_ms == kT0 + 35 * kSec);
}

TEST_CASE("erase removes a key once", "[sticky_table]") {
  StickyTable t;
  const OwnedKey k = ipv4(3);
  t.upsert(k.view(), 4, kT0, kTtl);
  CHECK(t.erase(k.view()));
  CHECK_FALSE(t.erase(k.view()));
  CHECK_FALSE(t.lookup(k.view(), kT0).has_value());
  CHECK(t.counters().erased == 1);
  CHECK(t.entries_for_server(4) == 0);
}

TEST_CASE("upsert keeps the version for the same server, bumps it on a move, honours the hint", "[sticky_table]") {
  StickyTable t;
  const OwnedKey k = ipv4(4);
  CHECK(t.upsert(k.view(), 1, kT0, kTtl).version == 1);
  t.mark_synced(k.view(), kT0);
  const auto same = t.upsert(k.view(), 1, kT0 + kSec, kTtl);
  CHECK_FALSE(same.created);
  CHECK(same.version == 1);
  CHECK(t.peek(k.view(), kT0 + kSec)->last_synced_ms == kT0);  // unchanged pin: still in sync

  const auto moved = t.upsert(k.view(), 2, kT0 + 2 * kSec, kTtl);
  CHECK(moved.version == 2);
  const auto e = t.peek(k.view(), kT0 + 2 * kSec);
  CHECK(e->server_id == 2);
  CHECK(e->created_ms == kT0 + 2 * kSec);  // a new pin
  CHECK(e->last_synced_ms == 0);           // the store has not seen the new server
  CHECK(t.upsert(k.view(), 2, kT0 + 3 * kSec, kTtl, 9).version == 9);
  CHECK(t.upsert(ipv4(5).view(), 2, kT0, kTtl, 5).version == 5);
  const auto c = t.counters();
  CHECK(c.inserts == 2);
  CHECK(c.updates == 3);
  CHECK(c.moves == 1);
}

TEST_CASE("a full shard evicts the least recently seen entry", "[sticky_table]") {
  StickyTable t = small_table(4);
  REQUIRE(t.capacity() == 4);
  for (std::uint32_t i = 0; i < 4; ++i) t.upsert(ipv4(i).view(), 1, kT0 + i * kSec, kTtl);
  t.lookup(ipv4(0).view(), kT0 + 10 * kSec);  // key 0 becomes the most recent; key 1 is now the oldest
  t.upsert(ipv4(9).view(), 1, kT0 + 11 * kSec, kTtl);
  CHECK(t.size() == 4);
  CHECK_FALSE(t.peek(ipv4(1).view(), kT0 + 11 * kSec).has_value());
  CHECK(t.peek(ipv4(0).view(), kT0 + 11 * kSec).has_value());
  CHECK(t.peek(ipv4(9).view(), kT0 + 11 * kSec).has_value());
  CHECK(t.counters().evicted_capacity == 1);
  CHECK(t.counters().expired == 0);
}

TEST_CASE("eviction finds the least recently seen entry behind several refreshed ones", "[sticky_table]") {
  StickyTable t = small_table(4);
  for (std::uint32_t i = 0; i < 4; ++i) t.upsert(ipv4(i).view(), 1, kT0 + i * kSec, kTtl);
  // Refresh 0, 1 and 2 (oldest first in queue order), leaving 3 the least recently seen although
  // it was inserted last.
  for (std::uint32_t i = 0; i < 3; ++i) t.lookup(ipv4(i).view(), kT0 + 10 * kSec);
  t.upsert(ipv4(9).view(), 1, kT0 + 11 * kSec, kTtl);
  CHECK_FALSE(t.peek(ipv4(3).view(), kT0 + 11 * kSec).has_value());
  // Next eviction takes the oldest of the refreshed ones: 0, 1, 2 were all seen at +10 s, then 9.
  t.upsert(ipv4(10).view(), 1, kT0 + 12 * kSec, kTtl);
  CHECK(t.size() == 4);
  CHECK(t.peek(ipv4(9).view(), kT0 + 12 * kSec).has_value());
  CHECK(t.peek(ipv4(10).view(), kT0 + 12 * kSec).has_value());
  CHECK(t.counters().evicted_capacity == 2);
}

TEST_CASE("a full shard evicts an expired entry before the oldest live one", "[sticky_table]") {
  StickyTable t = small_table(4);
  t.upsert(ipv4(0).view(), 1, kT0, kTtl);           // oldest, but live
  t.upsert(ipv4(1).view(), 1, kT0, 5 * kSec);       // short TTL: expired at +5 s
  t.upsert(ipv4(2).view(), 1, kT0 + kSec, kTtl);
  t.upsert(ipv4(3).view(), 1, kT0 + kSec, kTtl);
  t.upsert(ipv4(4).view(), 1, kT0 + 10 * kSec, kTtl);
  CHECK(t.peek(ipv4(0).view(), kT0 + 10 * kSec).has_value());
  CHECK_FALSE(t.peek(ipv4(1).view(), kT0 + 10 * kSec).has_value());
  CHECK(t.counters().expired == 1);
  CHECK(t.counters().evicted_capacity == 0);
  CHECK(t.size() == 4);
}

TEST_CASE("inserts drop expired entries from the old end even when not full", "[sticky_table]") {
  StickyTable t = small_table(100);
  t.upsert(ipv4(0).view(), 1, kT0, 5 * kSec);
  t.upsert(ipv4(1).view(), 1, kT0, 5 * kSec);
  t.upsert(ipv4(2).view(), 1, kT0 + 60 * kSec, kTtl);
  CHECK(t.size() == 1);
  CHECK(t.counters().expired == 2);
}

TEST_CASE("sweep_expired removes every expired entry and counts it", "[sticky_table]") {
  StickyTable t(StickyTableOptions{1000, 8});
  for (std::uint32_t i = 0; i < 100; ++i) t.upsert(ipv4(i).view(), i % 3, kT0, (i % 2 ? 10 : 100) * kSec);
  CHECK(t.sweep_expired(kT0 + 50 * kSec) == 50);
  CHECK(t.size() == 50);
  CHECK(t.counters().expired == 50);
  CHECK(t.sweep_expired(kT0 + 50 * kSec) == 0);
  for (std::uint32_t i = 0; i < 100; ++i) CHECK(t.peek(ipv4(i).view(), kT0 + 50 * kSec).has_value() == (i % 2 == 0));
}

TEST_CASE("long keys live in the arena and survive churn intact", "[sticky_table]") {
  StickyTable t = small_table(64);
  auto key_of = [](std::uint32_t i) {
    OwnedKey k;
    k.kind = 2;
    k.bytes = std::string(17 + (i * 37) % 239, static_cast<char>('a' + i % 26)) + std::to_string(i);
    if (k.bytes.size() > 255) k.bytes.resize(255);
    k.bytes[0] = static_cast<char>(i);
    k.bytes[k.bytes.size() - 1] = static_cast<char>(i >> 8);
    return k;
  };
  // 10 rounds over a full table: every round evicts and reuses arena chunks of all size classes.
  for (std::uint32_t round = 0; round < 10; ++round) {
    for (std::uint32_t i = round * 64; i < round * 64 + 64; ++i)
      REQUIRE(t.upsert(key_of(i).view(), i % 5, kT0 + i * kSec, kTtl).status == StickyStatus::Ok);
    for (std::uint32_t i = round * 64; i < round * 64 + 64; ++i) {
      const auto e = t.peek(key_of(i).view(), kT0 + i * kSec);
      REQUIRE(e.has_value());
      CHECK(e->server_id == i % 5);
    }
  }
  const auto before = t.memory();
  for (std::uint32_t i = 640; i < 1280; ++i) t.upsert(key_of(i).view(), 0, kT0 + i * kSec, kTtl);
  CHECK(t.memory().used_bytes == before.used_bytes);  // steady state: freed chunks are reused
  CHECK(t.size() == 64);
}

TEST_CASE("bad keys, servers and TTLs are rejected with a reason and counted", "[sticky_table]") {
  StickyTable t;
  const std::string too_long(256, 'x');
  CHECK(t.upsert(StickyKey{1, 0, too_long}, 1, kT0, kTtl).status == StickyStatus::BadKey);
  CHECK(t.upsert(StickyKey{1, 0, ""}, 1, kT0, kTtl).status == StickyStatus::BadKey);
  CHECK(t.upsert(ipv4(1).view(), sticky::store::kMaxStickyServerId + 1, kT0, kTtl).status == StickyStatus::BadServer);
  CHECK(t.upsert(ipv4(1).view(), 1, kT0, 0).status == StickyStatus::BadTtl);
  CHECK_FALSE(t.lookup(StickyKey{1, 0, too_long}, kT0).has_value());
  CHECK(t.upsert(StickyKey{1, 0, std::string(255, 'y')}, 1, kT0, kTtl).status == StickyStatus::Ok);
  CHECK(t.upsert(ipv4(1).view(), 1, 0, kTtl).status == StickyStatus::Ok);  // before the epoch: clamps
  const auto c = t.counters();
  CHECK(c.rejected_bad_key == 2);
  CHECK(c.rejected_bad_server == 1);
  CHECK(c.rejected_bad_ttl == 1);
  CHECK(t.size() == 2);
  CHECK(sticky::store::sticky_status_name(StickyStatus::BadTtl) == "bad_ttl");
}

TEST_CASE("apply_remote keeps the entry with the greater (version, last_seen, server)", "[sticky_table]") {
  StickyTable t;
  const OwnedKey k = ipv4(42);
  auto remote = [](std::uint32_t server, std::uint32_t version, std::int64_t seen) {
    StickyEntry e;
    e.server_id = server;
    e.version = version;
    e.created_ms = seen - 100 * kSec;
    e.last_seen_ms = seen;
    e.expires_ms = seen + kTtl;
    e.last_synced_ms = seen;
    return e;
  };
  const std::int64_t now = kT0 + 1000 * kSec;

  CHECK(t.apply_remote(k.view(), remote(1, 3, now), now) == RemoteOutcome::Inserted);
  CHECK(t.peek(k.view(), now)->server_id == 1);
  // Lower version loses even when fresher.
  CHECK(t.apply_remote(k.view(), remote(2, 2, now + 50 * kSec), now) == RemoteOutcome::IgnoredOlder);
  // Same version, older last_seen loses.
  CHECK(t.apply_remote(k.view(), remote(1, 3, now - kSec), now) == RemoteOutcome::IgnoredOlder);
  // Same version, fresher wins and extends the expiry; same server keeps the earlier created.
  CHECK(t.apply_remote(k.view(), remote(1, 3, now + 10 * kSec), now) == RemoteOutcome::Replaced);
  auto e = t.peek(k.view(), now);
  CHECK(e->last_seen_ms == now + 10 * kSec);
  CHECK(e->expires_ms == now + 10 * kSec + kTtl);
  CHECK(e->created_ms == now - 100 * kSec);
  // Exact (version, last_seen) tie: the higher server id wins on every node.
  CHECK(t.apply_remote(k.view(), remote(0, 3, now + 10 * kSec), now) == RemoteOutcome::IgnoredOlder);
  CHECK(t.apply_remote(k.view(), remote(5, 3, now + 10 * kSec), now) == RemoteOutcome::Replaced);
  // Higher version wins even when older, and moves the per-server count.
  CHECK(t.apply_remote(k.view(), remote(6, 4, now), now) == RemoteOutcome::Replaced);
  e = t.peek(k.view(), now);
  CHECK(e->server_id == 6);
  CHECK(e->version == 4);
  CHECK(e->last_synced_ms == now);
  CHECK(t.entries_for_server(6) == 1);
  CHECK(t.entries_for_server(5) == 0);
  CHECK(t.entries_for_server(1) == 0);
  // A remote entry already past its expiry is ignored; a malformed one is rejected.
  CHECK(t.apply_remote(ipv4(43).view(), remote(1, 9, now - kTtl - kSec), now) == RemoteOutcome::IgnoredExpired);
  StickyEntry bad = remote(1, 9, now);
  bad.expires_ms = bad.last_seen_ms;
  CHECK(t.apply_remote(ipv4(43).view(), bad, now) == RemoteOutcome::Rejected);
  // A local upsert after a remote win continues from the remote version.
  CHECK(t.upsert(k.view(), 7, now + 20 * kSec, kTtl).version == 5);

  const auto c = t.counters();
  CHECK(c.remote_inserted == 1);
  CHECK(c.remote_replaced == 3);
  CHECK(c.remote_ignored_older == 3);
  CHECK(c.remote_ignored_expired == 1);
  CHECK(c.rejected_bad_ttl == 1);
}

TEST_CASE("mark_synced records when the TTL was last written to the store", "[sticky_table]") {
  StickyTable t;
  const OwnedKey k = ipv4(8);
  CHECK_FALSE(t.mark_synced(k.view(), kT0));
  t.upsert(k.view(), 1, kT0, kTtl);
  CHECK(t.mark_synced(k.view(), kT0 + 3 * kSec));
  CHECK(t.lookup(k.view(), kT0 + 4 * kSec)->last_synced_ms == kT0 + 3 * kSec);
}

TEST_CASE("per-server entry counts follow inserts, moves, erases and evictions", "[sticky_table]") {
  StickyTable t = small_table(10);
  for (std::uint32_t i = 0; i < 10; ++i) t.upsert(ipv4(i).view(), i % 2, kT0, kTtl);
  CHECK(t.entries_per_server() == std::vector<std::uint64_t>{5, 5});
  t.upsert(ipv4(0).view(), 3, kT0, kTtl);  // move 0 -> 3
  t.erase(ipv4(1).view());
  CHECK(t.entries_per_server() == std::vector<std::uint64_t>{4, 4, 0, 1});
  for (std::uint32_t i = 100; i < 110; ++i) t.upsert(ipv4(i).view(), 2, kT0 + kSec, kTtl);  // evicts all the rest
  CHECK(t.entries_per_server() == std::vector<std::uint64_t>{0, 0, 10});
  CHECK(t.entries_for_server(2) == 10);
  CHECK(t.entries_for_server(12345) == 0);
}

TEST_CASE("memory accounting stays within 80 bytes per IPv4 entry beyond the key", "[sticky_table]") {
  StickyTable t(StickyTableOptions{200000, 64});
  for (std::uint32_t i = 0; t.size() < t.capacity() && i < 400000; ++i) t.upsert(ipv4(i).view(), 1, kT0, kTtl);
  const auto m = t.memory();
  CHECK(m.entries == t.size());
  CHECK(m.entries > 190000);  // shards fill unevenly, but nearly all of the capacity is usable
  CHECK(m.key_bytes == 4 * m.entries);
  CHECK(m.overhead_per_entry() > 60.0);  // at least the record itself: the accounting is not trivially zero
  CHECK(m.overhead_per_entry() <= 80.0);
  CHECK(m.reserved_bytes >= m.used_bytes);
}

TEST_CASE("concurrent mixed operations keep the table consistent", "[sticky_table]") {
  StickyTable t(StickyTableOptions{2048, 16});
  constexpr int kThreads = 4;
  constexpr int kOps = 40000;
  std::vector<std::thread> threads;
  std::atomic<std::uint64_t> wrong_server{0};
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&t, &wrong_server, w] {
      std::uint64_t x = 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(w + 1);  // per-thread LCG
      for (int n = 0; n < kOps; ++n) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        const auto key_id = static_cast<std::uint32_t>((x >> 33) % 5000);
        const OwnedKey k = ipv4(key_id);
        const std::int64_t now = kT0 + n * 10;
        // A key always maps to the same server, so any hit must return it: detects torn records.
        const std::uint32_t server = key_id % 7;
        switch ((x >> 20) % 8) {
          case 0: t.erase(k.view()); break;
          case 1: case 2: t.upsert(k.view(), server, now, kTtl); break;
          case 3: {
            StickyEntry e;
            e.server_id = server;
            e.version = 1;
            e.created_ms = e.last_seen_ms = now;
            e.expires_ms = now + kTtl;
            t.apply_remote(k.view(), e, now);
            break;
          }
          default:
            if (const auto e = t.lookup(k.view(), now); e && e->server_id != server) wrong_server.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong_server.load() == 0);
  const auto c = t.counters();
  const std::size_t size = t.size();
  CHECK(size <= t.capacity());
  CHECK(size > 0);
  CHECK(c.lookups == c.hits + c.misses);
  CHECK(c.lookups + c.inserts + c.updates + c.erased + c.remote_inserted + c.remote_replaced +
            c.remote_ignored_older <= std::uint64_t{kThreads} * kOps);  // one counter per operation at most
  CHECK(c.evicted_capacity > 0);  // 5000 keys in 2048 slots: the capacity path really ran
  CHECK(c.inserts + c.remote_inserted - c.expired - c.evicted_capacity - c.erased == size);
  std::uint64_t per_server_total = 0;
  for (std::uint64_t n : t.entries_per_server()) per_server_total += n;
  CHECK(per_server_total == size);
  CHECK(t.memory().entries == size);
}

// ---- Exact capacity (issue 9) and the incremental expiry sweep (issue 12) ----

namespace {

// A table whose backend 1 has a partition of `capacity` entries (64 shards asked for, as the agent does).
StickyTable backend_table(std::size_t capacity) {
  return StickyTable(StickyTableOptions{1024, 64, {0, capacity}});
}

}  // namespace

TEST_CASE("capacity 60: 100 new clients leave exactly the 60 most recent, 40 evictions counted", "[sticky_table]") {
  StickyTable t = backend_table(60);
  CHECK(t.capacity_for_backend(1) == 60);
  for (std::uint32_t i = 0; i < 100; ++i) t.upsert(ipv4(i).view(), i % 4, kT0 + i * kSec, kTtl);
  CHECK(t.size_for_backend(1) == 60);
  CHECK(t.size() == 60);
  CHECK(t.counters().evicted_capacity == 40);
  CHECK(t.counters().expired == 0);
  // A partition this small is one shard, so the eviction order is exact LRU.
  for (std::uint32_t i = 0; i < 100; ++i) CHECK(t.peek(ipv4(i).view(), kT0 + 100 * kSec).has_value() == (i >= 40));
  std::uint64_t per_server = 0;
  for (auto n : t.entries_per_server()) per_server += n;
  CHECK(per_server == 60);
}

TEST_CASE("capacity 3000: 5000 new clients leave exactly 3000, 2000 evictions counted", "[sticky_table]") {
  StickyTable t = backend_table(3000);
  CHECK(t.capacity_for_backend(1) == 3000);
  for (std::uint32_t i = 0; i < 5000; ++i) {
    t.upsert(ipv4(i).view(), 1, kT0, kTtl);
    REQUIRE(t.size() <= 3000);  // never above, at any moment
  }
  CHECK(t.size() == 3000);
  CHECK(t.counters().evicted_capacity == 2000);
  CHECK(t.memory().entries == 3000);
}

TEST_CASE("a table's own capacity is exact whatever the shard count", "[sticky_table]") {
  for (const std::size_t cap : {std::size_t{1}, std::size_t{60}, std::size_t{1000}, std::size_t{3000},
                                std::size_t{100003}}) {
    StickyTable t(StickyTableOptions{cap, 64});
    CHECK(t.capacity() == cap);
    for (std::uint32_t i = 0; i < 2 * cap + 100; ++i) t.upsert(ipv4(i).view(), 1, kT0, kTtl);
    CHECK(t.size() <= cap);
    CHECK(t.size() >= cap - cap / 50);  // uneven shard filling costs at most a few percent
    const auto c = t.counters();
    CHECK(c.inserts - c.evicted_capacity == t.size());
  }
}

TEST_CASE("two backends with different capacities never evict each other's entries", "[sticky_table]") {
  StickyTable t(StickyTableOptions{1024, 64, {0, 60, 3000}});
  CHECK(t.capacity() == 1024 + 60 + 3000);
  for (std::uint32_t i = 0; i < 60; ++i) t.upsert(ipv4(i, 1).view(), 1, kT0, kTtl);
  for (std::uint32_t i = 0; i < 5000; ++i) t.upsert(ipv4(i, 2).view(), 2, kT0 + kSec, kTtl);  // same bytes, backend 2
  CHECK(t.size_for_backend(1) == 60);
  CHECK(t.size_for_backend(2) == 3000);
  for (std::uint32_t i = 0; i < 60; ++i) CHECK(t.peek(ipv4(i, 1).view(), kT0 + kSec).has_value());
  CHECK(t.counters().evicted_capacity == 2000);
  // Churn on the small backend evicts only its own entries.
  for (std::uint32_t i = 1000; i < 1100; ++i) t.upsert(ipv4(i, 1).view(), 1, kT0 + 2 * kSec, kTtl);
  CHECK(t.size_for_backend(1) == 60);
  CHECK(t.size_for_backend(2) == 3000);
  CHECK(t.counters().evicted_capacity == 2100);
  CHECK(t.entries_for_server(2) == 3000);
  // A backend without its own capacity goes to the shared partition.
  t.upsert(ipv4(7, 9).view(), 3, kT0, kTtl);
  CHECK(t.size_for_backend(9) == 1);
  CHECK(t.capacity_for_backend(9) == 1024);
  CHECK(t.size() == 3061);
}

TEST_CASE("sweep_step reclaims 10,000 expired entries in bounded steps and keeps every live one", "[sticky_table]") {
  StickyTable t(StickyTableOptions{1 << 16, 64, {0, 20000}});
  for (std::uint32_t i = 0; i < 10000; ++i) t.upsert(ipv4(i).view(), 1, kT0, 10 * kSec);
  for (std::uint32_t i = 50000; i < 50500; ++i) t.upsert(ipv4(i).view(), 2, kT0, kTtl);  // still live later
  REQUIRE(t.size() == 10500);
  const std::int64_t later = kT0 + 11 * kSec;
  // Nothing expired yet: a full pass removes nothing.
  for (int n = 0; n < 40; ++n) CHECK(t.sweep_step(kT0 + 5 * kSec, 1024) == 0);
  CHECK(t.size() == 10500);

  constexpr std::size_t kStep = 1024;
  const std::size_t max_calls = (10500 + kStep - 1) / kStep + 1;  // one pass over the records in use, plus the wrap
  std::size_t calls = 0;
  while (t.size() > 500 && calls < 10 * max_calls) {
    CHECK(t.sweep_step(later, kStep) <= kStep);
    ++calls;
  }
  CHECK(calls <= max_calls);
  CHECK(t.size() == 500);
  CHECK(t.counters().expired == 10000);
  CHECK(t.entries_for_server(1) == 0);
  CHECK(t.entries_for_server(2) == 500);
  for (std::uint32_t i = 50000; i < 50500; ++i) CHECK(t.peek(ipv4(i).view(), later).has_value());

  // Once the rest expire too, the table drains to 0.
  const std::int64_t much_later = kT0 + kTtl + kSec;
  for (std::size_t n = 0; n < max_calls && t.size() > 0; ++n) t.sweep_step(much_later, kStep);
  CHECK(t.size() == 0);
  CHECK(t.counters().expired == 10500);
}

TEST_CASE("sweep_tick walks the whole table within the sweep period, once per second", "[sticky_table]") {
  StickyTable t(StickyTableOptions{1 << 15, 64});
  for (std::uint32_t i = 0; i < 10000; ++i) t.upsert(ipv4(i).view(), 1, kT0, 10 * kSec);
  t.sweep_tick(kT0);  // the first tick starts the pace
  // Client 7 keeps coming back: it must survive every sweep.
  std::int64_t now = kT0;
  for (int s = 1; s <= 9; ++s) {
    now = kT0 + s * kSec;
    t.lookup(ipv4(7).view(), now);
    t.sweep_tick(now);
    CHECK(t.sweep_tick(now) == 0);  // a second worker in the same second does nothing
  }
  REQUIRE(t.size() == 10000);
  std::uint32_t ticks = 0;
  while (t.size() > 1 && ticks < 10) {
    now += kSec;
    t.lookup(ipv4(7).view(), now);
    t.sweep_tick(now);
    ++ticks;
  }
  CHECK(t.size() == 1);
  CHECK(ticks <= sticky::store::kStickySweepPeriodSec);
  CHECK(t.peek(ipv4(7).view(), now).has_value());
  CHECK(t.counters().expired == 9999);
}

// ---- ServerRegistry ----

using sticky::store::kNoServerId;
using sticky::store::ServerRegistry;

TEST_CASE("the registry hands out dense stable ids per (backend, name)", "[server_registry]") {
  ServerRegistry r;
  const auto a = r.intern("be1", "s1");
  const auto b = r.intern("be1", "s2");
  const auto c = r.intern("be2", "s1");
  CHECK(a == 0);
  CHECK(b == 1);
  CHECK(c == 2);
  CHECK(r.intern("be1", "s1") == a);
  CHECK(r.find("be2", "s1") == c);
  CHECK(r.find("be2", "s2") == kNoServerId);
  CHECK(r.find("nope", "s1") == kNoServerId);
  CHECK(r.name_of(b) == "s2");
  CHECK(r.backend_of(c) == "be2");
  CHECK(r.name_of(99).empty());
  CHECK(r.intern("be1", "") == kNoServerId);
  CHECK(r.rejected() == 1);
  CHECK(r.size() == 3);
}

TEST_CASE("map_for translates ids and set indices, and ids survive a server leaving", "[server_registry]") {
  ServerRegistry r;
  sticky::model::ServerSet set{"web", {{"s1", 1, {}}, {"s2", 1, {}}, {"s3", 1, {}}}, 7};
  const auto m1 = r.map_for(set);
  CHECK(m1.set_version == 7);
  CHECK(m1.id_of_index == std::vector<std::uint32_t>{0, 1, 2});
  CHECK(m1.index(1) == 1);
  CHECK(m1.index(3) == -1);
  CHECK(m1.id(-1) == kNoServerId);

  // s2 leaves, s4 arrives, order changes: existing names keep their ids, s4 gets a new one.
  sticky::model::ServerSet next{"web", {{"s3", 1, {}}, {"s4", 1, {}}, {"s1", 1, {}}}, 8};
  const auto m2 = r.map_for(next);
  CHECK(m2.id_of_index == std::vector<std::uint32_t>{2, 3, 0});
  CHECK(m2.index(0) == 2);
  CHECK(m2.index(1) == -1);  // s2's entries now resolve to "not in the set"
  CHECK(m2.index(3) == 1);
  CHECK(m2.id(2) == 0);
}

TEST_CASE("concurrent interning gives every name exactly one id", "[server_registry]") {
  ServerRegistry r;
  constexpr int kThreads = 4;
  constexpr std::uint32_t kNames = 500;
  std::vector<std::vector<std::uint32_t>> seen(kThreads, std::vector<std::uint32_t>(kNames));
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&r, &seen, w] {
      for (std::uint32_t i = 0; i < kNames; ++i) {
        const std::uint32_t n = (i * 7 + static_cast<std::uint32_t>(w) * 131) % kNames;  // different orders
        seen[static_cast<std::size_t>(w)][n] = r.intern("be", "srv" + std::to_string(n));
        (void)r.name_of(seen[static_cast<std::size_t>(w)][n]);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(r.size() == kNames);
  for (std::uint32_t n = 0; n < kNames; ++n) {
    for (int w = 1; w < kThreads; ++w) CHECK(seen[static_cast<std::size_t>(w)][n] == seen[0][n]);
    CHECK(r.name_of(seen[0][n]) == "srv" + std::to_string(n));
  }
}

TEST_CASE("a backend's entries can be walked and cleared without touching another backend's", "[sticky_table][admin]") {
  StickyTableOptions o;
  o.capacity = 4096;
  o.shards = 4;
  o.backend_capacity = {0, 2048};  // backend 1 has a partition of its own; 0 and 2 share one
  StickyTable t(o);
  for (std::uint32_t i = 0; i < 300; ++i) {
    REQUIRE(t.upsert(ipv4(0x0A000000 + i, 0).view(), 1, kT0, kTtl).status == StickyStatus::Ok);
    REQUIRE(t.upsert(ipv4(0x0B000000 + i, 1).view(), 2, kT0, kTtl).status == StickyStatus::Ok);
    if (i < 50) REQUIRE(t.upsert(ipv4(0x0C000000 + i, 2).view(), 3, kT0, kTtl).status == StickyStatus::Ok);
  }
  std::size_t seen = 0;
  bool only_ours = true;
  CHECK(t.visit_backend(0, [&](const StickyKey& k, const StickyEntry& e) {
    ++seen;
    only_ours = only_ours && k.backend == 0 && e.server_id == 1 && k.bytes.size() == 4 && e.expires_ms == kT0 + kTtl;
  }) == 300);
  CHECK(seen == 300);
  CHECK(only_ours);
  CHECK(t.erase_backend(0) == 300);
  CHECK(t.visit_backend(0, [](const StickyKey&, const StickyEntry&) {}) == 0);
  CHECK(t.size_for_backend(1) == 300);
  CHECK(t.size_for_backend(2) == 50);  // shares backend 0's partition, kept
  CHECK(t.counters().erased == 300);
  CHECK(t.entries_for_server(1) == 0);
  CHECK(t.lookup(ipv4(0x0B000007, 1).view(), kT0 + kSec).has_value());
  // Freed records are reused: the backend fills again.
  REQUIRE(t.upsert(ipv4(0x0A000001, 0).view(), 1, kT0, kTtl).status == StickyStatus::Ok);
  CHECK(t.size_for_backend(0) == 51);
}

// ---- Partitions added while the table is in use (a config reload adds a backend) ----

TEST_CASE("add_partition gives a new backend its own exact capacity, leaving other partitions untouched",
          "[sticky_table]") {
  StickyTable t(StickyTableOptions{1024, 64, {0, 60}});
  for (std::uint32_t i = 0; i < 60; ++i) t.upsert(ipv4(i, 1).view(), 1, kT0, kTtl);
  const std::size_t before = t.capacity();
  CHECK_FALSE(t.has_own_partition(5));
  REQUIRE(t.add_partition(5, 3000));
  CHECK(t.has_own_partition(5));
  CHECK(t.capacity_for_backend(5) == 3000);
  CHECK(t.capacity() == before + 3000);
  for (std::uint32_t i = 0; i < 5000; ++i) t.upsert(ipv4(i, 5).view(), 2, kT0 + kSec, kTtl);
  CHECK(t.size_for_backend(5) == 3000);
  CHECK(t.counters().evicted_capacity == 2000);
  CHECK(t.size_for_backend(1) == 60);  // the old backend lost nothing
  for (std::uint32_t i = 0; i < 60; ++i) CHECK(t.peek(ipv4(i, 1).view(), kT0 + kSec).has_value());
  // The sweep walks the new partition too.
  CHECK(t.sweep_expired(kT0 + kTtl + 10 * kSec) == 3060);
  CHECK(t.size() == 0);
}

TEST_CASE("add_partition refuses a backend that has one, an id out of range and a zero capacity",
          "[sticky_table]") {
  StickyTable t(StickyTableOptions{1024, 64, {0, 60}});
  CHECK_FALSE(t.add_partition(1, 500));  // already has its own: capacity stays
  CHECK(t.capacity_for_backend(1) == 60);
  CHECK_FALSE(t.add_partition(sticky::store::kMaxStickyBackendIds, 500));
  CHECK_FALSE(t.add_partition(7, 0));
  CHECK(t.capacity_for_backend(7) == 1024);  // still the shared partition
  CHECK(t.add_partition(7, 500));
  CHECK_FALSE(t.add_partition(7, 500));
}

TEST_CASE("add_partition while other threads write and sweep: nothing lost, counts exact", "[sticky_table]") {
  StickyTable t(StickyTableOptions{1 << 14, 64, {0, 1 << 16}});
  std::atomic<bool> stop{false};
  std::atomic<std::uint32_t> written{0}, refused{0};
  std::thread writer([&] {  // Catch2 assertions are not thread-safe: count, check after the join
    for (std::uint32_t i = 0; i < 20000 && !stop.load(); ++i) {
      if (t.upsert(ipv4(i, 1).view(), i % 8, kT0, kTtl).status != StickyStatus::Ok) refused.fetch_add(1);
      written.fetch_add(1);
    }
  });
  std::thread sweeper([&] {
    for (int n = 0; n < 2000 && !stop.load(); ++n) t.sweep_step(kT0, 256);
  });
  for (std::uint16_t b = 2; b < 40; ++b) {
    REQUIRE(t.add_partition(b, 600));
    for (std::uint32_t i = 0; i < 10; ++i) t.upsert(ipv4(i, b).view(), 1, kT0, kTtl);
  }
  writer.join();
  stop.store(true);
  sweeper.join();
  CHECK(refused.load() == 0);
  CHECK(t.size_for_backend(1) == written.load());
  for (std::uint16_t b = 2; b < 40; ++b) CHECK(t.size_for_backend(b) == 10);
  CHECK(t.size() == written.load() + 38 * 10);
  CHECK(t.shard_count() >= 39);
}
