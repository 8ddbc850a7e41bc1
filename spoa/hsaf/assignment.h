// Serial -> peer table for one backend: weighted, balanced, and moving only a lost peer's serials.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hsaf/serial.h"
#include "model/server_set.h"

namespace sticky::hsaf {

inline constexpr std::int32_t kNoPeer = -1;

// Build-time knobs (plain data). balance_slack_permille bounds each peer's load at
// floor(share * (1 + slack)) serials (never below ceil(share)), where share = count * weight / total.
struct AssignmentOptions {
  std::uint32_t balance_slack_permille = 80;
};

// Immutable once built; lookup is one array index. Peer indices refer to ServerSet::servers.
class AssignmentTable {
 public:
  AssignmentTable() = default;

  const SerialRange& range() const { return range_; }
  // The peer for a serial in range(), or kNoPeer when the backend has no usable peer.
  std::int32_t peer_of(std::uint32_t serial) const { return peer_of_[serial - range_.min]; }
  bool empty() const { return usable_peers_ == 0; }
  std::uint32_t usable_peers() const { return usable_peers_; }
  // Serials held by each server (same indexing as ServerSet::servers).
  const std::vector<std::uint32_t>& loads() const { return loads_; }
  // Serials whose base peer was unusable and were placed on a fallback peer.
  std::uint32_t reassigned() const { return reassigned_; }

 private:
  friend struct AssignmentBuilder;
  SerialRange range_{};
  std::vector<std::int32_t> peer_of_;
  std::vector<std::uint32_t> loads_;
  std::uint32_t usable_peers_ = 0;
  std::uint32_t reassigned_ = 0;
};

struct AssignmentBuild {
  AssignmentTable table;
  std::vector<std::string> errors;  // non-empty: the table is unusable
  bool ok() const { return errors.empty(); }
};

// Builds the table for `range` over `servers`. Deterministic in (names, weights, states, range):
// server order is irrelevant. Errors: invalid range, duplicate or empty server names.
//
// Algorithm (quota-bounded rendezvous in two stages):
//  1. Base: every configured server (any state; weight 0 counts as 1 here) gets a quota
//     max(ceil(share), floor(share * (1 + slack))). All (serial, server) pairs are ranked by the
//     weighted rendezvous key -log2(u) / weight, u = hash(server name, serial) in (0, 1], and taken
//     greedily best-first while the server has quota. The result depends only on the set, never on history.
//  2. Servers that do not accept new clients (DOWN, MAINT, DRAIN, weight 0) give up their serials,
//     which are placed the same greedy way on usable servers within quotas recomputed over the
//     usable weight. Nothing else moves, so a peer going down moves exactly its own serials and
//     coming back restores the previous table.
// All arithmetic is integer (fixed-point log2), so every platform builds the identical table.
AssignmentBuild build_assignment(const model::ServerSet& servers, const SerialRange& range,
                                 const AssignmentOptions& options = {});

// The rendezvous hash of (server name, serial), exposed for tests.
std::uint64_t rendezvous_hash(std::string_view server_name, std::uint32_t serial);
// -log2(x / 2^63) in Q32 fixed point for x in [1, 2^63], exact and platform-independent.
std::uint64_t neg_log2_q32(std::uint64_t x);

}  // namespace sticky::hsaf
