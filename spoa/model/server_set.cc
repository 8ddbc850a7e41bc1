// Names of server states, for logs and metrics.
#include "model/server_set.h"

namespace sticky::model {

std::string_view server_state_name(ServerState s) {
  switch (s) {
    case ServerState::Up: return "up";
    case ServerState::Down: return "down";
    case ServerState::Maint: return "maint";
    case ServerState::Drain: return "drain";
  }
  return "?";
}

}  // namespace sticky::model
