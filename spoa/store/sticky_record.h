// One shared sticky entry as it travels between agents: the decoded form of a Redis value / pub-sub message.
#pragma once

#include <cstdint>
#include <string>

namespace sticky::store {

// The persistence dimension a record belongs to. The numbers are stored in Redis keys and values,
// so they never change meaning; the policy layer decides which ones it uses.
enum class StickyKind : std::uint8_t {
  SourceIp = 1,       // client address (4 or 16 raw bytes) or its masked subnet
  TrueClientIp = 2,   // CDN-supplied client address
  Cookie = 3,         // application / learned cookie value
  Header = 4,         // any other configured request header value
};

struct StickyRecord {
  std::string backend;       // HAProxy backend name
  std::uint8_t kind = 0;     // a StickyKind value (kept as a byte so unknown kinds survive a round trip)
  std::string key;           // key bytes; may be binary (raw address bytes)
  std::string server;        // pinned server name
  std::int64_t created_ms = 0;    // Unix epoch milliseconds, the writer's wall clock
  std::int64_t last_seen_ms = 0;
  std::int64_t expires_ms = 0;
  std::string origin;        // node id of the agent that wrote it; receivers skip their own
  std::uint64_t version = 0; // bumped by every move; receivers keep the highest version

  friend bool operator==(const StickyRecord&, const StickyRecord&) = default;
};

}  // namespace sticky::store
