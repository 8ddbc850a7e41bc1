// Weighted Maglev build: per-server permutations from name hashes, filled in weighted turns.
#include "policy/maglev.h"

#include <algorithm>
#include <limits>

#include "base/hash.h"

namespace sticky::policy {

std::string_view maglev_error_name(MaglevError e) {
  switch (e) {
    case MaglevError::Ok: return "ok";
    case MaglevError::SizeNotPrime: return "table size is not prime";
    case MaglevError::SizeOutOfRange: return "table size out of range";
    case MaglevError::TooManyServers: return "too many servers for the table size";
    case MaglevError::DuplicateName: return "duplicate server name";
  }
  return "unknown";
}

bool is_prime(std::uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (std::uint32_t d = 3; static_cast<std::uint64_t>(d) * d <= n; d += 2)
    if (n % d == 0) return false;
  return true;
}

struct MaglevBuilder {
  struct Candidate {
    std::string_view name;
    std::uint64_t weight;
    std::int16_t index;  // position in the ServerSet
    std::uint32_t next;  // next slot in this server's preference walk
    std::uint32_t skip;
    std::uint64_t credit = 0;
  };

  static MaglevBuild build(const model::ServerSet& set, std::uint32_t m) {
    MaglevBuild out;
    if (m < 2 || m > kMaglevMaxSize) {
      out.error = MaglevError::SizeOutOfRange;
      return out;
    }
    if (!is_prime(m)) {
      out.error = MaglevError::SizeNotPrime;
      return out;
    }
    if (set.servers.size() > static_cast<std::size_t>(std::numeric_limits<std::int16_t>::max())) {
      out.error = MaglevError::TooManyServers;
      return out;
    }
    std::vector<std::string_view> names;
    names.reserve(set.servers.size());
    for (const model::Server& s : set.servers) names.emplace_back(s.name);
    std::sort(names.begin(), names.end());
    if (std::adjacent_find(names.begin(), names.end()) != names.end()) {
      out.error = MaglevError::DuplicateName;
      return out;
    }

    std::vector<Candidate> c;
    std::uint64_t max_weight = 0;
    for (std::size_t i = 0; i < set.servers.size(); ++i) {
      const model::Server& s = set.servers[i];
      if (!s.accepts_new()) continue;
      const std::uint32_t offset = static_cast<std::uint32_t>(stable_hash64(s.name, kMaglevOffsetSeed) % m);
      const std::uint32_t skip = static_cast<std::uint32_t>(stable_hash64(s.name, kMaglevSkipSeed) % (m - 1) + 1);
      c.push_back({s.name, s.weight, static_cast<std::int16_t>(i), offset, skip});
      max_weight = std::max<std::uint64_t>(max_weight, s.weight);
    }
    if (c.size() > m) {
      out.error = MaglevError::TooManyServers;
      return out;
    }
    out.table.set_version_ = set.version;
    out.table.usable_ = c.size();
    if (c.empty()) return out;
    // Name order, not set order: it decides who claims first in each turn, so it must be the same
    // on every node.
    std::sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) { return a.name < b.name; });

    std::vector<std::int16_t>& slots = out.table.slots_;
    slots.assign(m, -1);
    std::uint32_t filled = 0;
    // Weighted turns: each turn every server earns its weight in credit and claims one slot per
    // max_weight of credit, so the heaviest claims every turn and the others proportionally less.
    while (filled < m) {
      for (Candidate& s : c) {
        s.credit += s.weight;
        if (s.credit < max_weight) continue;
        s.credit -= max_weight;
        while (slots[s.next] != -1) s.next = static_cast<std::uint32_t>((std::uint64_t{s.next} + s.skip) % m);
        slots[s.next] = s.index;
        s.next = static_cast<std::uint32_t>((std::uint64_t{s.next} + s.skip) % m);
        if (++filled == m) break;
      }
    }
    return out;
  }
};

MaglevBuild build_maglev(const model::ServerSet& set, std::uint32_t table_size) { return MaglevBuilder::build(set, table_size); }

}  // namespace sticky::policy
