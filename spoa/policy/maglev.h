// Weighted Maglev lookup table: hash -> server index, built from a ServerSet keyed by server names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "model/server_set.h"

namespace sticky::policy {

inline constexpr std::uint32_t kMaglevDefaultSize = 65537;
inline constexpr std::uint32_t kMaglevMaxSize = 5000011;  // ~10 MB of slots; larger buys nothing
// Seeds for the two per-server hashes (preference offset and skip). Changing them moves keys on
// every node at once, so they are part of the placement contract like stable_hash64 itself.
inline constexpr std::uint64_t kMaglevOffsetSeed = 0x6d61676c65762d6fULL;  // "maglev-o"
inline constexpr std::uint64_t kMaglevSkipSeed = 0x6d61676c65762d73ULL;    // "maglev-s"

enum class MaglevError : std::uint8_t {
  Ok = 0,
  SizeNotPrime = 1,    // the skip walk only covers every slot when the size is prime
  SizeOutOfRange = 2,  // below 2 or above kMaglevMaxSize
  TooManyServers = 3,  // more usable servers than slots, or more than an int16 index holds
  DuplicateName = 4,   // two servers share a name: placement could not tell them apart
};
std::string_view maglev_error_name(MaglevError e);

bool is_prime(std::uint32_t n);

// Immutable once built. Two processes given sets with the same (name, weight, accepts_new) servers
// build identical tables, whatever the order of the servers in the set, because servers fill
// slots in name order and their preference lists hash only the name.
class MaglevTable {
 public:
  MaglevTable() = default;  // empty: pick() returns -1

  // Index into the ServerSet's `servers` of the server owning `hash`, or -1 when no server
  // accepts new clients.
  int pick(std::uint64_t hash) const {
    return slots_.empty() ? -1 : slots_[static_cast<std::size_t>(hash % slots_.size())];
  }

  std::size_t size() const { return slots_.size(); }
  std::uint64_t set_version() const { return set_version_; }
  std::size_t usable_servers() const { return usable_; }
  std::span<const std::int16_t> slots() const { return slots_; }

 private:
  friend struct MaglevBuilder;
  std::vector<std::int16_t> slots_;
  std::uint64_t set_version_ = 0;
  std::size_t usable_ = 0;
};

struct MaglevBuild {
  MaglevError error = MaglevError::Ok;
  MaglevTable table;  // empty unless error == Ok
};

// Servers with accepts_new() take slots in proportion to their weight (each gets its share of
// table_size up to one slot of rounding); the others get none.
MaglevBuild build_maglev(const model::ServerSet& set, std::uint32_t table_size = kMaglevDefaultSize);

}  // namespace sticky::policy
