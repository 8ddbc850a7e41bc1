// See haproxy_table_sync.h.
#include "agent/haproxy_table_sync.h"

#include "base/log.h"

namespace sticky::agent {

HaproxyTableSync::HaproxyTableSync(std::vector<Target> targets, Send send)
    : targets_(std::move(targets)), send_(std::move(send)) {}

std::string HaproxyTableSync::clear_command(std::string_view table, std::uint32_t server_id) {
  std::string c = "clear table ";
  c.append(table);
  c.append(" data.server_id eq ");
  c.append(std::to_string(server_id));
  return c;
}

void HaproxyTableSync::set_targets(std::vector<Target> targets) {
  std::lock_guard<std::mutex> lock(mutex_);
  targets_ = std::move(targets);
  // A backend no longer followed forgets its servers: followed again later, it starts afresh.
  for (auto it = accepting_.begin(); it != accepting_.end();) {
    bool kept = false;
    for (const Target& t : targets_) kept = kept || t.backend == it->first;
    it = kept ? std::next(it) : accepting_.erase(it);
  }
}

bool HaproxyTableSync::empty() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return targets_.empty();
}

void HaproxyTableSync::follow(const health::ServerView& view) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Target& t : targets_) {
    const model::ServerSetPtr& set = view.find(t.backend);
    if (!set) continue;
    auto [it, first] = accepting_.try_emplace(t.backend);
    std::map<std::string, bool>& before = it->second;
    std::map<std::string, bool> now;
    for (const model::Server& s : set->servers) {
      const bool accepting = s.accepts_existing();
      now[s.name] = accepting;
      const auto was = before.find(s.name);
      const bool was_accepting = first || was == before.end() ? true : was->second;
      if (accepting || !was_accepting) continue;
      if (s.haproxy_id == 0) continue;  // static servers (no runtime API): nothing to clear
      const health::RuntimeApiReply r = send_(clear_command(t.table, s.haproxy_id));
      // HAProxy answers nothing on success; any text is an error ("Unknown table", "Permission denied").
      if (r.ok && r.text.find_first_not_of(" \r\n") == std::string::npos) {
        clears_.fetch_add(1, std::memory_order_relaxed);
        STICKY_LOG(Info, "cleared HAProxy table '%s' of %s/%s pins (server %s)", t.table.c_str(),
                   t.backend.c_str(), s.name.c_str(), std::string(model::server_state_name(s.state)).c_str());
      } else {
        now[s.name] = true;  // not cleared: try again at the next change
        failures_.fetch_add(1, std::memory_order_relaxed);
        STICKY_LOG(Warn, "could not clear HAProxy table '%s' of %s/%s pins: %s", t.table.c_str(),
                   t.backend.c_str(), s.name.c_str(), r.ok ? r.text.c_str() : r.error.c_str());
      }
    }
    before = std::move(now);
  }
}

}  // namespace sticky::agent
