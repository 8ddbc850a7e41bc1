// Names of server states, for logs and metrics.
#include "policy/server_set.h"

namespace sticky::policy {

std::string_view server_state_name(ServerState s) {
  switch (s) {
    case ServerState::Up: return "up";
    case ServerState::Down: return "down";
    case ServerState::Maint: return "maint";
    case ServerState::Drain: return "drain";
  }
  return "?";
}

}  // namespace sticky::policy
