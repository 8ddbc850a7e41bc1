// Builds the serial -> peer table: greedy quota-bounded weighted rendezvous, then displaced serials only.
#include "hsaf/assignment.h"

#include <algorithm>
#include <bit>
#include <numeric>

#include "base/hash.h"

namespace sticky::hsaf {

namespace {

__extension__ using U128 = unsigned __int128;

constexpr std::uint64_t kRendezvousSeed = 0x4853414652454e44ULL;  // "HSAFREND"

// One candidate (serial, server) with its rendezvous cost; lower cost is preferred.
struct Pair {
  std::uint64_t cost;      // -log2(u) in Q32
  std::uint32_t weight;
  std::uint32_t serial;    // offset within the range
  std::uint32_t rank;      // server's position in name order (tie-break independent of input order)
};

// cost_a / weight_a < cost_b / weight_b, compared exactly; ties by serial then name order.
bool better(const Pair& a, const Pair& b) {
  const U128 lhs = static_cast<U128>(a.cost) * b.weight;
  const U128 rhs = static_cast<U128>(b.cost) * a.weight;
  if (lhs != rhs) return lhs < rhs;
  if (a.serial != b.serial) return a.serial < b.serial;
  return a.rank < b.rank;
}

// max(ceil(share), floor(share * (1 + slack))) with share = count * weight / total, in integers.
std::uint32_t quota(std::uint32_t count, std::uint64_t weight, std::uint64_t total, std::uint32_t slack_pm) {
  const U128 num = static_cast<U128>(count) * weight;
  const auto ceil_share = static_cast<std::uint64_t>((num + total - 1) / total);
  const auto slack_share = static_cast<std::uint64_t>(num * (1000U + slack_pm) / (static_cast<U128>(total) * 1000U));
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(std::max(ceil_share, slack_share), count));
}

// Greedy best-first assignment of `serials` (offsets) to `members` (ranks) within `room` per rank.
void place_greedy(const std::vector<std::uint32_t>& serials, const std::vector<std::uint32_t>& members,
                  const std::vector<std::uint32_t>& weight_of_rank, const std::vector<std::uint64_t>& name_hash,
                  std::uint32_t range_min, std::vector<std::uint32_t>& room, std::vector<std::int32_t>& out_rank) {
  std::vector<Pair> pairs;
  pairs.reserve(serials.size() * members.size());
  for (std::uint32_t off : serials) {
    const std::uint64_t serial_mix = fmix64(std::uint64_t{range_min + off} ^ kRendezvousSeed);
    for (std::uint32_t rank : members) {
      const std::uint64_t h = fmix64(name_hash[rank] ^ serial_mix);
      pairs.push_back({neg_log2_q32((h >> 1) + 1), weight_of_rank[rank], off, rank});
    }
  }
  std::sort(pairs.begin(), pairs.end(), better);
  std::size_t left = serials.size();
  for (const Pair& p : pairs) {
    if (left == 0) break;
    if (out_rank[p.serial] != kNoPeer || room[p.rank] == 0) continue;
    out_rank[p.serial] = static_cast<std::int32_t>(p.rank);
    --room[p.rank];
    --left;
  }
}

}  // namespace

std::uint64_t neg_log2_q32(std::uint64_t x) {
  // log2(x) = e + log2(m), m = x / 2^e in [1, 2); the fraction comes bit by bit from squaring m.
  const int e = 63 - std::countl_zero(x);
  // m in Q62, [2^62, 2^63): shift left for small x, right for x >= 2^63 (never by a negative count)
  std::uint64_t m = e <= 62 ? x << (62 - e) : x >> (e - 62);
  std::uint64_t frac = 0;
  for (int i = 0; i < 32; ++i) {
    m = static_cast<std::uint64_t>((static_cast<U128>(m) * m) >> 62);  // in [2^62, 2^64)
    frac <<= 1;
    if (m >= (std::uint64_t{1} << 63)) {
      frac |= 1;
      m >>= 1;
    }
  }
  const std::uint64_t log2_q32 = (static_cast<std::uint64_t>(e) << 32) | frac;
  return (std::uint64_t{63} << 32) - log2_q32;
}

std::uint64_t rendezvous_hash(std::string_view server_name, std::uint32_t serial) {
  const std::uint64_t name_hash = stable_hash64(server_name, kRendezvousSeed);
  return fmix64(name_hash ^ fmix64(std::uint64_t{serial} ^ kRendezvousSeed));
}

struct AssignmentBuilder {
  static AssignmentBuild build(const model::ServerSet& set, const SerialRange& range,
                               const AssignmentOptions& options) {
    AssignmentBuild out;
    if (range.max < range.min || range.count() > kMaxSerialCount) {
      out.errors.push_back("serial range " + std::to_string(range.min) + ".." + std::to_string(range.max) +
                           " is invalid for backend '" + set.backend + "'");
      return out;
    }
    const std::size_t n = set.servers.size();
    std::vector<std::uint32_t> by_name(n);  // rank -> server index
    std::iota(by_name.begin(), by_name.end(), 0U);
    std::sort(by_name.begin(), by_name.end(),
              [&](std::uint32_t a, std::uint32_t b) { return set.servers[a].name < set.servers[b].name; });
    for (std::size_t r = 0; r < n; ++r) {
      const std::string& name = set.servers[by_name[r]].name;
      if (name.empty()) out.errors.push_back("backend '" + set.backend + "' has a server with an empty name");
      if (r > 0 && name == set.servers[by_name[r - 1]].name)
        out.errors.push_back("backend '" + set.backend + "' lists server '" + name + "' more than once");
    }
    if (!out.errors.empty()) return out;

    const std::uint32_t count = range.count();
    AssignmentTable& t = out.table;
    t.range_ = range;
    t.peer_of_.assign(count, kNoPeer);
    t.loads_.assign(n, 0);

    std::vector<std::uint64_t> name_hash(n);
    std::vector<std::uint32_t> base_weight(n), usable_weight(n);
    std::vector<std::uint32_t> all_ranks, usable_ranks;
    std::uint64_t base_total = 0, usable_total = 0;
    for (std::uint32_t r = 0; r < n; ++r) {
      const model::Server& s = set.servers[by_name[r]];
      name_hash[r] = stable_hash64(s.name, kRendezvousSeed);
      base_weight[r] = s.weight > 0 ? s.weight : 1;
      base_total += base_weight[r];
      all_ranks.push_back(r);
      if (s.accepts_new()) {
        usable_weight[r] = s.weight;
        usable_total += s.weight;
        usable_ranks.push_back(r);
      }
    }
    t.usable_peers_ = static_cast<std::uint32_t>(usable_ranks.size());
    if (usable_ranks.empty()) return out;

    // Stage 1: the base table over every configured server.
    std::vector<std::uint32_t> all_serials(count);
    std::iota(all_serials.begin(), all_serials.end(), 0U);
    std::vector<std::uint32_t> room(n);
    for (std::uint32_t r = 0; r < n; ++r)
      room[r] = quota(count, base_weight[r], base_total, options.balance_slack_permille);
    std::vector<std::int32_t> rank_of(count, kNoPeer);
    place_greedy(all_serials, all_ranks, base_weight, name_hash, range.min, room, rank_of);

    // Stage 2: serials of unusable servers go to usable ones, within quotas over the usable weight.
    // Base loads never exceed these larger quotas, and the quotas sum to >= count, so all fit.
    std::vector<std::uint32_t> load(n, 0), displaced;
    for (std::uint32_t off = 0; off < count; ++off) {
      const auto r = static_cast<std::uint32_t>(rank_of[off]);
      if (usable_weight[r] > 0) {
        ++load[r];
      } else {
        displaced.push_back(off);
        rank_of[off] = kNoPeer;
      }
    }
    if (!displaced.empty()) {
      for (std::uint32_t r = 0; r < n; ++r) {
        const std::uint32_t q =
            usable_weight[r] > 0 ? quota(count, usable_weight[r], usable_total, options.balance_slack_permille) : 0;
        room[r] = q > load[r] ? q - load[r] : 0;
      }
      place_greedy(displaced, usable_ranks, usable_weight, name_hash, range.min, room, rank_of);
    }
    t.reassigned_ = static_cast<std::uint32_t>(displaced.size());

    for (std::uint32_t off = 0; off < count; ++off) {
      const std::uint32_t index = by_name[static_cast<std::uint32_t>(rank_of[off])];
      t.peer_of_[off] = static_cast<std::int32_t>(index);
      ++t.loads_[index];
    }
    return out;
  }
};

AssignmentBuild build_assignment(const model::ServerSet& servers, const SerialRange& range,
                                 const AssignmentOptions& options) {
  return AssignmentBuilder::build(servers, range, options);
}

}  // namespace sticky::hsaf
