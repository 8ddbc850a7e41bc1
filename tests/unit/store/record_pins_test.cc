// Redis records <-> pins: what another agent wrote becomes a table entry, what the engine decided
// becomes the record Redis keeps.
#include "store/record_pins.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace sticky::store;

namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;

StickyRecord record_for(std::string backend, std::uint8_t kind) {
  StickyRecord r;
  r.backend = std::move(backend);
  r.kind = kind;
  r.key = std::string("\xcb\x00\x71\x4d", 4);
  r.server = "s3";
  r.created_ms = kNow - 5000;
  r.last_seen_ms = kNow - 5000;
  r.expires_ms = kNow + 55'000;
  r.origin = "node-b";
  r.version = 7;
  return r;
}

}  // namespace

TEST_CASE("a record becomes the pin of its backend id, its server interned", "[record_pins]") {
  const std::vector<PinBackend> backends{{"api", 30'000}, {"app", 60'000}};
  ServerRegistry registry;
  StickyKey key;
  StickyEntry e;
  const StickyRecord r = record_for("app", 3);
  REQUIRE(pin_from_record(r, backends, registry, kNow, key, e));
  CHECK(key.backend == 1);
  CHECK(key.kind == 3);
  CHECK(key.bytes == r.key);
  CHECK(e.server_id == registry.find("app", "s3"));
  CHECK(e.version == 7);
  CHECK(e.created_ms == kNow - 5000);
  CHECK(e.last_seen_ms == kNow - 5000);
  CHECK(e.expires_ms == kNow + 55'000);
  CHECK(e.last_synced_ms == kNow);  // read from the store now: no need to write it back
}

TEST_CASE("a pin kept alive elsewhere slides by the configured TTL, not by its age", "[record_pins]") {
  // Pinned 10 hours ago and refreshed since: last_seen is old, expires is near. Treating
  // expires - last_seen as the TTL would keep the client ~10 hours after its last request.
  const std::vector<PinBackend> backends{{"app", 60'000}};
  ServerRegistry registry;
  StickyRecord r = record_for("app", 3);
  r.created_ms = r.last_seen_ms = kNow - 10 * 3600 * 1000LL;
  r.expires_ms = kNow + 20'000;
  StickyKey key;
  StickyEntry e;
  REQUIRE(pin_from_record(r, backends, registry, kNow, key, e));
  CHECK(e.last_seen_ms == kNow + 20'000 - 60'000);
  StickyTable table(StickyTableOptions{1024, 1});
  REQUIRE(table.apply_remote(key, e, kNow) == RemoteOutcome::Inserted);
  const std::optional<StickyEntry> hit = table.lookup(key, kNow);
  REQUIRE(hit);
  CHECK(hit->expires_ms <= kNow + 61'000);  // the hit slid it by the TTL (whole seconds), no more
  CHECK_FALSE(table.lookup(key, kNow + 62'000));
}

TEST_CASE("records this agent cannot use are refused", "[record_pins]") {
  const std::vector<PinBackend> backends{{"app", 60'000}};
  ServerRegistry registry;
  StickyKey key;
  StickyEntry e;
  CHECK_FALSE(pin_from_record(record_for("other", 3), backends, registry, kNow, key, e));  // foreign backend
  CHECK_FALSE(pin_from_record(record_for("app", 0), backends, registry, kNow, key, e));    // no identity
  CHECK_FALSE(pin_from_record(record_for("app", 6), backends, registry, kNow, key, e));    // unknown kind
  StickyRecord nameless = record_for("app", 3);
  nameless.server.clear();
  CHECK_FALSE(pin_from_record(nameless, backends, registry, kNow, key, e));
  CHECK(pin_from_record(record_for("app", kMaxPinKind), backends, registry, kNow, key, e));
}

TEST_CASE("a write becomes the record Redis keeps: seen now, one TTL to live, the table's version",
          "[record_pins]") {
  PinWrite w;
  w.type = PinWrite::Type::Move;
  w.key = {0, 4, std::string_view("\x0a\x01\x02", 3)};
  w.backend = "app";
  w.server = "s2";
  w.ttl_ms = 30'000;
  StickyRecord r;
  record_from_write(w, 9, "node-a", kNow, r);
  CHECK(r.backend == "app");
  CHECK(r.kind == 4);
  CHECK(r.key == std::string("\x0a\x01\x02", 3));
  CHECK(r.server == "s2");
  CHECK(r.created_ms == kNow);
  CHECK(r.last_seen_ms == kNow);
  CHECK(r.expires_ms == kNow + 30'000);
  CHECK(r.origin == "node-a");
  CHECK(r.version == 9);
}
