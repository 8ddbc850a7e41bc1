// ServerRegistry: name -> id maps under a shared mutex, id -> name through append-only chunks.
#include "store/server_registry.h"

#include <algorithm>

namespace sticky::store {

ServerRegistry::ServerRegistry() = default;
ServerRegistry::~ServerRegistry() = default;

std::uint32_t ServerRegistry::find_locked(std::string_view backend, std::string_view name) const {
  const auto b = ids_.find(backend);
  if (b == ids_.end()) return kNoServerId;
  const auto n = b->second.find(name);
  return n == b->second.end() ? kNoServerId : n->second;
}

std::uint32_t ServerRegistry::find(std::string_view backend, std::string_view name) const {
  std::shared_lock lock(mu_);
  return find_locked(backend, name);
}

std::uint32_t ServerRegistry::intern(std::string_view backend, std::string_view name) {
  if (name.empty()) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return kNoServerId;
  }
  if (const std::uint32_t id = find(backend, name); id != kNoServerId) return id;
  std::unique_lock lock(mu_);
  if (const std::uint32_t id = find_locked(backend, name); id != kNoServerId) return id;
  const std::size_t next = size_.load(std::memory_order_relaxed);
  if (next >= kCapacity) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return kNoServerId;
  }
  const auto id = static_cast<std::uint32_t>(next);
  auto& chunk = chunks_[id >> kChunkBits];
  if (!chunk) chunk = std::make_unique<Record[]>(std::size_t{1} << kChunkBits);
  Record& r = chunk[id & ((1U << kChunkBits) - 1)];
  r.backend.assign(backend);
  r.name.assign(name);
  auto b = ids_.find(backend);
  if (b == ids_.end()) b = ids_.emplace(std::string(backend), NameMap{}).first;
  b->second.emplace(std::string(name), id);
  size_.store(next + 1, std::memory_order_release);
  return id;
}

const ServerRegistry::Record* ServerRegistry::record(std::uint32_t id) const {
  if (id >= size_.load(std::memory_order_acquire)) return nullptr;
  return &chunks_[id >> kChunkBits][id & ((1U << kChunkBits) - 1)];
}

std::string_view ServerRegistry::name_of(std::uint32_t id) const {
  const Record* r = record(id);
  return r ? std::string_view(r->name) : std::string_view();
}

std::string_view ServerRegistry::backend_of(std::uint32_t id) const {
  const Record* r = record(id);
  return r ? std::string_view(r->backend) : std::string_view();
}

ServerIdMap ServerRegistry::map_for(const model::ServerSet& set) {
  ServerIdMap m;
  m.set_version = set.version;
  m.id_of_index.reserve(set.servers.size());
  std::uint32_t max_id = 0;
  for (const model::Server& s : set.servers) {
    const std::uint32_t id = intern(set.backend, s.name);
    m.id_of_index.push_back(id);
    if (id != kNoServerId) max_id = std::max(max_id, id);
  }
  m.index_of_id.assign(set.servers.empty() ? 0 : std::size_t{max_id} + 1, -1);
  for (std::size_t i = 0; i < m.id_of_index.size(); ++i)
    if (m.id_of_index[i] != kNoServerId) m.index_of_id[m.id_of_index[i]] = static_cast<std::int32_t>(i);
  return m;
}

}  // namespace sticky::store
