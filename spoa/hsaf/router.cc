// Router build (tables per region and serial set) and the allocation-free per-request routing.
#include "hsaf/router.h"

#include "hsaf/stable_hasher.h"

namespace sticky::hsaf {

std::string_view overflow_reason(Overflow o) {
  switch (o) {
    case Overflow::None: return "none";
    case Overflow::FirstHop: return "first-hop region has no usable peer; overflow region used";
    case Overflow::SecondHop: return "second-hop region has no usable peer; overflow region used";
    case Overflow::BothHops: return "no region has a usable peer; overflow region used";
  }
  return "unknown";
}

std::string_view route_status_name(RouteStatus s) {
  switch (s) {
    case RouteStatus::Ok: return "ok";
    case RouteStatus::NoPeer: return "no-peer";
    case RouteStatus::BadInput: return "bad-input";
  }
  return "unknown";
}

RouterBuild Router::build(const HsafConfig& cfg, const HsafBackends& backends) {
  RouterBuild out;
  ConfigReport rep = validate_config(cfg);
  out.warnings = std::move(rep.warnings);
  out.errors = std::move(rep.errors);
  if (!out.errors.empty()) return out;

  std::shared_ptr<Router> r(new Router(cfg));
  const bool parent = cfg.tier == Tier::Parent;
  const bool has_overflow = !cfg.overflow.backend.empty();

  auto attach = [&](RegionTables& t, const RegionConfig& rc, const policy::ServerSetPtr& set, bool need1,
                    bool need2) {
    t.cfg = &rc;
    if (!set) {
      out.errors.push_back("no server set was supplied for backend '" + rc.backend + "'");
      return;
    }
    if (set->backend != rc.backend) {
      out.errors.push_back("server set for '" + rc.backend + "' is for backend '" + set->backend + "'");
      return;
    }
    t.set = set;
    auto build_one = [&](const SerialRange& range, AssignmentTable& table) {
      AssignmentBuild b = build_assignment(*set, range, cfg.assignment);
      for (std::string& e : b.errors) out.errors.push_back(std::move(e));
      table = std::move(b.table);
    };
    if (need1) build_one(cfg.serials, t.table1);
    if (need2) build_one(cfg.serials2, t.table2);
  };
  attach(r->region_, r->cfg_.region, backends.region, true, false);
  if (parent) attach(r->other_, r->cfg_.other_region, backends.other_region, false, true);
  if (has_overflow) attach(r->overflow_, r->cfg_.overflow, backends.overflow, true, parent);
  if (!out.errors.empty()) return out;
  out.router = std::move(r);
  return out;
}

bool Router::resolve(const RegionTables& r, bool second_set, std::uint32_t serial, Hop& hop) const {
  if (r.cfg == nullptr) return false;
  const AssignmentTable& t = second_set ? r.table2 : r.table1;
  if (t.empty()) return false;
  const std::int32_t idx = t.peer_of(serial);
  hop.region = r.cfg->name;
  hop.backend = r.cfg->backend;
  hop.peer = r.set->servers[static_cast<std::size_t>(idx)].name;
  hop.peer_index = idx;
  hop.serial = serial;
  hop.via_overflow = false;
  return true;
}

void Router::finish(Route& r, std::uint64_t coin, HsafCounters& c) const {
  const bool parent = cfg_.tier == Tier::Parent;
  r.other_region_first = parent && (coin >> 63) != 0;

  // Slot 0 is the region of serial set 1, slot 1 the region of set 2; each falls back to overflow.
  Hop slot[2];
  bool have[2] = {false, false};
  bool overflowed[2] = {false, false};
  const int slots = parent ? 2 : 1;
  for (int i = 0; i < slots; ++i) {
    const bool second = i == 1;
    const std::uint32_t serial = second ? r.serial2 : r.serial1;
    have[i] = resolve(second ? other_ : region_, second, serial, slot[i]);
    if (!have[i]) {
      have[i] = resolve(overflow_, second, serial, slot[i]);
      overflowed[i] = have[i];
      slot[i].via_overflow = have[i];
    }
  }

  const int first = r.other_region_first ? 1 : 0;
  int overflow_bits = 0;
  for (int k = 0; k < slots; ++k) {
    const int i = k == 0 ? first : 1 - first;
    if (!have[i]) {
      ++c.hop_dropped;
      continue;
    }
    // Both regions replaced by the same overflow region: one visit there is enough.
    if (r.hop_count == 1 && overflowed[i] && r.hops[0].via_overflow) {
      ++c.hop_dropped;
      overflow_bits |= 2;
      continue;
    }
    if (overflowed[i]) overflow_bits |= (k == 0 ? 1 : 2);
    r.hops[r.hop_count++] = slot[i];
  }
  r.overflow = static_cast<Overflow>(overflow_bits);
  if (overflow_bits & 1) ++c.overflow_first_hop;
  if (overflow_bits & 2) ++c.overflow_second_hop;
  if (r.other_region_first) ++c.first_hop_other_region;

  if (r.hop_count == 0) {
    r.status = RouteStatus::NoPeer;
    ++c.no_peer;
  } else {
    r.status = RouteStatus::Ok;
    ++c.routed;
  }
}

Route Router::route_hashes(std::uint64_t h1, std::uint64_t h2, std::uint64_t coin, HsafCounters& c) const {
  Route r;
  const std::uint32_t off1 = div1_.mod(h1);
  r.serial1 = cfg_.serials.min + off1;
  r.bucket = off1;
  if (cfg_.tier == Tier::Parent) {
    const std::uint32_t off2 = div2_.mod(h2);
    r.serial2 = cfg_.serials2.min + off2;
    r.has_serial2 = true;
    r.bucket = off1 * div2_.divisor() + off2;
  }
  finish(r, coin, c);
  return r;
}

Route Router::route_url(std::string_view host, std::string_view target, std::uint64_t coin,
                        HsafCounters& c) const {
  if (host.empty() && target.empty()) {
    ++c.bad_input;
    return Route{};
  }
  if (cfg_.tier == Tier::Edge) {
    StableHasher h(kSerialSeed1);
    normalizer_.feed(host, target, h);
    return route_hashes(h.finish(), 0, coin, c);
  }
  DualHasher h(kSerialSeed1, kSerialSeed2);
  normalizer_.feed(host, target, h);
  return route_hashes(h.finish_first(), h.finish_second(), coin, c);
}

Route Router::route_custom(std::string_view value, std::uint64_t coin, HsafCounters& c) const {
  if (value.empty()) {
    ++c.bad_input;
    return Route{};
  }
  const std::uint64_t h1 = stable_hash64(value, kSerialSeed1);
  const std::uint64_t h2 = cfg_.tier == Tier::Parent ? stable_hash64(value, kSerialSeed2) : 0;
  return route_hashes(h1, h2, coin, c);
}

CharBufferSink Router::normalized(std::string_view host, std::string_view target, std::span<char> out) const {
  CharBufferSink sink(out);
  normalizer_.feed(host, target, sink);
  return sink;
}

}  // namespace sticky::hsaf
