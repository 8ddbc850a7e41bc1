// Interns (backend, server name) pairs into small dense ids that stay valid for the process lifetime.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/server_set.h"

namespace sticky::store {

inline constexpr std::uint32_t kNoServerId = 0xFFFFFFFFU;

// Translates between registry ids and indices of one ServerSet snapshot. Built once per set
// version so the hot path resolves a pinned id to "which server of the current set" by indexing.
struct ServerIdMap {
  std::uint64_t set_version = 0;
  std::vector<std::int32_t> index_of_id;   // -1: that id is not in the set
  std::vector<std::uint32_t> id_of_index;  // one id per server of the set, in set order

  int index(std::uint32_t id) const { return id < index_of_id.size() ? index_of_id[id] : -1; }
  std::uint32_t id(int index) const {
    return index >= 0 && static_cast<std::size_t>(index) < id_of_index.size() ? id_of_index[static_cast<std::size_t>(index)]
                                                                              : kNoServerId;
  }
};

// Ids are handed out densely from 0 and never reused, so an id stored in a sticky entry (or any
// counter indexed by id) can never silently start meaning another server. Thread-safe:
// name_of()/backend_of() are lock-free; find() takes a shared lock; intern() of a new pair takes
// the exclusive lock once.
class ServerRegistry {
 public:
  static constexpr std::uint32_t kChunkBits = 10;
  static constexpr std::uint32_t kChunks = 1024;
  static constexpr std::uint32_t kCapacity = kChunks << kChunkBits;  // 1,048,576 ids

  ServerRegistry();
  ~ServerRegistry();
  ServerRegistry(const ServerRegistry&) = delete;
  ServerRegistry& operator=(const ServerRegistry&) = delete;

  // Id of (backend, name), created on first sight. kNoServerId if the name is empty or the
  // registry is full (counted in rejected()).
  std::uint32_t intern(std::string_view backend, std::string_view name);
  // Id of a known pair, else kNoServerId.
  std::uint32_t find(std::string_view backend, std::string_view name) const;
  // Views stay valid for the registry's lifetime; "" for an unknown id.
  std::string_view name_of(std::uint32_t id) const;
  std::string_view backend_of(std::uint32_t id) const;

  std::size_t size() const { return size_.load(std::memory_order_acquire); }
  std::uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }

  // Interns every server of the set and returns the id <-> index translation for it.
  ServerIdMap map_for(const model::ServerSet& set);

 private:
  struct Record {
    std::string backend;
    std::string name;
  };
  struct ViewHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using NameMap = std::unordered_map<std::string, std::uint32_t, ViewHash, std::equal_to<>>;
  using BackendMap = std::unordered_map<std::string, NameMap, ViewHash, std::equal_to<>>;

  std::uint32_t find_locked(std::string_view backend, std::string_view name) const;
  const Record* record(std::uint32_t id) const;

  mutable std::shared_mutex mu_;
  BackendMap ids_;
  // Fixed chunks never move once allocated, which is what lets readers skip the lock: a chunk
  // pointer is written before size_ is released past any id inside it.
  std::array<std::unique_ptr<Record[]>, kChunks> chunks_;
  std::atomic<std::size_t> size_{0};
  std::atomic<std::uint64_t> rejected_{0};
};

}  // namespace sticky::store
