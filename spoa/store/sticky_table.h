// In-process sticky table: (backend, identity kind, key bytes) -> server id with sliding TTL, bounded size.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "base/counter_list.h"

namespace sticky::store {

inline constexpr std::size_t kMaxStickyKeyBytes = 255;
// Backend ids with a partition of their own are below this bound (ids at or above it share
// partition 0): a fixed array maps ids to partitions, so the lookup never takes a lock and a
// partition added later (a config reload) is published with one atomic store.
inline constexpr std::uint16_t kMaxStickyBackendIds = 4096;
// Server ids come from ServerRegistry, which hands them out densely from 0; the bound keeps a
// corrupt id from making the per-server counters allocate gigabytes.
inline constexpr std::uint32_t kMaxStickyServerId = (1U << 20) - 1;
// Stored times are whole seconds since this instant (2020-01-01T00:00:00Z) in 32 bits, which
// lasts until 2156 and keeps an entry small. Earlier times clamp to it.
inline constexpr std::int64_t kStickyEpochMs = 1577836800000LL;
// The product default; the per-backend TTL is configuration and is passed to every upsert.
inline constexpr std::int64_t kDefaultStickyTtlMs = 30 * 60 * 1000;

struct StickyKey {
  std::uint16_t backend = 0;  // backend id chosen by the caller (e.g. config order)
  std::uint8_t kind = 0;      // identity kind (client IP, cookie, header...), defined by the engine
  std::string_view bytes;     // raw identity, 1..kMaxStickyKeyBytes bytes; copied on insert
};

// A copy of one entry. Times are milliseconds since the Unix epoch at whole-second resolution.
struct StickyEntry {
  std::uint32_t server_id = 0;
  std::int64_t created_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::int64_t expires_ms = 0;      // last_seen + TTL: every hit slides it
  std::int64_t last_synced_ms = 0;  // last TTL write to the shared store; 0 = never
  std::uint32_t version = 0;        // bumps each time the key moves to another server
};

enum class StickyStatus : std::uint8_t {
  Ok = 0,
  BadKey = 1,     // empty or longer than kMaxStickyKeyBytes
  BadServer = 2,  // server id above kMaxStickyServerId
  BadTtl = 3,     // TTL not positive
  KeySpaceFull = 4,  // the shard's 4 GiB slab for long keys is exhausted (needs > 16M keys of ~256 bytes)
};
std::string_view sticky_status_name(StickyStatus s);

enum class RemoteOutcome : std::uint8_t {
  Inserted = 0,        // key was unknown here
  Replaced = 1,        // remote entry won the comparison
  IgnoredOlder = 2,    // local entry won the comparison
  IgnoredExpired = 3,  // remote entry had already expired at `now`
  Rejected = 4,        // bad key / server / TTL, or no key space (see StickyStatus)
};

struct UpsertResult {
  StickyStatus status = StickyStatus::Ok;
  std::uint32_t version = 0;  // version stored for the key
  bool created = false;       // true if the key was not present (or had expired)
};

// Plain counters, summed over shards on read. Every removal has exactly one reason.
// X(field, metric, label, type, help): the list the exporter walks (base/counter_list.h).
#define STICKY_TABLE_COUNTERS(X)                                                                         \
  X(lookups, "sticky_table_lookups_total", "", Counter, "sticky table lookups (request decisions)")      \
  X(hits, "sticky_table_hits_total", "", Counter, "lookups that found a live pin (its TTL slid)")         \
  X(misses, "sticky_table_misses_total", "", Counter, "lookups that found no pin, or an expired one")     \
  X(inserts, "sticky_table_inserts_total", "", Counter, "pins created by this agent")                    \
  X(updates, "sticky_table_updates_total", "", Counter, "pins rewritten by this agent (same or other server)") \
  X(moves, "sticky_table_moves_total", "", Counter, "rewrites that changed the server (version bumped)")  \
  X(expired, "sticky_table_expired_total", "", Counter,                                                  \
    "entries removed after their TTL (by lookups, inserts and the once-a-second sweep)")                 \
  X(evicted_capacity, "sticky_table_evicted_total", "", Counter,                                         \
    "live entries evicted because their backend's capacity was reached (oldest first)")                 \
  X(erased, "sticky_table_erased_total", "", Counter, "entries removed on request")                     \
  X(remote_inserted, "sticky_table_remote_total", "outcome=\"inserted\"", Counter,                       \
    "pins from other agents merged into the table, by outcome")                                          \
  X(remote_replaced, "sticky_table_remote_total", "outcome=\"replaced\"", Counter, "")                   \
  X(remote_ignored_older, "sticky_table_remote_total", "outcome=\"ignored_older\"", Counter, "")          \
  X(remote_ignored_expired, "sticky_table_remote_total", "outcome=\"ignored_expired\"", Counter, "")      \
  X(rejected_bad_key, "sticky_table_rejected_total", "reason=\"bad_key\"", Counter,                      \
    "writes the table refused, by why (empty or over-long key, server id out of range, no TTL, no key space)") \
  X(rejected_bad_server, "sticky_table_rejected_total", "reason=\"bad_server\"", Counter, "")            \
  X(rejected_bad_ttl, "sticky_table_rejected_total", "reason=\"bad_ttl\"", Counter, "")                  \
  X(rejected_key_space_full, "sticky_table_rejected_total", "reason=\"key_space_full\"", Counter, "")

struct StickyTableCounters {
  STICKY_TABLE_COUNTERS(STICKY_COUNTER_FIELD)
};
#define STICKY_X(f, ...) STICKY_COUNTER_ROW(StickyTableCounters, f, __VA_ARGS__)
inline constexpr CounterField<StickyTableCounters> kStickyTableCounterFields[] = {STICKY_TABLE_COUNTERS(STICKY_X)};
#undef STICKY_X

struct StickyTableMemory {
  std::size_t entries = 0;
  std::size_t key_bytes = 0;       // sum of key lengths of present entries
  std::size_t used_bytes = 0;      // entry records in use + bucket arrays + key arena + shard headers
  std::size_t reserved_bytes = 0;  // address space reserved for the full capacity (untouched pages are not resident)
  // used_bytes per entry minus that entry's key bytes; the design target is <= 80.
  double overhead_per_entry() const {
    return entries ? static_cast<double>(used_bytes - key_bytes) / static_cast<double>(entries) : 0.0;
  }
};

struct StickyTableOptions {
  // Entries for backends without an entry in backend_capacity (all of them when it is empty).
  std::size_t capacity = 1 << 20;
  std::uint32_t shards = 64;  // most shards per partition: a power of two, 1..65536 (see below)
  // backend_capacity[b] > 0 gives backend id b (below kMaxStickyBackendIds) a partition of its own
  // holding at most that many entries: backends never evict each other's entries. 0 = the shared
  // partition. add_partition() gives one to a backend later.
  std::vector<std::size_t> backend_capacity = {};
};

// Thread-safe: the key hash picks one of its partition's shards, each with its own mutex, so
// threads only contend when they touch the same shard. All work is O(1) except sweep_expired().
// Capacity is exact: a partition of capacity C holds at most C entries, whatever the shard count.
// It has S = min(shards, C / 512 rounded down to a power of two) shards (at least 1), and a shard
// holds C / S entries, one more for the first C % S shards, so the shard capacities sum to C. A
// full shard first drops an expired entry found among its 8 least recently seen, else its least
// recently seen entry (counted in evicted_capacity). Shards fill unevenly by chance, so the first
// evictions can come slightly before the partition as a whole is full (about 1% at 1M entries).
// Expiry: lookups and inserts drop the expired entries they meet; sweep_tick(), called about once
// a second, walks every record within kStickySweepPeriodSec in bounded steps, so size() counts at
// most the entries that expired in the last kStickySweepPeriodSec + 1 seconds beyond the live ones.
// All time arguments are milliseconds since the Unix epoch; the table never reads a clock. Times
// are stored in whole seconds (last_seen floored, TTL rounded up) and an entry is gone from its
// reported expires_ms on: within one second of the exact millisecond deadline.
// Memory: a 60-byte record per entry (keys up to 16 bytes inline, longer ones in a per-shard slab)
// plus 4-8 bytes of bucket heads (capacity rounded up to a power of two): 64-68 bytes per IPv4 entry.
inline constexpr std::uint32_t kStickySweepPeriodSec = 4;
inline constexpr std::size_t kStickySweepChunk = 512;  // records examined per shard lock hold

// The winner of a merge between a local pin and another agent's (apply_remote's rule, for callers
// that decide before the table is written): the remote one when the key is unknown here, when
// `authoritative`, or when its (version, last_seen, server_id) is greater at whole seconds.
bool remote_wins(const std::optional<StickyEntry>& local, const StickyEntry& remote, bool authoritative);
// Whether apply_remote() would take the remote pin at all: a positive TTL, not expired at `now`.
bool remote_usable(const StickyEntry& remote, std::int64_t now_ms);

class StickyTable {
 public:
  explicit StickyTable(StickyTableOptions options = {});
  ~StickyTable();
  StickyTable(const StickyTable&) = delete;
  StickyTable& operator=(const StickyTable&) = delete;

  // Hit: refreshes last_seen to `now` (sliding the expiry) and returns the refreshed entry.
  // An expired entry is removed and reported as a miss. `ttl_ms` > 0: the backend's TTL now, which
  // a config reload may have changed since the pin was written: idle longer than it (or than the
  // entry's own TTL) is expired, and a hit re-arms the entry with it, so a new TTL reaches the
  // clients already pinned at their next request.
  std::optional<StickyEntry> lookup(const StickyKey& key, std::int64_t now_ms, std::int64_t ttl_ms = 0);
  // Like lookup() but changes nothing (no refresh, no removal, no counters).
  std::optional<StickyEntry> peek(const StickyKey& key, std::int64_t now_ms) const;

  // Pins the key to server_id, last_seen = now, expiry = now + ttl. Version rule: a new key gets
  // max(1, version_hint); an existing key keeps its version if the server is unchanged, else
  // version + 1; either way the result is at least version_hint (e.g. the version read from Redis).
  UpsertResult upsert(const StickyKey& key, std::uint32_t server_id, std::int64_t now_ms,
                      std::int64_t ttl_ms, std::uint32_t version_hint = 0);

  bool erase(const StickyKey& key);

  // Merges an entry learned from another node or the shared store. Conflict rule: the entry with
  // the greater (version, last_seen, server_id) tuple wins, compared in that order. Higher version
  // means a later move; on equal versions the fresher one carries the longer expiry; the server id
  // only breaks exact ties so every node converges on the same winner. The winner's fields are
  // kept whole, except that `created` keeps the earlier value when the server is unchanged.
  //
  // With `authoritative` the comparison is skipped and the remote entry replaces the local one:
  // for the shared store's answer to a lost SET NX race, where the first writer wins whatever
  // the versions and times say (the loser's own pin never reached the store).
  RemoteOutcome apply_remote(const StickyKey& key, const StickyEntry& remote, std::int64_t now_ms,
                             bool authoritative = false);

  // Records that the entry's TTL was written to the shared store at `now` (throttles refresh writes).
  bool mark_synced(const StickyKey& key, std::int64_t now_ms);

  // Removes every expired entry; locks one shard at a time, but walks the whole table in one
  // call: for tests and tools, not for a request path. Returns how many were removed.
  std::size_t sweep_expired(std::int64_t now_ms);
  // Examines at most `max_records` records (kStickySweepChunk per shard lock hold), resuming where
  // the previous step stopped and wrapping round every partition and shard, and removes the
  // expired ones (counted in expired). Returns how many were removed. If another thread is
  // sweeping, returns 0 at once. A full pass takes ceil(records_in_use / max_records) steps.
  std::size_t sweep_step(std::int64_t now_ms, std::size_t max_records);
  // The paced sweep for a periodic timer (any thread, any number of threads): the first call in a
  // new second examines records_in_use * elapsed / kStickySweepPeriodSec records (at least
  // kStickySweepChunk), so the whole table is walked every kStickySweepPeriodSec seconds however
  // many threads call it; later calls in the same second return 0. Returns how many were removed.
  std::size_t sweep_tick(std::int64_t now_ms);

  // Calls `fn` with every entry present for `backend` (expired-but-not-yet-swept ones included):
  // a shard at a time is copied under its lock, then visited without it, so `fn` may be slow and
  // may use the table (the entry it sees may have changed since). For operator tools (the admin
  // API), never for a request path. Returns how many were visited.
  using Visitor = std::function<void(const StickyKey& key, const StickyEntry& entry)>;
  std::size_t visit_backend(std::uint16_t backend, const Visitor& fn) const;
  // Removes every entry of `backend` (counted in erased). Returns how many were removed.
  std::size_t erase_backend(std::uint16_t backend);

  // Present entries per server id (index = server id), expired-but-not-yet-swept ones included:
  // call sweep_expired() first for exact live counts.
  std::vector<std::uint64_t> entries_per_server() const;
  std::uint64_t entries_for_server(std::uint32_t server_id) const;

  std::size_t size() const;
  // Entries of one backend's partition (the shared one if the backend has none of its own).
  std::size_t size_for_backend(std::uint16_t backend) const;
  std::size_t capacity() const { return total_capacity_.load(std::memory_order_relaxed); }
  // The bound of the partition the backend's keys go to.
  std::size_t capacity_for_backend(std::uint16_t backend) const { return partition_for(backend).capacity; }
  std::uint32_t shard_count() const { return shard_count_.load(std::memory_order_relaxed); }

  // Gives `backend` a partition of its own of `capacity` entries while the table is in use (a
  // backend added by a config reload; any thread). The partition is built whole, then published
  // with one atomic store, so concurrent requests see either no partition (the shared one, where
  // this id has no entries) or the new one; a partition is never replaced or freed while the
  // table lives. False, changing nothing, when the backend already has a partition of its own
  // (whatever its capacity), or its id is at or above kMaxStickyBackendIds, or capacity is 0.
  bool add_partition(std::uint16_t backend, std::size_t capacity);
  bool has_own_partition(std::uint16_t backend) const {
    return backend < kMaxStickyBackendIds && part_of_backend_[backend].load(std::memory_order_acquire) != 0;
  }
  StickyTableCounters counters() const;
  StickyTableMemory memory() const;

  struct Shard;       // defined in the .cc
  struct SweepState;  // defined in the .cc

 private:
  struct Partition {
    std::unique_ptr<Shard[]> shards;
    std::uint32_t mask = 0;  // shard count - 1
    std::size_t capacity = 0;
  };
  static constexpr std::size_t kMaxPartitions = std::size_t{kMaxStickyBackendIds} + 1;  // [0] is shared

  const Partition& partition_for(std::uint16_t backend) const {
    const std::uint16_t i =
        backend < kMaxStickyBackendIds ? part_of_backend_[backend].load(std::memory_order_acquire) : 0;
    return *parts_[i];
  }
  Shard& shard_for(const StickyKey& key, std::uint64_t hash) const;
  // A partition of `capacity` entries: at most max_shards_ shards, none smaller than needed.
  std::unique_ptr<Partition> make_partition(std::size_t capacity) const;
  // Partitions published so far (acquire: their contents are complete).
  std::uint32_t partitions() const { return part_count_.load(std::memory_order_acquire); }
  // Every shard of every partition, in partition order; `fn(Shard&)`.
  template <typename Fn>
  void for_each_shard(Fn&& fn) const;

  std::uint32_t max_shards_ = 1;
  std::atomic<std::uint32_t> shard_count_{0};
  std::atomic<std::size_t> total_capacity_{0};
  std::unique_ptr<std::unique_ptr<Partition>[]> parts_;                 // kMaxPartitions slots
  std::atomic<std::uint32_t> part_count_{0};                           // slots filled
  std::unique_ptr<std::atomic<std::uint16_t>[]> part_of_backend_;      // backend id -> parts_ index
  std::mutex layout_mu_;                                               // add_partition, one at a time
  std::unique_ptr<SweepState> sweep_;           // the incremental sweep's position and pace
};

}  // namespace sticky::store
