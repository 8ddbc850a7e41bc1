// Fuzz entry point: HAProxy's `show servers state` reply, as read from the runtime API socket.
// Any text gives a view or an error with a line number; an accepted view has no empty backend,
// no server twice in a backend. Each accepted view is
// printed back as a dump of our own and must parse to the same view (the columns we read are
// located by the header, so a minimal header is enough).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "health/servers_state.h"

using namespace sticky;
using namespace sticky::health;

namespace {

// Our own dump of a view: each state maps back to op/admin bits that give the same state.
std::string dump(const ServersStateResult& r) {
  std::string out = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight\n";
  int be_id = 0;
  for (const auto& b : r.backends) {
    ++be_id;
    int srv_id = 0;
    for (const auto& s : b.servers) {
      int op = 2, admin = 0;
      switch (s.state) {
        case model::ServerState::Up: break;
        case model::ServerState::Down: op = 0; break;
        case model::ServerState::Maint: admin = 0x01; break;
        case model::ServerState::Drain: admin = 0x08; break;
      }
      out += std::to_string(be_id) + " " + b.backend + " " + std::to_string(++srv_id) + " " + s.name + " 127.0.0.1 " +
             std::to_string(op) + " " + std::to_string(admin) + " " + std::to_string(s.weight) + " " +
             std::to_string(s.weight) + "\n";
    }
  }
  return out;
}

bool plain_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '#' || c == '\0') return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ServersStateResult r = parse_servers_state(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!r.ok()) {
    FUZZ_CHECK(r.backends.empty(), "an error with a partial view");
    return 0;
  }
  std::set<std::string> backends;
  bool printable = true;
  for (const auto& b : r.backends) {
    FUZZ_CHECK(!b.backend.empty() && !b.servers.empty(), "an empty backend in the view");
    FUZZ_CHECK(backends.insert(b.backend).second, "a backend listed twice in the view");
    printable = printable && plain_token(b.backend);
    std::set<std::string> names;
    for (const auto& s : b.servers) {
      FUZZ_CHECK(names.insert(s.name).second, "a server listed twice in a backend");
      printable = printable && plain_token(s.name);
    }
  }
  if (!printable) return 0;  // names our own dump could not carry
  const ServersStateResult back = parse_servers_state(dump(r));
  FUZZ_CHECK(back.ok(), "our own dump of an accepted view does not parse");
  FUZZ_CHECK(back.backends.size() == r.backends.size(), "our own dump parses to another backend count");
  for (std::size_t i = 0; i < r.backends.size(); ++i) {
    FUZZ_CHECK(back.backends[i].backend == r.backends[i].backend, "backend renamed through our dump");
    FUZZ_CHECK(back.backends[i].servers.size() == r.backends[i].servers.size(), "servers lost through our dump");
    for (std::size_t j = 0; j < r.backends[i].servers.size(); ++j) {
      const auto& a = r.backends[i].servers[j];
      const auto& b = back.backends[i].servers[j];
      FUZZ_CHECK(a.name == b.name && a.weight == b.weight && a.state == b.state, "a server changed through our dump");
    }
  }
  return 0;
}
