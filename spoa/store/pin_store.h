// Pins: which server a client (backend, identity kind, key) goes to. One interface for the
// engines' callers; two implementations: this agent's table alone (LocalPins) and the table in
// front of Redis, shared with the other agents (store/redis/shared_pins.h).
//
// A request reads one pin and writes what the engine decided; a response reads up to two and
// writes them. The store never decides: it answers (the local pin, and the shared store's when
// it was asked) and records the writes it is handed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "base/bytes.h"
#include "store/sticky_table.h"

namespace sticky::store {

// The identity kinds a pin may have: the policy layer's IdentityKind 1..5 (agent cookie .. source),
// opaque to the store; policy/persist_engine.cc checks the range matches.
inline constexpr std::uint8_t kMinPinKind = 1;
inline constexpr std::uint8_t kMaxPinKind = 5;

struct PinQuery {
  StickyKey key;
  std::int64_t ttl_ms = 0;  // the backend's TTL: a shared pin not written out for that long has lapsed
};

struct PinAnswer {
  std::optional<StickyEntry> local;   // this agent's pin (a hit slid its expiry)
  std::optional<StickyEntry> shared;  // the shared store's pin, when it was asked and had one
  // The local table cannot answer alone: no pin, or a shared pin not written out for a whole TTL
  // (its copy in the shared store has expired, another agent may have pinned the client since).
  // Set only when a shared store exists and is reachable; ask it with lookup_shared().
  bool ask_shared = false;
  bool lapsed = false;        // the local pin is the lapsed kind above: the shared one replaces it
  bool asked_shared = false;  // lookup_shared() ran (it may have found nothing, or timed out)
};

// One write the engine decided on.
struct PinWrite {
  enum class Type : std::uint8_t {
    New,      // a first pin: the shared store keeps the first writer's (SET NX)
    Move,     // the client moved to another server: the newer version wins
    Refresh,  // a pin in use: its TTL in the shared store is rewritten (about twice per TTL)
    Adopt,    // the shared store's pin (`entry`), merged into the local table
  };
  Type type = Type::New;
  StickyKey key;
  std::string_view backend;  // names, for the shared store's records
  std::string_view server;
  std::uint32_t server_id = 0;
  std::uint32_t version = 0;  // what the engine saw (Refresh); the table numbers New and Move itself
  std::int64_t ttl_ms = 0;
  StickyEntry entry;           // Adopt: the pin to merge
  bool authoritative = false;  // Adopt: replace the local pin whatever the versions say
};

// Written per write: whether the table took it (refusals are counted by the caller).
struct RecordResult {
  std::uint32_t refused = 0;
};

using LookupDone = std::function<void(const PinAnswer&)>;

class PinStore {
 public:
  virtual ~PinStore() = default;

  // The local answer, at once. On a hit the pin's expiry slides.
  virtual PinAnswer lookup(const PinQuery& q, std::int64_t now_ms) = 0;
  // Only after lookup() set ask_shared: completes `answer` from the shared store; `done` runs
  // exactly once on this thread, later (bounded by the lookup deadline) or at once if it cannot ask.
  virtual void lookup_shared(const PinQuery& q, PinAnswer answer, LookupDone done) = 0;
  // The local pin without changing anything (the response phase).
  virtual std::optional<StickyEntry> peek(const StickyKey& key, std::int64_t now_ms) const = 0;
  // Applies the writes in order: the local table first, then the shared store (a write the table
  // refused goes nowhere).
  virtual RecordResult record(std::span<const PinWrite> writes, std::int64_t now_ms) = 0;
};

// The table's answer to `q`: the pin (slid on a hit), and with a shared store `reachable`, whether
// it must be asked too (no pin, or a shared pin not written out for a whole TTL: lapsed).
inline PinAnswer local_answer(StickyTable& table, const PinQuery& q, std::int64_t now_ms, bool reachable) {
  // With the backend's TTL now: a reload's new TTL reaches a pinned client at its next request.
  PinAnswer a{table.lookup(q.key, now_ms, q.ttl_ms), std::nullopt, false, false, false};  // no copy of the pin
  if (!reachable) return a;  // no shared store, or it is down: decide locally, never wait
  if (!a.local) {
    a.ask_shared = true;
  } else if (a.local->last_synced_ms > 0 && now_ms - a.local->last_synced_ms >= q.ttl_ms) {
    // Hits slide the local pin, writes to the shared store are throttled to one per TTL/2: a
    // client seen just before a refresh was due and then idle outlives its shared copy. Ask again.
    a.ask_shared = true;
    a.lapsed = true;
  }
  return a;
}

// This agent's table alone: nothing is shared.
class LocalPins final : public PinStore {
 public:
  explicit LocalPins(StickyTable& table) : table_(table) {}
  PinAnswer lookup(const PinQuery& q, std::int64_t now_ms) override;
  void lookup_shared(const PinQuery& q, PinAnswer answer, LookupDone done) override;
  std::optional<StickyEntry> peek(const StickyKey& key, std::int64_t now_ms) const override;
  RecordResult record(std::span<const PinWrite> writes, std::int64_t now_ms) override;

  // The table half of record(): applies one write locally. Returns the version the table holds
  // for the key, or 0 when it refused the write. `mark_synced`: the shared store gets it now.
  static std::uint32_t apply_local(StickyTable& table, const PinWrite& w, std::int64_t now_ms, bool mark_synced);

 private:
  StickyTable& table_;
};

}  // namespace sticky::store
