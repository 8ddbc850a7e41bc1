// The servers of one backend as HAProxy sees them (state and weight), as an immutable snapshot.
// The health poller builds a new snapshot whenever HAProxy's view changes; policies only read.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sticky::model {

enum class ServerState : std::uint8_t {
  Up = 0,     // takes new and existing clients
  Down = 1,   // failed health checks: takes nobody, pinned clients move
  Maint = 2,  // administratively disabled: takes nobody, pinned clients move
  Drain = 3,  // keeps clients already pinned, takes no new ones
};

std::string_view server_state_name(ServerState s);

struct Server {
  std::string name;         // HAProxy's server name: the value handed to `use-server`
  std::uint32_t weight = 1; // HAProxy's effective weight; 0 behaves as drain
  ServerState state = ServerState::Up;
  std::uint32_t haproxy_id = 0;  // HAProxy's server id (srv_id, what stick tables store); 0 = unknown

  // May a client with no pin be placed here?
  bool accepts_new() const { return state == ServerState::Up && weight > 0; }
  // May a client already pinned here stay?
  bool accepts_existing() const { return state == ServerState::Up || state == ServerState::Drain; }
};

struct ServerSet {
  std::string backend;
  std::vector<Server> servers;  // order is not meaningful: placement keys on names
  std::uint64_t version = 0;    // bumps on every change, so derived tables know to rebuild

  // Index of the named server, or -1.
  int find(std::string_view name) const {
    for (std::size_t i = 0; i < servers.size(); ++i)
      if (servers[i].name == name) return static_cast<int>(i);
    return -1;
  }
};

using ServerSetPtr = std::shared_ptr<const ServerSet>;

}  // namespace sticky::model
