// Sharded sticky table: 60-byte records chained by 32-bit indices, per-shard lazy LRU and key slab.
#include "store/sticky_table.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <tuple>

#include "base/hash.h"

namespace sticky::store {

namespace {

constexpr std::uint32_t kNil = 0xFFFFFFFFU;
constexpr std::size_t kInlineKeyBytes = 16;  // an IPv6 address fits without touching the arena
constexpr int kEvictScan = 8;                // LRU tail entries searched for an expired victim
constexpr int kMaxRequeue = 64;              // touched tail entries requeued per eviction (bounds the lock hold)
constexpr std::uint32_t kMaxTtlSec = (1U << 31) - 1;  // 68 years; the 32nd bit is the touched flag
constexpr int kReclaimPerInsert = 2;         // expired tail entries dropped opportunistically per insert
constexpr std::size_t kMaxShardCapacity = std::size_t{1} << 24;  // keeps arena handles and indices in 32 bits
constexpr std::size_t kMinShardEntries = 512;  // a small partition gets fewer shards, not tiny ones

std::uint32_t to_sec(std::int64_t ms) {
  if (ms <= kStickyEpochMs) return 0;
  const std::int64_t s = (ms - kStickyEpochMs) / 1000;
  return s >= std::int64_t{kNil} ? kNil - 1 : static_cast<std::uint32_t>(s);
}
std::int64_t to_ms(std::uint64_t s) { return kStickyEpochMs + static_cast<std::int64_t>(s) * 1000; }
// Rounded up so a TTL is never shortened by the second resolution.
std::uint32_t ttl_to_sec(std::int64_t ttl_ms) {
  const std::int64_t s = ttl_ms / 1000 + (ttl_ms % 1000 != 0);
  return s >= std::int64_t{kMaxTtlSec} ? kMaxTtlSec : static_cast<std::uint32_t>(s);
}

std::uint64_t key_hash(const StickyKey& k) {
  return stable_hash64(k.bytes, (std::uint64_t{k.backend} << 8) | k.kind);
}

// One entry. key_len == 0 marks a free record (keys are never empty); chain_next then links the free list.
struct Slot {
  std::uint32_t tag;         // low 32 bits of the key hash; also gives the bucket (tag & mask)
  std::uint32_t chain_next;  // next record in the bucket chain (or free list)
  std::uint32_t lru_prev;    // towards more recently seen
  std::uint32_t lru_next;    // towards less recently seen
  std::uint32_t server_id;
  std::uint32_t version;
  std::uint32_t created_s;
  std::uint32_t last_seen_s;
  std::uint32_t ttl_s : 31;  // expiry = last_seen + ttl, so a refresh is one store
  // Seen again since it was queued at the LRU head. Hits only set this flag instead of relinking
  // (which would cost two more cache misses per hit); eviction requeues flagged tail entries.
  std::uint32_t touched : 1;
  std::uint32_t last_synced_s;
  std::uint16_t backend;
  std::uint8_t kind;
  std::uint8_t key_len;
  union {
    std::uint8_t inline_key[kInlineKeyBytes];
    std::uint32_t arena_ref;
  };
};
static_assert(sizeof(Slot) == 60, "entry record grew: re-check the 80 bytes/entry budget");

bool is_expired(const Slot& s, std::uint32_t now_s) {
  return std::uint64_t{s.last_seen_s} + s.ttl_s <= now_s;
}

StickyEntry to_entry(const Slot& s) {
  StickyEntry e;
  e.server_id = s.server_id;
  e.created_ms = to_ms(s.created_s);
  e.last_seen_ms = to_ms(s.last_seen_s);
  e.expires_ms = to_ms(std::uint64_t{s.last_seen_s} + s.ttl_s);
  e.last_synced_ms = s.last_synced_s ? to_ms(s.last_synced_s) : 0;
  e.version = s.version;
  return e;
}

// Slab for keys longer than kInlineKeyBytes: four size classes carved from 64 KiB blocks, each
// class with a free list threaded through its freed chunks, so steady-state churn never allocates.
class KeyArena {
 public:
  static constexpr std::uint32_t kBlockBits = 16;
  static constexpr std::size_t kBlockBytes = std::size_t{1} << kBlockBits;

  std::uint32_t store(std::string_view bytes) {
    const int c = size_class(bytes.size());
    std::uint32_t h = free_[c];
    if (h != kNil) {
      std::memcpy(&free_[c], at(h), sizeof(std::uint32_t));
    } else {
      if (bump_[c] == kNil) {
        // Capped one block short so no handle can equal kNil.
        if (blocks_.size() >= (std::size_t{1} << kBlockBits) - 1) return kNil;
        blocks_.push_back(std::make_unique_for_overwrite<std::uint8_t[]>(kBlockBytes));
        bump_[c] = static_cast<std::uint32_t>((blocks_.size() - 1) << kBlockBits);
      }
      h = bump_[c];
      bump_[c] += class_bytes(c);
      // The block is used up exactly when the bump pointer reaches the next block boundary.
      if ((bump_[c] & (kBlockBytes - 1)) == 0) bump_[c] = kNil;
    }
    std::memcpy(at(h), bytes.data(), bytes.size());
    return h;
  }
  void release(std::uint32_t h, std::size_t len) {
    const int c = size_class(len);
    std::memcpy(at(h), &free_[c], sizeof(std::uint32_t));
    free_[c] = h;
  }
  const std::uint8_t* at(std::uint32_t h) const { return blocks_[h >> kBlockBits].get() + (h & (kBlockBytes - 1)); }
  std::uint8_t* at(std::uint32_t h) { return blocks_[h >> kBlockBits].get() + (h & (kBlockBytes - 1)); }
  std::size_t bytes() const { return blocks_.size() * kBlockBytes + blocks_.capacity() * sizeof(blocks_[0]); }

 private:
  static int size_class(std::size_t len) { return len <= 32 ? 0 : len <= 64 ? 1 : len <= 128 ? 2 : 3; }
  static std::uint32_t class_bytes(int c) { return 32U << c; }

  std::vector<std::unique_ptr<std::uint8_t[]>> blocks_;
  std::array<std::uint32_t, 4> free_{kNil, kNil, kNil, kNil};
  std::array<std::uint32_t, 4> bump_{kNil, kNil, kNil, kNil};
};

StickyStatus check_key(const StickyKey& key) {
  return key.bytes.empty() || key.bytes.size() > kMaxStickyKeyBytes ? StickyStatus::BadKey : StickyStatus::Ok;
}

}  // namespace

std::string_view sticky_status_name(StickyStatus s) {
  switch (s) {
    case StickyStatus::Ok: return "ok";
    case StickyStatus::BadKey: return "bad_key";
    case StickyStatus::BadServer: return "bad_server";
    case StickyStatus::BadTtl: return "bad_ttl";
    case StickyStatus::KeySpaceFull: return "key_space_full";
  }
  return "unknown";
}

// Everything below runs with `mu` held by the caller.
struct alignas(64) StickyTable::Shard {
  mutable std::mutex mu;
  std::vector<Slot> slots;  // reserved to capacity up front, so it never reallocates
  std::vector<std::uint32_t> buckets;
  std::uint32_t bucket_mask = 0;
  std::size_t capacity = 0;
  std::uint32_t free_head = kNil;
  std::uint32_t lru_head = kNil;  // most recently seen
  std::uint32_t lru_tail = kNil;  // least recently seen: the eviction end
  std::size_t count = 0;
  std::size_t key_bytes = 0;
  KeyArena arena;
  std::vector<std::uint32_t> per_server;  // present entries by server id
  StickyTableCounters counters;

  void init(std::size_t cap) {
    capacity = cap;
    slots.reserve(cap);
    std::size_t n = 1;
    while (n < cap) n <<= 1;
    buckets.assign(n, kNil);
    bucket_mask = static_cast<std::uint32_t>(n - 1);
  }

  const std::uint8_t* key_data(const Slot& s) const {
    return s.key_len <= kInlineKeyBytes ? s.inline_key : arena.at(s.arena_ref);
  }

  std::uint32_t find(const StickyKey& key, std::uint32_t tag) const {
    for (std::uint32_t i = buckets[tag & bucket_mask]; i != kNil; i = slots[i].chain_next) {
      const Slot& s = slots[i];
      if (s.tag == tag && s.backend == key.backend && s.kind == key.kind && s.key_len == key.bytes.size() &&
          std::memcmp(key_data(s), key.bytes.data(), s.key_len) == 0)
        return i;
    }
    return kNil;
  }

  void lru_unlink(std::uint32_t i) {
    Slot& s = slots[i];
    (s.lru_prev == kNil ? lru_head : slots[s.lru_prev].lru_next) = s.lru_next;
    (s.lru_next == kNil ? lru_tail : slots[s.lru_next].lru_prev) = s.lru_prev;
  }
  void lru_push_front(std::uint32_t i) {
    Slot& s = slots[i];
    s.lru_prev = kNil;
    s.lru_next = lru_head;
    (lru_head == kNil ? lru_tail : slots[lru_head].lru_prev) = i;
    lru_head = i;
  }
  // Exact LRU without relinking on hits: the list is ordered by queue time and last_seen >= queue
  // time, so an untouched tail entry (last_seen == its queue time) is the least recently seen of
  // all. Touched tail entries are requeued at the head first. Assumes callers' clocks roughly
  // agree; if more than kMaxRequeue tail entries are touched the tail is taken anyway.
  std::uint32_t least_recently_seen() {
    for (int n = 0; n < kMaxRequeue && slots[lru_tail].touched; ++n) {
      const std::uint32_t t = lru_tail;
      slots[t].touched = 0;
      lru_unlink(t);
      lru_push_front(t);
    }
    return lru_tail;
  }

  void count_server(std::uint32_t server_id, int delta) {
    if (server_id >= per_server.size()) per_server.resize(server_id + 1, 0);
    per_server[server_id] = static_cast<std::uint32_t>(static_cast<std::int64_t>(per_server[server_id]) + delta);
  }

  void remove(std::uint32_t i) {
    Slot& s = slots[i];
    std::uint32_t* link = &buckets[s.tag & bucket_mask];
    while (*link != i) link = &slots[*link].chain_next;
    *link = s.chain_next;
    lru_unlink(i);
    if (s.key_len > kInlineKeyBytes) arena.release(s.arena_ref, s.key_len);
    count_server(s.server_id, -1);
    key_bytes -= s.key_len;
    --count;
    s.key_len = 0;
    s.chain_next = free_head;
    free_head = i;
  }

  // Drops up to `budget` expired entries from the least recently seen end.
  void reclaim_expired_tail(std::uint32_t now_s, int budget) {
    while (budget-- > 0 && lru_tail != kNil && is_expired(slots[lru_tail], now_s)) {
      remove(lru_tail);
      ++counters.expired;
    }
  }

  // A free record index; makes room when full (expired first, else the least recently seen).
  // Returns kNil only if the record array cannot hold even one entry.
  std::uint32_t take_free(std::uint32_t now_s) {
    if (free_head == kNil && slots.size() < capacity) {
      slots.emplace_back();
      slots.back().key_len = 0;
      return static_cast<std::uint32_t>(slots.size() - 1);
    }
    if (free_head == kNil) {
      if (lru_tail == kNil) return kNil;
      std::uint32_t victim = kNil;
      bool victim_expired = false;
      std::uint32_t i = lru_tail;
      for (int n = 0; n < kEvictScan && i != kNil; ++n, i = slots[i].lru_prev) {
        if (is_expired(slots[i], now_s)) {
          victim = i;
          victim_expired = true;
          break;
        }
      }
      if (victim == kNil) victim = least_recently_seen();
      remove(victim);
      ++(victim_expired ? counters.expired : counters.evicted_capacity);
    }
    const std::uint32_t i = free_head;
    free_head = slots[i].chain_next;
    return i;
  }

  // Inserts a key known to be absent. Returns kNil if the key arena is exhausted (4 GiB per shard).
  std::uint32_t insert(const StickyKey& key, std::uint32_t tag, std::uint32_t now_s) {
    reclaim_expired_tail(now_s, kReclaimPerInsert);
    const std::uint32_t i = take_free(now_s);
    if (i == kNil) return kNil;
    Slot& s = slots[i];
    const auto len = static_cast<std::uint8_t>(key.bytes.size());
    if (len > kInlineKeyBytes) {
      const std::uint32_t ref = arena.store(key.bytes);
      if (ref == kNil) {
        s.chain_next = free_head;
        free_head = i;
        return kNil;
      }
      s.arena_ref = ref;
    } else {
      std::memcpy(s.inline_key, key.bytes.data(), len);
    }
    s.tag = tag;
    s.backend = key.backend;
    s.kind = key.kind;
    s.key_len = len;
    std::uint32_t& head = buckets[tag & bucket_mask];
    s.chain_next = head;
    head = i;
    lru_push_front(i);
    key_bytes += len;
    ++count;
    return i;
  }
};

// The sweep's position: a shard index over all partitions and a record index in that shard.
struct StickyTable::SweepState {
  std::mutex mu;  // one sweeper at a time; request paths never take it
  std::uint32_t part = 0;   // partition index
  std::uint32_t shard = 0;  // shard index within it
  std::size_t record = 0;
  std::atomic<std::uint32_t> last_tick_s{0};
};

bool remote_wins(const std::optional<StickyEntry>& local, const StickyEntry& remote, bool authoritative) {
  if (!local || authoritative) return true;
  return std::make_tuple(remote.version, to_sec(remote.last_seen_ms), remote.server_id) >
         std::make_tuple(local->version, to_sec(local->last_seen_ms), local->server_id);
}

bool remote_usable(const StickyEntry& remote, std::int64_t now_ms) {
  const std::uint32_t expires_s = to_sec(remote.expires_ms);
  return expires_s > to_sec(remote.last_seen_ms) && expires_s > to_sec(now_ms);
}

StickyTable::StickyTable(StickyTableOptions options) {
  while (max_shards_ < options.shards && max_shards_ < (1U << 16)) max_shards_ <<= 1;
  parts_ = std::make_unique<std::unique_ptr<Partition>[]>(kMaxPartitions);
  part_of_backend_ = std::make_unique<std::atomic<std::uint16_t>[]>(kMaxStickyBackendIds);
  for (std::size_t b = 0; b < kMaxStickyBackendIds; ++b) part_of_backend_[b].store(0, std::memory_order_relaxed);
  // Partition 0 is shared by every backend without a capacity of its own.
  parts_[0] = make_partition(std::max<std::size_t>(options.capacity, 1));
  shard_count_.store(parts_[0]->mask + 1, std::memory_order_relaxed);
  total_capacity_.store(parts_[0]->capacity, std::memory_order_relaxed);
  part_count_.store(1, std::memory_order_release);
  for (std::size_t b = 0; b < options.backend_capacity.size() && b < kMaxStickyBackendIds; ++b)
    if (options.backend_capacity[b] != 0) add_partition(static_cast<std::uint16_t>(b), options.backend_capacity[b]);
  sweep_ = std::make_unique<SweepState>();
}

StickyTable::~StickyTable() = default;

std::unique_ptr<StickyTable::Partition> StickyTable::make_partition(std::size_t cap) const {
  std::uint32_t n = 1;
  while (n < max_shards_ && cap / (2 * n) >= kMinShardEntries) n <<= 1;
  while ((cap + n - 1) / n > kMaxShardCapacity && n < (1U << 16)) n <<= 1;
  auto p = std::make_unique<Partition>();
  p->mask = n - 1;
  p->capacity = std::min(cap, std::size_t{n} * kMaxShardCapacity);
  p->shards = std::make_unique<Shard[]>(n);
  const std::size_t base = p->capacity / n;
  const std::size_t extra = p->capacity % n;
  // Exact split: the shard capacities add up to the partition's capacity.
  for (std::uint32_t j = 0; j < n; ++j) p->shards[j].init(base + (j < extra ? 1 : 0));
  return p;
}

bool StickyTable::add_partition(std::uint16_t backend, std::size_t capacity) {
  if (backend >= kMaxStickyBackendIds || capacity == 0) return false;
  std::lock_guard<std::mutex> layout(layout_mu_);
  if (part_of_backend_[backend].load(std::memory_order_relaxed) != 0) return false;
  const std::uint32_t index = part_count_.load(std::memory_order_relaxed);
  if (index >= kMaxPartitions) return false;
  parts_[index] = make_partition(capacity);
  shard_count_.fetch_add(parts_[index]->mask + 1, std::memory_order_relaxed);
  total_capacity_.fetch_add(parts_[index]->capacity, std::memory_order_relaxed);
  // The partition is complete before either store makes it reachable (release; readers acquire).
  part_count_.store(index + 1, std::memory_order_release);
  part_of_backend_[backend].store(static_cast<std::uint16_t>(index), std::memory_order_release);
  return true;
}

template <typename Fn>
void StickyTable::for_each_shard(Fn&& fn) const {
  const std::uint32_t n = partitions();
  for (std::uint32_t k = 0; k < n; ++k) {
    const Partition& p = *parts_[k];
    for (std::uint32_t j = 0; j <= p.mask; ++j) fn(p.shards[j]);
  }
}

StickyTable::Shard& StickyTable::shard_for(const StickyKey& key, std::uint64_t hash) const {
  // Bits 40.. pick the shard; the low 32 bits pick the bucket, so the two stay independent.
  const Partition& p = partition_for(key.backend);
  return p.shards[(hash >> 40) & p.mask];
}

std::optional<StickyEntry> StickyTable::lookup(const StickyKey& key, std::int64_t now_ms, std::int64_t ttl_ms) {
  if (check_key(key) != StickyStatus::Ok) return std::nullopt;
  const std::uint64_t h = key_hash(key);
  const auto tag = static_cast<std::uint32_t>(h);
  const std::uint32_t now_s = to_sec(now_ms);
  Shard& sh = shard_for(key, h);
  std::lock_guard lock(sh.mu);
  ++sh.counters.lookups;
  const std::uint32_t i = sh.find(key, tag);
  if (i == kNil) {
    ++sh.counters.misses;
    return std::nullopt;
  }
  Slot& s = sh.slots[i];
  const std::uint32_t ttl_s = ttl_ms > 0 ? ttl_to_sec(ttl_ms) & kMaxTtlSec : s.ttl_s;
  if (is_expired(s, now_s) || std::uint64_t{s.last_seen_s} + ttl_s <= now_s) {
    sh.remove(i);
    ++sh.counters.expired;
    ++sh.counters.misses;
    return std::nullopt;
  }
  ++sh.counters.hits;
  s.ttl_s = ttl_s;
  if (now_s > s.last_seen_s) {
    s.last_seen_s = now_s;
    s.touched = 1;
  }
  return to_entry(s);
}

std::optional<StickyEntry> StickyTable::peek(const StickyKey& key, std::int64_t now_ms) const {
  if (check_key(key) != StickyStatus::Ok) return std::nullopt;
  const std::uint64_t h = key_hash(key);
  Shard& sh = shard_for(key, h);
  std::lock_guard lock(sh.mu);
  const std::uint32_t i = sh.find(key, static_cast<std::uint32_t>(h));
  if (i == kNil || is_expired(sh.slots[i], to_sec(now_ms))) return std::nullopt;
  return to_entry(sh.slots[i]);
}

UpsertResult StickyTable::upsert(const StickyKey& key, std::uint32_t server_id, std::int64_t now_ms,
                                 std::int64_t ttl_ms, std::uint32_t version_hint) {
  UpsertResult r;
  r.status = check_key(key);
  if (r.status == StickyStatus::Ok && server_id > kMaxStickyServerId) r.status = StickyStatus::BadServer;
  if (r.status == StickyStatus::Ok && ttl_ms <= 0) r.status = StickyStatus::BadTtl;
  const std::uint64_t h = key_hash(key);
  const auto tag = static_cast<std::uint32_t>(h);
  const std::uint32_t now_s = to_sec(now_ms);
  Shard& sh = shard_for(key, h);
  std::lock_guard lock(sh.mu);
  switch (r.status) {
    case StickyStatus::Ok: break;
    case StickyStatus::BadKey: ++sh.counters.rejected_bad_key; return r;
    case StickyStatus::BadServer: ++sh.counters.rejected_bad_server; return r;
    case StickyStatus::BadTtl: ++sh.counters.rejected_bad_ttl; return r;
    case StickyStatus::KeySpaceFull: return r;  // not produced by the checks above
  }
  std::uint32_t i = sh.find(key, tag);
  if (i != kNil && is_expired(sh.slots[i], now_s)) {
    sh.remove(i);
    ++sh.counters.expired;
    i = kNil;
  }
  if (i == kNil) {
    i = sh.insert(key, tag, now_s);
    if (i == kNil) {
      ++sh.counters.rejected_key_space_full;
      r.status = StickyStatus::KeySpaceFull;
      return r;
    }
    Slot& s = sh.slots[i];
    s.server_id = server_id;
    s.version = std::max<std::uint32_t>(1, version_hint);
    s.created_s = now_s;
    s.last_seen_s = now_s;
    s.ttl_s = ttl_to_sec(ttl_ms) & kMaxTtlSec;
    s.touched = 0;
    s.last_synced_s = 0;
    sh.count_server(server_id, +1);
    ++sh.counters.inserts;
    r.created = true;
    r.version = s.version;
    return r;
  }
  Slot& s = sh.slots[i];
  ++sh.counters.updates;
  if (s.server_id != server_id) {
    ++sh.counters.moves;
    sh.count_server(s.server_id, -1);
    sh.count_server(server_id, +1);
    s.server_id = server_id;
    s.version = s.version == kNil ? kNil : s.version + 1;
    s.created_s = now_s;
    s.last_synced_s = 0;  // the store has not seen this pin yet
  }
  s.version = std::max(s.version, version_hint);
  if (now_s > s.last_seen_s) {
    s.last_seen_s = now_s;
    s.touched = 1;
  }
  s.ttl_s = ttl_to_sec(ttl_ms) & kMaxTtlSec;
  r.version = s.version;
  return r;
}

bool StickyTable::erase(const StickyKey& key) {
  if (check_key(key) != StickyStatus::Ok) return false;
  const std::uint64_t h = key_hash(key);
  Shard& sh = shard_for(key, h);
  std::lock_guard lock(sh.mu);
  const std::uint32_t i = sh.find(key, static_cast<std::uint32_t>(h));
  if (i == kNil) return false;
  sh.remove(i);
  ++sh.counters.erased;
  return true;
}

RemoteOutcome StickyTable::apply_remote(const StickyKey& key, const StickyEntry& remote, std::int64_t now_ms,
                                        bool authoritative) {
  const std::uint64_t h = key_hash(key);
  const auto tag = static_cast<std::uint32_t>(h);
  const std::uint32_t now_s = to_sec(now_ms);
  const std::uint32_t seen_s = to_sec(remote.last_seen_ms);
  const std::uint32_t expires_s = to_sec(remote.expires_ms);
  Shard& sh = shard_for(key, h);
  std::lock_guard lock(sh.mu);
  if (check_key(key) != StickyStatus::Ok) {
    ++sh.counters.rejected_bad_key;
    return RemoteOutcome::Rejected;
  }
  if (remote.server_id > kMaxStickyServerId) {
    ++sh.counters.rejected_bad_server;
    return RemoteOutcome::Rejected;
  }
  if (expires_s <= seen_s) {
    ++sh.counters.rejected_bad_ttl;
    return RemoteOutcome::Rejected;
  }
  if (expires_s <= now_s) {
    ++sh.counters.remote_ignored_expired;
    return RemoteOutcome::IgnoredExpired;
  }
  std::uint32_t i = sh.find(key, tag);
  if (i != kNil && is_expired(sh.slots[i], now_s)) {
    sh.remove(i);
    ++sh.counters.expired;
    i = kNil;
  }
  RemoteOutcome outcome = RemoteOutcome::Replaced;
  std::uint32_t created_s = to_sec(remote.created_ms);
  if (i == kNil) {
    i = sh.insert(key, tag, now_s);
    if (i == kNil) {
      ++sh.counters.rejected_key_space_full;
      return RemoteOutcome::Rejected;
    }
    outcome = RemoteOutcome::Inserted;
    sh.count_server(remote.server_id, +1);
  } else {
    const Slot& l = sh.slots[i];
    if (!remote_wins(to_entry(l), remote, authoritative)) {
      ++sh.counters.remote_ignored_older;
      return RemoteOutcome::IgnoredOlder;
    }
    if (l.server_id == remote.server_id) {
      created_s = std::min(created_s, l.created_s);
    } else {
      sh.count_server(l.server_id, -1);
      sh.count_server(remote.server_id, +1);
    }
  }
  Slot& s = sh.slots[i];
  s.touched = outcome == RemoteOutcome::Replaced;
  s.server_id = remote.server_id;
  s.version = remote.version;
  s.created_s = created_s;
  s.last_seen_s = seen_s;
  s.ttl_s = std::min(expires_s - seen_s, kMaxTtlSec) & kMaxTtlSec;
  s.last_synced_s = remote.last_synced_ms ? to_sec(remote.last_synced_ms) : 0;
  ++(outcome == RemoteOutcome::Inserted ? sh.counters.remote_inserted : sh.counters.remote_replaced);
  return outcome;
}

bool StickyTable::mark_synced(const StickyKey& key, std::int64_t now_ms) {
  if (check_key(key) != StickyStatus::Ok) return false;
  const std::uint64_t h = key_hash(key);
  Shard& sh = shard_for(key, h);
  std::lock_guard lock(sh.mu);
  const std::uint32_t i = sh.find(key, static_cast<std::uint32_t>(h));
  if (i == kNil) return false;
  sh.slots[i].last_synced_s = to_sec(now_ms);
  return true;
}

std::size_t StickyTable::sweep_expired(std::int64_t now_ms) {
  const std::uint32_t now_s = to_sec(now_ms);
  std::size_t removed = 0;
  for_each_shard([&](Shard& sh) {
    std::lock_guard lock(sh.mu);
    for (std::size_t i = 0; i < sh.slots.size(); ++i) {
      const Slot& s = sh.slots[i];
      if (s.key_len != 0 && is_expired(s, now_s)) {
        sh.remove(static_cast<std::uint32_t>(i));
        ++sh.counters.expired;
        ++removed;
      }
    }
  });
  return removed;
}

std::size_t StickyTable::sweep_step(std::int64_t now_ms, std::size_t max_records) {
  std::unique_lock<std::mutex> guard(sweep_->mu, std::try_to_lock);
  if (!guard.owns_lock()) return 0;
  const std::uint32_t now_s = to_sec(now_ms);
  std::size_t removed = 0;
  std::size_t budget = max_records;
  // Every shard is visited at most once more than a full pass needs, so an empty table ends fast.
  const std::uint32_t parts = partitions();
  const std::uint32_t shards = shard_count();
  if (sweep_->part >= parts) sweep_->part = 0;
  for (std::uint32_t visits = 0; budget > 0 && visits <= shards;) {
    const Partition& p = *parts_[sweep_->part];
    Shard& sh = p.shards[sweep_->shard];
    bool shard_done = false;
    {
      std::lock_guard lock(sh.mu);
      const std::size_t end = std::min(sh.slots.size(), sweep_->record + std::min(budget, kStickySweepChunk));
      std::size_t i = sweep_->record;
      for (; i < end; ++i) {
        const Slot& s = sh.slots[i];
        if (s.key_len != 0 && is_expired(s, now_s)) {
          sh.remove(static_cast<std::uint32_t>(i));
          ++sh.counters.expired;
          ++removed;
        }
      }
      budget -= std::min(budget, std::max<std::size_t>(i - sweep_->record, 1));  // an empty shard costs one
      sweep_->record = i;
      shard_done = i >= sh.slots.size();
    }
    if (shard_done) {
      sweep_->record = 0;
      if (sweep_->shard < p.mask) {
        ++sweep_->shard;
      } else {
        sweep_->shard = 0;
        sweep_->part = sweep_->part + 1 == parts ? 0 : sweep_->part + 1;
      }
      ++visits;
    }
  }
  return removed;
}

std::size_t StickyTable::sweep_tick(std::int64_t now_ms) {
  const std::uint32_t now_s = to_sec(now_ms);
  std::uint32_t last = sweep_->last_tick_s.load(std::memory_order_relaxed);
  do {
    if (now_s <= last) return 0;  // already swept this second (or the clock went back)
  } while (!sweep_->last_tick_s.compare_exchange_weak(last, now_s, std::memory_order_relaxed));
  // Records in use (one short lock per shard, once a second): the pace follows the table's size.
  std::size_t records = 0;
  for_each_shard([&records](Shard& sh) {
    std::lock_guard lock(sh.mu);
    records += sh.slots.size();
  });
  const std::uint64_t elapsed = last == 0 ? 1 : std::min<std::uint64_t>(now_s - last, kStickySweepPeriodSec);
  const std::size_t budget = std::max<std::size_t>(
      kStickySweepChunk, (records * elapsed + kStickySweepPeriodSec - 1) / kStickySweepPeriodSec);
  return sweep_step(now_ms, budget);
}

std::size_t StickyTable::visit_backend(std::uint16_t backend, const Visitor& fn) const {
  // Each shard is copied under its lock and visited after the lock is released: a request on that
  // shard waits for the copy (about 10 ns an entry), never for `fn`.
  struct Row {
    StickyEntry entry;
    std::uint32_t key_offset;
    std::uint8_t key_len;
    std::uint8_t kind;
  };
  std::vector<Row> rows;
  std::string keys;
  const Partition& p = partition_for(backend);
  std::size_t n = 0;
  for (std::uint32_t k = 0; k <= p.mask; ++k) {
    const Shard& sh = p.shards[k];
    rows.clear();
    keys.clear();
    {
      std::lock_guard lock(sh.mu);
      for (const Slot& s : sh.slots) {
        if (s.key_len == 0 || s.backend != backend) continue;
        rows.push_back({to_entry(s), static_cast<std::uint32_t>(keys.size()), s.key_len, s.kind});
        keys.append(reinterpret_cast<const char*>(sh.key_data(s)), s.key_len);
      }
    }
    for (const Row& r : rows) fn({backend, r.kind, std::string_view(keys.data() + r.key_offset, r.key_len)}, r.entry);
    n += rows.size();
  }
  return n;
}

std::size_t StickyTable::erase_backend(std::uint16_t backend) {
  const Partition& p = partition_for(backend);
  std::size_t n = 0;
  for (std::uint32_t k = 0; k <= p.mask; ++k) {
    Shard& sh = p.shards[k];
    std::lock_guard lock(sh.mu);
    for (std::size_t i = 0; i < sh.slots.size(); ++i) {
      if (sh.slots[i].key_len == 0 || sh.slots[i].backend != backend) continue;
      sh.remove(static_cast<std::uint32_t>(i));
      ++sh.counters.erased;
      ++n;
    }
  }
  return n;
}

std::vector<std::uint64_t> StickyTable::entries_per_server() const {
  std::vector<std::uint64_t> out;
  for_each_shard([&out](const Shard& sh) {
    std::lock_guard lock(sh.mu);
    if (out.size() < sh.per_server.size()) out.resize(sh.per_server.size(), 0);
    for (std::size_t id = 0; id < sh.per_server.size(); ++id) out[id] += sh.per_server[id];
  });
  // Trailing zeros carry no information and would make the result depend on history.
  while (!out.empty() && out.back() == 0) out.pop_back();
  return out;
}

std::uint64_t StickyTable::entries_for_server(std::uint32_t server_id) const {
  std::uint64_t n = 0;
  for_each_shard([&n, server_id](const Shard& sh) {
    std::lock_guard lock(sh.mu);
    if (server_id < sh.per_server.size()) n += sh.per_server[server_id];
  });
  return n;
}

std::size_t StickyTable::size() const {
  std::size_t n = 0;
  for_each_shard([&n](const Shard& sh) {
    std::lock_guard lock(sh.mu);
    n += sh.count;
  });
  return n;
}

std::size_t StickyTable::size_for_backend(std::uint16_t backend) const {
  const Partition& p = partition_for(backend);
  std::size_t n = 0;
  for (std::uint32_t k = 0; k <= p.mask; ++k) {
    const Shard& sh = p.shards[k];
    std::lock_guard lock(sh.mu);
    n += sh.count;
  }
  return n;
}

StickyTableCounters StickyTable::counters() const {
  StickyTableCounters t;
  for_each_shard([&t](const Shard& sh) {
    std::lock_guard lock(sh.mu);
    add_fields(t, sh.counters, kStickyTableCounterFields);
  });
  return t;
}

StickyTableMemory StickyTable::memory() const {
  StickyTableMemory m;
  // The fixed maps from backend id to partition count too (about 40 KiB, whatever the size).
  const std::size_t maps = kMaxPartitions * sizeof(std::unique_ptr<Partition>) +
                           kMaxStickyBackendIds * sizeof(std::atomic<std::uint16_t>);
  m.used_bytes = sizeof(*this) + maps;
  m.reserved_bytes = sizeof(*this) + maps;
  for_each_shard([&m](const Shard& sh) {
    std::lock_guard lock(sh.mu);
    const std::size_t common = sizeof(Shard) + sh.buckets.size() * sizeof(std::uint32_t) + sh.arena.bytes() +
                               sh.per_server.capacity() * sizeof(std::uint32_t);
    m.entries += sh.count;
    m.key_bytes += sh.key_bytes;
    m.used_bytes += common + sh.slots.size() * sizeof(Slot);
    m.reserved_bytes += common + sh.slots.capacity() * sizeof(Slot);
  });
  return m;
}

}  // namespace sticky::store
