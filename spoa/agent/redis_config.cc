// The config's redis section as the store's options (see redis_config.h).
#include "agent/redis_config.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace sticky::agent {

namespace {

bool parse_endpoint(const std::string& text, store::RedisEndpoint& out) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  int port = 0;
  auto [p, ec] = std::from_chars(text.data() + colon + 1, text.data() + text.size(), port);
  if (ec != std::errc() || p != text.data() + text.size() || port <= 0 || port > 65535) return false;
  out.host = text.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  out.port = port;
  return true;
}

std::string default_node_id() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  // The pid keeps two agents on one host apart; a restarted agent gets a new id, which is
  // harmless: origin only lets an agent skip its own pub/sub echoes.
  return std::string(host) + "-" + std::to_string(::getpid());
}

}  // namespace

bool redis_options_from(const config::RedisSection& s, store::RedisOptions& o, std::string& error) {
  o.cluster = s.cluster;
  o.node_id = s.node_id.empty() ? default_node_id() : s.node_id;
  if (!s.sentinels.empty()) {
    for (const auto& text : s.sentinels) {
      store::RedisEndpoint e;
      if (!parse_endpoint(text, e)) {
        error = "redis.sentinels: bad address '" + text + "'";
        return false;
      }
      o.sentinels.push_back(e);
    }
    o.sentinel_master = s.master_name;
  } else if (!s.address.empty() && !parse_endpoint(s.address, o.server)) {
    error = "redis.address: bad address '" + s.address + "'";
    return false;
  }
  o.username = s.user;
  o.password = s.password;
  if (!s.password_file.empty()) {
    std::ifstream f(s.password_file);
    std::ostringstream ss;
    ss << f.rdbuf();
    o.password = ss.str();
    while (!o.password.empty() && (o.password.back() == '\n' || o.password.back() == '\r')) o.password.pop_back();
  }
  o.connect_timeout_ms = static_cast<int>(s.connect_timeout.count());
  o.command_timeout_ms = static_cast<int>(s.command_timeout.count());
  o.lookup_deadline_ms = static_cast<int>(s.lookup_deadline.count());
  o.queue.max_items = s.queue_max_entries;
  o.queue.max_bytes = s.queue_max_bytes;
  error = store::validate(o);
  return error.empty();
}

}  // namespace sticky::agent
