// Which HAProxy SPOE engines are connected now: open SPOP connections by HELLO engine-id.
// After a reload the old HAProxy process keeps its engine-id while it drains, so this shows
// when it is gone. Thread-safe: workers add and remove, the metrics endpoint renders.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sticky::metrics {

class EngineRegistry {
 public:
  // Engine-ids are HAProxy's (UUIDs); anything longer is cut, so a peer cannot grow our memory.
  static constexpr std::size_t kMaxIdBytes = 64;
  // Engines rendered one by one; the rest (a storm of reloads) are summed as engine_id="other".
  static constexpr std::size_t kMaxRendered = 32;

  void add(std::string_view engine_id);
  void remove(std::string_view engine_id);
  std::size_t engines() const;
  std::size_t connections(std::string_view engine_id) const;

  // sticky_haproxy_engines (gauge) and sticky_haproxy_engine_connections{engine_id} (gauge).
  void render(std::string& out) const;

 private:
  static std::string key_of(std::string_view engine_id);
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::size_t> open_;
};

}  // namespace sticky::metrics
