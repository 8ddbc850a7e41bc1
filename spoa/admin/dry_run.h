// "What moves if...": a server change applied to a copy of a backend's ServerSet, and what that copy
// does to the pinned clients (weighted Maglev, the engine's own placement) and to HSAF serials
// (the real assignment builder). Pure: the caller passes the pins and the sets; nothing changes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hsaf/assignment.h"
#include "hsaf/serial.h"
#include "model/server_set.h"

namespace sticky::admin {

struct ServerChange {
  enum class Kind : std::uint8_t { Maint, Down, Drain, Weight, Add };
  Kind kind = Kind::Maint;
  std::string server;
  std::uint32_t weight = 1;  // Weight and Add
};

// "maint", "down", "drain", "weight", "add" (and "leave" = maint, for an HSAF peer).
bool parse_change_kind(std::string_view text, ServerChange::Kind& out);
std::string_view change_kind_name(ServerChange::Kind k);

// The set after the change; false with `error` when the server is unknown (or, for Add, exists)
// or the weight is out of HAProxy's 0..256.
bool apply_change(const model::ServerSet& before, const ServerChange& change, model::ServerSet& after,
                  std::string& error);

// One pinned client: its placement hash (PersistEngine::placement_hash of its key), the index of its
// server in the `before` set (-1: a server the set no longer has), and whether it is active.
struct PinSample {
  std::uint64_t hash = 0;
  std::int32_t server = -1;
  bool active = false;
};

struct Destination {
  std::string server;
  std::uint64_t pins = 0;
};

struct PersistDryRun {
  std::uint64_t pins = 0;          // pins of the backend
  std::uint64_t active_pins = 0;   // ... seen within the active window
  // Pins whose server would refuse existing clients (DOWN, MAINT): these clients move at their next
  // request, re-placed by the Maglev table of the changed set. Weight changes, drain and a new
  // server move no pinned client: a pin holds while its server accepts existing clients.
  std::uint64_t pins_moving = 0;
  std::uint64_t active_pins_moving = 0;
  double share_moving = 0;         // pins_moving / pins
  std::vector<Destination> moving_to;   // where the moving pins land (by server name)
  std::uint64_t moving_unplaced = 0;    // no server would accept them: HAProxy balances by itself
  // New clients: the share of the placement hash space whose server changes (Maglev slots).
  double new_client_share_moved = 0;
  // Pins whose placement would differ under the new set: the clients that would land elsewhere if
  // their pins were lost (table cleared, TTL passed), a measure of how far the change reshapes the map.
  std::uint64_t pins_placed_elsewhere = 0;
  std::string error;  // Maglev could not be built (e.g. duplicate names)
};

PersistDryRun dry_run_persist(const model::ServerSet& before, const model::ServerSet& after,
                              std::span<const PinSample> pins, std::uint32_t maglev_size);

struct PeerLoad {
  std::string peer;
  std::uint32_t before = 0;
  std::uint32_t after = 0;
};

struct HsafDryRun {
  std::uint32_t serials = 0;
  std::uint32_t moved = 0;  // serials whose peer changes
  double share_moved = 0;
  std::vector<PeerLoad> loads;  // every peer of either set
  std::string error;
};

HsafDryRun dry_run_hsaf(const model::ServerSet& before, const model::ServerSet& after,
                        const hsaf::SerialRange& range, const hsaf::AssignmentOptions& options);

}  // namespace sticky::admin
