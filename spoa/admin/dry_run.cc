// Dry-run arithmetic over real Maglev tables and real HSAF assignments (see dry_run.h).
#include "admin/dry_run.h"

#include <algorithm>
#include <map>

#include "policy/maglev.h"

namespace sticky::admin {

bool parse_change_kind(std::string_view text, ServerChange::Kind& out) {
  using K = ServerChange::Kind;
  if (text == "maint" || text == "leave") out = K::Maint;
  else if (text == "down") out = K::Down;
  else if (text == "drain") out = K::Drain;
  else if (text == "weight") out = K::Weight;
  else if (text == "add") out = K::Add;
  else return false;
  return true;
}

std::string_view change_kind_name(ServerChange::Kind k) {
  switch (k) {
    case ServerChange::Kind::Maint: return "maint";
    case ServerChange::Kind::Down: return "down";
    case ServerChange::Kind::Drain: return "drain";
    case ServerChange::Kind::Weight: return "weight";
    case ServerChange::Kind::Add: return "add";
  }
  return "?";
}

bool apply_change(const model::ServerSet& before, const ServerChange& change, model::ServerSet& after,
                  std::string& error) {
  using K = ServerChange::Kind;
  after = before;
  after.version = before.version + 1;
  if ((change.kind == K::Weight || change.kind == K::Add) && change.weight > 256) {
    error = "weight: HAProxy takes 0 to 256, got " + std::to_string(change.weight);
    return false;
  }
  const int i = before.find(change.server);
  if (change.kind == K::Add) {
    if (i >= 0) {
      error = "server '" + change.server + "' is already in backend '" + before.backend + "'";
      return false;
    }
    after.servers.push_back({change.server, change.weight, model::ServerState::Up, 0});
    return true;
  }
  if (i < 0) {
    error = "no server '" + change.server + "' in backend '" + before.backend + "'";
    return false;
  }
  model::Server& s = after.servers[static_cast<std::size_t>(i)];
  switch (change.kind) {
    case K::Maint: s.state = model::ServerState::Maint; break;
    case K::Down: s.state = model::ServerState::Down; break;
    case K::Drain: s.state = model::ServerState::Drain; break;
    case K::Weight: s.weight = change.weight; break;
    case K::Add: break;
  }
  return true;
}

PersistDryRun dry_run_persist(const model::ServerSet& before, const model::ServerSet& after,
                              std::span<const PinSample> pins, std::uint32_t maglev_size) {
  PersistDryRun r;
  const policy::MaglevBuild mb = policy::build_maglev(before, maglev_size);
  const policy::MaglevBuild ma = policy::build_maglev(after, maglev_size);
  if (mb.error != policy::MaglevError::Ok || ma.error != policy::MaglevError::Ok) {
    r.error = "maglev: " + std::string(policy::maglev_error_name(mb.error != policy::MaglevError::Ok ? mb.error : ma.error));
    return r;
  }
  // Placement compares server names: Add changes the indices of the set.
  auto name_at = [](const model::ServerSet& set, int idx) -> const std::string* {
    return idx >= 0 ? &set.servers[static_cast<std::size_t>(idx)].name : nullptr;
  };
  const auto sb = mb.table.slots();
  const auto sa = ma.table.slots();
  if (!sb.empty() || !sa.empty()) {
    std::size_t changed = 0;
    const std::size_t n = std::max(sb.size(), sa.size());
    for (std::size_t k = 0; k < n; ++k) {
      const std::string* x = k < sb.size() ? name_at(before, sb[k]) : nullptr;
      const std::string* y = k < sa.size() ? name_at(after, sa[k]) : nullptr;
      if ((x == nullptr) != (y == nullptr) || (x && *x != *y)) ++changed;
    }
    r.new_client_share_moved = static_cast<double>(changed) / static_cast<double>(n);
  }
  // Index of each `before` server in `after` (same names, maybe other positions).
  std::vector<int> to_after(before.servers.size(), -1);
  for (std::size_t i = 0; i < before.servers.size(); ++i) to_after[i] = after.find(before.servers[i].name);
  std::map<std::string, std::uint64_t> dest;
  for (const PinSample& p : pins) {
    ++r.pins;
    if (p.active) ++r.active_pins;
    const int now_idx = p.server >= 0 && static_cast<std::size_t>(p.server) < to_after.size()
                            ? to_after[static_cast<std::size_t>(p.server)]
                            : -1;
    const int placed = ma.table.pick(p.hash);
    const std::string* placed_name = name_at(after, placed);
    const std::string* current = p.server >= 0 && static_cast<std::size_t>(p.server) < before.servers.size()
                                     ? &before.servers[static_cast<std::size_t>(p.server)].name
                                     : nullptr;
    if (!placed_name || !current || *placed_name != *current) ++r.pins_placed_elsewhere;
    const bool stays = now_idx >= 0 && after.servers[static_cast<std::size_t>(now_idx)].accepts_existing();
    if (stays) continue;
    ++r.pins_moving;
    if (p.active) ++r.active_pins_moving;
    if (placed_name) ++dest[*placed_name];
    else ++r.moving_unplaced;
  }
  r.share_moving = r.pins ? static_cast<double>(r.pins_moving) / static_cast<double>(r.pins) : 0.0;
  for (const auto& [name, n] : dest) r.moving_to.push_back({name, n});
  return r;
}

HsafDryRun dry_run_hsaf(const model::ServerSet& before, const model::ServerSet& after,
                        const hsaf::SerialRange& range, const hsaf::AssignmentOptions& options) {
  HsafDryRun r;
  const hsaf::AssignmentBuild b = hsaf::build_assignment(before, range, options);
  const hsaf::AssignmentBuild a = hsaf::build_assignment(after, range, options);
  if (!b.ok() || !a.ok()) {
    r.error = !b.ok() ? b.errors.front() : a.errors.front();
    return r;
  }
  r.serials = range.count();
  auto peer_name = [](const model::ServerSet& set, std::int32_t p) -> std::string_view {
    return p >= 0 ? std::string_view(set.servers[static_cast<std::size_t>(p)].name) : std::string_view();
  };
  for (std::uint32_t s = range.min;; ++s) {
    if (peer_name(before, b.table.peer_of(s)) != peer_name(after, a.table.peer_of(s))) ++r.moved;
    if (s == range.max) break;
  }
  r.share_moved = r.serials ? static_cast<double>(r.moved) / static_cast<double>(r.serials) : 0.0;
  std::map<std::string, PeerLoad> loads;
  for (std::size_t i = 0; i < before.servers.size(); ++i) {
    auto& l = loads[before.servers[i].name];
    l.peer = before.servers[i].name;
    l.before = i < b.table.loads().size() ? b.table.loads()[i] : 0;
  }
  for (std::size_t i = 0; i < after.servers.size(); ++i) {
    auto& l = loads[after.servers[i].name];
    l.peer = after.servers[i].name;
    l.after = i < a.table.loads().size() ? a.table.loads()[i] : 0;
  }
  for (auto& kv : loads) r.loads.push_back(kv.second);
  return r;
}

}  // namespace sticky::admin
