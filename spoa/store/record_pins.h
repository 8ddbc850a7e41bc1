// Redis records <-> this agent's pins: a record another agent wrote (read by a lookup, pub/sub or
// warm-up) becomes a table key and entry, and a write the engine decided becomes the record Redis
// keeps. Pure; beside the Redis-backed store (store/redis/shared_pins.h), which is its only user.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "store/pin_store.h"
#include "store/server_registry.h"
#include "store/sticky_record.h"

namespace sticky::store {

// A backend whose pins are shared: its name in the records, and its TTL. Index = backend id.
struct PinBackend {
  std::string name;
  std::int64_t ttl_ms = 0;
};

// The id of the backend named `name`, or -1.
int pin_backend_of(std::span<const PinBackend> backends, std::string_view name);

// The pin `record` describes, keyed for this agent's table. False when the record names a backend
// this agent does not manage, an identity kind it does not know, or a server the registry cannot
// take. `key.bytes` views record.key. `now_ms` is when it was read: it needs no writing back.
bool pin_from_record(const StickyRecord& record, std::span<const PinBackend> backends, ServerRegistry& registry,
                     std::int64_t now_ms, StickyKey& key, StickyEntry& entry);

// The record a New, Move or Refresh write puts in Redis: seen now, expiring one TTL from now,
// with the version the table gave it.
void record_from_write(const PinWrite& w, std::uint32_t version, std::string_view origin, std::int64_t now_ms,
                       StickyRecord& out);

}  // namespace sticky::store
