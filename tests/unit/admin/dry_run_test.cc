// Dry-run arithmetic against the real placement code: what a change moves, and nothing else.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "admin/dry_run.h"
#include "base/hash.h"
#include "hsaf/assignment.h"
#include "policy/maglev.h"

using namespace sticky;
using admin::ServerChange;
using model::ServerState;

namespace {

model::ServerSet three() {
  model::ServerSet s;
  s.backend = "app";
  s.version = 7;
  s.servers = {{"s1", 100, ServerState::Up, 1}, {"s2", 100, ServerState::Up, 2}, {"s3", 200, ServerState::Up, 3}};
  return s;
}

// Pins placed the way the engine places new clients: by the Maglev table of the set.
std::vector<admin::PinSample> pins_for(const model::ServerSet& set, int n) {
  const auto m = policy::build_maglev(set);
  std::vector<admin::PinSample> out;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t h = stable_hash64("client-" + std::to_string(i), 42);
    out.push_back({h, m.table.pick(h), i % 2 == 0});
  }
  return out;
}

std::uint64_t on(const std::vector<admin::PinSample>& pins, int server) {
  std::uint64_t n = 0;
  for (const auto& p : pins) n += p.server == server;
  return n;
}

}  // namespace

TEST_CASE("a server in maintenance moves exactly its own pins, onto the others", "[admin][dryrun]") {
  const auto before = three();
  const auto pins = pins_for(before, 6000);
  model::ServerSet after;
  std::string error;
  REQUIRE(admin::apply_change(before, {ServerChange::Kind::Maint, "s2", 0}, after, error));
  CHECK(after.servers[1].state == ServerState::Maint);
  CHECK(after.version == before.version + 1);
  const auto d = admin::dry_run_persist(before, after, pins, policy::kMaglevDefaultSize);
  REQUIRE(d.error.empty());
  CHECK(d.pins == 6000);
  CHECK(d.active_pins == 3000);
  CHECK(d.pins_moving == on(pins, 1));
  CHECK(d.share_moving == Approx(static_cast<double>(on(pins, 1)) / 6000.0));
  // About a quarter of the clients are on s2 (weight 100 of 400).
  CHECK(d.share_moving == Approx(0.25).margin(0.03));
  std::uint64_t landed = 0;
  for (const auto& dest : d.moving_to) {
    CHECK(dest.server != "s2");
    landed += dest.pins;
  }
  CHECK(landed == d.pins_moving);
  CHECK(d.moving_unplaced == 0);
  // New clients: only s2's share of the hash space changes owner.
  CHECK(d.new_client_share_moved == Approx(0.25).margin(0.01));
  // Re-placing everyone would move s2's clients and (Maglev's minimal disruption) few others.
  CHECK(d.pins_placed_elsewhere >= d.pins_moving);
  CHECK(d.pins_placed_elsewhere <= d.pins_moving + 6000 / 50);
}

TEST_CASE("drain, weight and a new server move no pinned client, only new placements", "[admin][dryrun]") {
  const auto before = three();
  const auto pins = pins_for(before, 4000);
  std::string error;
  model::ServerSet after;

  REQUIRE(admin::apply_change(before, {ServerChange::Kind::Drain, "s3", 0}, after, error));
  auto d = admin::dry_run_persist(before, after, pins, policy::kMaglevDefaultSize);
  CHECK(d.pins_moving == 0);
  CHECK(d.new_client_share_moved == Approx(0.5).margin(0.01));  // s3 held half the hash space

  REQUIRE(admin::apply_change(before, {ServerChange::Kind::Weight, "s1", 250}, after, error));
  d = admin::dry_run_persist(before, after, pins, policy::kMaglevDefaultSize);
  CHECK(d.pins_moving == 0);
  // s1 goes from 1/4 to 250/550 of the space: at least a fifth of the slots change owner.
  CHECK(d.new_client_share_moved >= 0.20);
  CHECK(d.new_client_share_moved <= 0.40);

  REQUIRE(admin::apply_change(before, {ServerChange::Kind::Add, "s4", 256}, after, error));
  REQUIRE(after.servers.size() == 4);
  d = admin::dry_run_persist(before, after, pins, policy::kMaglevDefaultSize);
  CHECK(d.pins_moving == 0);
  CHECK(d.new_client_share_moved == Approx(256.0 / 656).margin(0.05));  // s4's share of the space
  CHECK(d.pins_placed_elsewhere == Approx(4000 * 256.0 / 656).margin(250));
}

TEST_CASE("changes naming the wrong server or weight are refused", "[admin][dryrun]") {
  const auto before = three();
  model::ServerSet after;
  std::string error;
  CHECK_FALSE(admin::apply_change(before, {ServerChange::Kind::Maint, "nope", 0}, after, error));
  CHECK(error.find("no server 'nope'") != std::string::npos);
  CHECK_FALSE(admin::apply_change(before, {ServerChange::Kind::Add, "s1", 10}, after, error));
  CHECK_FALSE(admin::apply_change(before, {ServerChange::Kind::Weight, "s1", 257}, after, error));
  ServerChange::Kind k;
  CHECK(admin::parse_change_kind("leave", k));
  CHECK(k == ServerChange::Kind::Maint);
  CHECK_FALSE(admin::parse_change_kind("explode", k));
}

TEST_CASE("an HSAF peer leaving moves exactly the serials it held", "[admin][dryrun][hsaf]") {
  model::ServerSet peers;
  peers.backend = "cache";
  for (int i = 0; i < 5; ++i) peers.servers.push_back({"c" + std::to_string(i), 1, ServerState::Up, 0});
  const hsaf::SerialRange range{100, 500};
  const auto base = hsaf::build_assignment(peers, range);
  REQUIRE(base.ok());
  model::ServerSet after;
  std::string error;
  REQUIRE(admin::apply_change(peers, {ServerChange::Kind::Maint, "c3", 0}, after, error));
  const auto d = admin::dry_run_hsaf(peers, after, range, {});
  REQUIRE(d.error.empty());
  CHECK(d.serials == 401);
  CHECK(d.moved == base.table.loads()[3]);
  CHECK(d.share_moved == Approx(static_cast<double>(d.moved) / 401.0));
  std::uint32_t after_total = 0;
  for (const auto& l : d.loads) {
    after_total += l.after;
    if (l.peer == "c3") CHECK(l.after == 0);
    else CHECK(l.after >= l.before);  // the others only gain
  }
  CHECK(after_total == 401);
  // A new peer takes serials from every other one.
  REQUIRE(admin::apply_change(peers, {ServerChange::Kind::Add, "c9", 1}, after, error));
  const auto add = admin::dry_run_hsaf(peers, after, range, {});
  CHECK(add.moved > 401 / 6 - 20);
  CHECK(add.moved < 401 / 3);
}
