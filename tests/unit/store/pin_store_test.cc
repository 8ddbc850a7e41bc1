// The table as a pin store: answers, the lapse rule, the merge rule the engine shares with the
// table, and writes recorded in order.
#include "store/pin_store.h"

#include <catch2/catch.hpp>

using namespace sticky::store;

namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;
const StickyKey kKey{0, 3, std::string_view("\xcb\x00\x71\x05", 4)};

PinWrite pin(PinWrite::Type type, std::uint32_t server_id) {
  PinWrite w;
  w.type = type;
  w.key = kKey;
  w.backend = "app";
  w.server = "s";
  w.server_id = server_id;
  w.ttl_ms = 60'000;
  return w;
}

}  // namespace

TEST_CASE("the table answers alone: a miss, then the pin recorded, slid by each hit", "[pin_store]") {
  StickyTable table(StickyTableOptions{1024, 1});
  LocalPins pins(table);
  const PinQuery q{kKey, 60'000};
  PinAnswer a = pins.lookup(q, kNow);
  CHECK_FALSE(a.local);
  CHECK_FALSE(a.ask_shared);  // nothing is shared: never ask
  const PinWrite writes[] = {pin(PinWrite::Type::New, 2)};
  CHECK(pins.record(writes, kNow).refused == 0);
  a = pins.lookup(q, kNow + 30'000);
  REQUIRE(a.local);
  CHECK(a.local->server_id == 2);
  CHECK(a.local->version == 1);
  CHECK(pins.peek(kKey, kNow + 89'000));  // slid to kNow + 90 s by the hit
  CHECK_FALSE(pins.peek(kKey, kNow + 91'000));
  bool called = false;
  pins.lookup_shared(q, a, [&](const PinAnswer& done) {
    called = true;
    CHECK_FALSE(done.asked_shared);
    CHECK(done.local);
  });
  CHECK(called);
}

TEST_CASE("a move is numbered by the table; a write it refuses is reported", "[pin_store]") {
  StickyTable table(StickyTableOptions{1024, 1});
  LocalPins pins(table);
  const PinWrite first[] = {pin(PinWrite::Type::New, 2)};
  pins.record(first, kNow);
  CHECK(LocalPins::apply_local(table, pin(PinWrite::Type::Move, 3), kNow, false) == 2);
  PinWrite bad = pin(PinWrite::Type::New, 2);
  bad.key.bytes = {};  // no key: refused
  const PinWrite writes[] = {bad, pin(PinWrite::Type::Move, 4)};
  CHECK(pins.record(writes, kNow).refused == 1);
  CHECK(pins.peek(kKey, kNow)->version == 3);
}

TEST_CASE("with a shared store reachable, a miss or a lapsed pin asks it", "[pin_store]") {
  StickyTable table(StickyTableOptions{1024, 1});
  const PinQuery q{kKey, 60'000};
  CHECK(local_answer(table, q, kNow, true).ask_shared);  // a miss
  CHECK_FALSE(local_answer(table, q, kNow, false).ask_shared);  // unreachable: decide locally
  LocalPins::apply_local(table, pin(PinWrite::Type::New, 2), kNow, /*mark_synced=*/true);
  PinAnswer a = local_answer(table, q, kNow + 59'000, true);
  CHECK_FALSE(a.ask_shared);
  a = local_answer(table, q, kNow + 60'000, true);  // not written out for a whole TTL
  CHECK(a.ask_shared);
  CHECK(a.lapsed);
  REQUIRE(a.local);
  // A pin never written out (no shared store when it was made) is not lapsed, only local.
  StickyTable plain(StickyTableOptions{1024, 1});
  PinWrite long_lived = pin(PinWrite::Type::New, 2);
  long_lived.ttl_ms = 600'000;
  LocalPins::apply_local(plain, long_lived, kNow, false);
  const PinQuery long_q{kKey, 600'000};  // its backend's TTL (a shorter one now would expire it)
  const PinAnswer p = local_answer(plain, long_q, kNow + 70'000, true);
  CHECK(p.local);
  CHECK_FALSE(p.ask_shared);
}

TEST_CASE("the merge rule: version, then last seen, then server id; authoritative always wins", "[pin_store]") {
  StickyEntry local;
  local.server_id = 1;
  local.version = 2;
  local.last_seen_ms = kNow;
  local.expires_ms = kNow + 60'000;
  StickyEntry remote = local;
  remote.server_id = 2;
  CHECK(remote_wins(std::nullopt, remote, false));
  CHECK(remote_wins(local, remote, false));  // exact tie but for the server id
  remote.server_id = 0;
  CHECK_FALSE(remote_wins(local, remote, false));
  CHECK(remote_wins(local, remote, true));
  remote.last_seen_ms = kNow + 1000;
  CHECK(remote_wins(local, remote, false));
  remote.last_seen_ms = kNow + 999;  // the same second: no fresher
  CHECK_FALSE(remote_wins(local, remote, false));
  remote.version = 1;
  remote.last_seen_ms = kNow + 5000;
  CHECK_FALSE(remote_wins(local, remote, false));
  // The table applies the same rule.
  StickyTable table(StickyTableOptions{1024, 1});
  table.apply_remote(kKey, local, kNow);
  CHECK(table.apply_remote(kKey, remote, kNow) == RemoteOutcome::IgnoredOlder);
  CHECK(table.apply_remote(kKey, remote, kNow, true) == RemoteOutcome::Replaced);
  CHECK(remote_usable(remote, kNow));
  CHECK_FALSE(remote_usable(remote, kNow + 60'000));
  remote.expires_ms = remote.last_seen_ms;
  CHECK_FALSE(remote_usable(remote, kNow));
}
