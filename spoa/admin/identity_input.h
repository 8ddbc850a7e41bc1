// What an operator types to name a client ("true_client_ip" + "203.0.113.7", "source" +
// "10.1.2.0/24", "app_cookie" + "JSESSIONID value", or the identity token HAProxy logs) turned into
// the exact table key the engine uses for that backend: the same masks, the same bytes. Pure.
#pragma once

#include <string>
#include <string_view>

#include "policy/identity.h"

namespace sticky::admin {

struct KeyInput {
  policy::IdentityKind kind = policy::IdentityKind::None;
  std::string key;  // raw key bytes as stored in the table
};

// Kinds: agent_cookie (alias cookie), app_cookie, true_client_ip (alias client_ip), forwarded_for
// (alias xff), source (alias subnet), token (the txn.<prefix>.key identity token: kind digit + hex).
// IP kinds take an address, or address/len where len must be the backend's mask for that kind.
// agent_cookie is not parsed here: its value names a server itself (see the admin API).
bool parse_identity_input(std::string_view kind, std::string_view value, const policy::IdentityConfig& cfg,
                          KeyInput& out, std::string& error);

// The key as operators read it: the address (masked, with /len when masked shorter than the
// family) for IP kinds, the value for app cookies, hex otherwise.
std::string describe_key(policy::IdentityKind kind, std::string_view key, const policy::IdentityConfig& cfg);

std::string hex_of(std::string_view bytes);

}  // namespace sticky::admin
