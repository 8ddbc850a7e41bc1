// One shared sticky entry as it travels between agents: the decoded form of a Redis value / pub-sub message.
#pragma once

#include <cstdint>
#include <string>

namespace sticky::store {

// The record's `kind` is the policy layer's identity kind (policy::IdentityKind: 2 application
// cookie, 3 True-Client-IP, 4 X-Forwarded-For, 5 source); the store treats it as an opaque byte
// and never gives it meaning, so it survives round trips unchanged.

struct StickyRecord {
  std::string backend;       // HAProxy backend name
  std::uint8_t kind = 0;     // identity kind, opaque here (see above)
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
