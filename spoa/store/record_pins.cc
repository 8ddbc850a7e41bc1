// Translation between Redis records and table pins (see record_pins.h).
#include "store/record_pins.h"

#include <algorithm>

namespace sticky::store {

int pin_backend_of(std::span<const PinBackend> backends, std::string_view name) {
  if (name.empty()) return -1;  // the ids of removed backends have no name
  for (std::size_t id = 0; id < backends.size(); ++id)
    if (backends[id].name == name) return static_cast<int>(id);
  return -1;
}

bool pin_from_record(const StickyRecord& r, std::span<const PinBackend> backends, ServerRegistry& registry,
                     std::int64_t now_ms, StickyKey& key, StickyEntry& e) {
  const int found = pin_backend_of(backends, r.backend);
  if (found < 0 || r.kind < kMinPinKind || r.kind > kMaxPinKind) return false;
  const auto id = static_cast<std::size_t>(found);
  e.server_id = registry.intern(r.backend, r.server);
  if (e.server_id == kNoServerId) return false;
  e.created_ms = r.created_ms;
  // The table slides a pin by expires - last_seen on each hit. A pin kept alive elsewhere by TTL
  // refreshes has an old last_seen and a near expiry: count it as seen one TTL before it expires,
  // so it slides by the configured TTL and not by its age.
  e.last_seen_ms = std::max(r.last_seen_ms, r.expires_ms - backends[id].ttl_ms);
  e.expires_ms = r.expires_ms;
  e.last_synced_ms = now_ms;  // it came from the store: no need to write it back
  e.version = static_cast<std::uint32_t>(r.version);
  key = {static_cast<std::uint16_t>(id), r.kind, r.key};
  return true;
}

void record_from_write(const PinWrite& w, std::uint32_t version, std::string_view origin, std::int64_t now_ms,
                       StickyRecord& r) {
  r.backend.assign(w.backend);
  r.kind = w.key.kind;
  r.key.assign(w.key.bytes);
  r.server.assign(w.server);
  r.created_ms = now_ms;
  r.last_seen_ms = now_ms;
  r.expires_ms = now_ms + w.ttl_ms;
  r.origin.assign(origin);
  r.version = version;
}

}  // namespace sticky::store
