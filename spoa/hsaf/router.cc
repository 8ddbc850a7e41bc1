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

  auto attach = [&](RegionTables& t, const RegionConfig& rc, const model::ServerSetPtr& set, bool need1,
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
  r->make_slots_and_plans();
  out.router = std::move(r);
  return out;
}

void Router::make_slots_and_plans() {
  const bool parent = cfg_.tier == Tier::Parent;
  const int slot_count = parent ? 2 : 1;
  // Slot 0 is the region of serial set 1, slot 1 the region of set 2; each falls back to overflow.
  for (int i = 0; i < slot_count; ++i) {
    const bool second = i == 1;
    auto usable = [second](const RegionTables& r) -> const AssignmentTable* {
      if (r.cfg == nullptr) return nullptr;
      const AssignmentTable& t = second ? r.table2 : r.table1;
      return t.empty() ? nullptr : &t;
    };
    const RegionTables* source = second ? &other_ : &region_;
    const AssignmentTable* table = usable(*source);
    Slot& slot = slots_[i];
    if (table == nullptr) {
      source = &overflow_;
      table = usable(overflow_);
      slot.via_overflow = table != nullptr;
    }
    if (table == nullptr) continue;
    slot.usable = true;
    const SerialRange& range = second ? cfg_.serials2 : cfg_.serials;
    slot.serial_min = range.min;
    for (std::uint32_t s = range.min; s <= range.max; ++s) slot.peer_by_offset.push_back(table->peer_of(s));
    for (const model::Server& s : source->set->servers) slot.peer_names.emplace_back(s.name);
    slot.region = source->cfg->name;
    slot.backend = source->cfg->backend;
  }

  for (int bit = 0; bit < 2; ++bit) {
    Plan& plan = plans_[bit];
    Route& r = plan.route;
    r.has_serial2 = parent;
    r.other_region_first = parent && bit == 1;
    const int first = r.other_region_first ? 1 : 0;
    int overflow_bits = 0;
    for (int k = 0; k < slot_count; ++k) {
      const int i = k == 0 ? first : 1 - first;
      const Slot& slot = slots_[i];
      if (!slot.usable) {
        ++plan.counts.hop_dropped;
        continue;
      }
      // Both regions replaced by the same overflow region: one visit there is enough.
      if (r.hop_count == 1 && slot.via_overflow && r.hops[0].via_overflow) {
        ++plan.counts.hop_dropped;
        overflow_bits |= 2;
        continue;
      }
      if (slot.via_overflow) overflow_bits |= (k == 0 ? 1 : 2);
      Hop& hop = r.hops[r.hop_count];
      hop.region = slot.region;
      hop.backend = slot.backend;
      hop.via_overflow = slot.via_overflow;
      plan.slot[r.hop_count++] = static_cast<std::uint8_t>(i);
    }
    r.overflow = static_cast<Overflow>(overflow_bits);
    r.status = r.hop_count == 0 ? RouteStatus::NoPeer : RouteStatus::Ok;
    plan.counts.overflow_first_hop = (overflow_bits & 1) != 0;
    plan.counts.overflow_second_hop = (overflow_bits & 2) != 0;
    plan.counts.first_hop_other_region = r.other_region_first;
    plan.counts.no_peer = r.hop_count == 0;
    plan.counts.routed = r.hop_count != 0;
    plan.rare_counts = overflow_bits != 0 || plan.counts.hop_dropped != 0;
  }
}

[[gnu::always_inline]] inline void Router::fill_hop(Hop& hop, const Slot& slot, std::uint32_t offset) {
  const std::int32_t idx = slot.peer_by_offset[offset];  // a usable slot's table maps every serial
  hop.peer = slot.peer_names[static_cast<std::size_t>(idx)];
  hop.peer_index = idx;
  hop.serial = slot.serial_min + offset;
}

[[gnu::always_inline]] inline Route Router::route_from_hashes(std::uint64_t h1, std::uint64_t h2, std::uint64_t coin,
                                                             HsafCounters& c) const {
  const Plan& plan = plans_[coin >> 63];
  Route r = plan.route;
  std::uint32_t offsets[2] = {div1_.mod(h1), 0};
  r.serial1 = cfg_.serials.min + offsets[0];
  r.bucket = offsets[0];
  if (cfg_.tier == Tier::Parent) {
    offsets[1] = div2_.mod(h2);
    r.serial2 = cfg_.serials2.min + offsets[1];
    r.bucket = offsets[0] * div2_.divisor() + offsets[1];
  }
  if (r.hop_count > 0) fill_hop(r.hops[0], slots_[plan.slot[0]], offsets[plan.slot[0]]);
  if (r.hop_count > 1) fill_hop(r.hops[1], slots_[plan.slot[1]], offsets[plan.slot[1]]);

  const HsafCounters& d = plan.counts;
  c.routed += d.routed;
  c.no_peer += d.no_peer;
  c.first_hop_other_region += d.first_hop_other_region;
  if (plan.rare_counts) {
    c.overflow_first_hop += d.overflow_first_hop;
    c.overflow_second_hop += d.overflow_second_hop;
    c.hop_dropped += d.hop_dropped;
  }
  return r;
}

Route Router::route_hashes(std::uint64_t h1, std::uint64_t h2, std::uint64_t coin, HsafCounters& c) const {
  return route_from_hashes(h1, h2, coin, c);
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
    return route_from_hashes(h.finish(), 0, coin, c);
  }
  DualHasher h(kSerialSeed1, kSerialSeed2);
  normalizer_.feed(host, target, h);
  return route_from_hashes(h.finish_first(), h.finish_second(), coin, c);
}

Route Router::route_custom(std::string_view value, std::uint64_t coin, HsafCounters& c) const {
  if (value.empty()) {
    ++c.bad_input;
    return Route{};
  }
  if (cfg_.tier == Tier::Edge) return route_from_hashes(stable_hash64(value, kSerialSeed1), 0, coin, c);
  // One pass for both seeds: each word is mixed once and folded into the two states.
  DualHasher h(kSerialSeed1, kSerialSeed2);
  h.update(value);
  return route_from_hashes(h.finish_first(), h.finish_second(), coin, c);
}

CharBufferSink Router::normalized(std::string_view host, std::string_view target, std::span<char> out) const {
  CharBufferSink sink(out);
  normalizer_.feed(host, target, sink);
  return sink;
}

}  // namespace sticky::hsaf
