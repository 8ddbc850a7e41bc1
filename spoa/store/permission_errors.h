// Redis refusals that no reconnect can cure: ACL NOPERM (a command, key or channel the user may not
// touch), WRONGPASS / invalid password, NOAUTH. Recognised here so the links count them, log each kind
// once per process with what the ACL must allow, and back off instead of reconnecting in a loop.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sticky::store {

// True when `message` (a Redis error reply, possibly behind a prefix such as "AUTH rejected: " or
// "connection lost: ") is a permission or authentication refusal.
bool is_permission_error(std::string_view message);

// "ACL user 'sticky' must allow keys ~sticky:* channels &sticky:* and +get +set ...": the grant the agent needs.
std::string acl_requirement(std::string_view username);

// True the first time `what` is seen by this process (thread-safe). Remembers at most
// kMaxPermissionReports distinct values; past that it answers false, so logging stays bounded.
inline constexpr std::size_t kMaxPermissionReports = 32;
bool first_permission_report(std::string_view what);

}  // namespace sticky::store
