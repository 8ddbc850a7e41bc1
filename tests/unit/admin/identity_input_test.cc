// Operator input to table keys: the backend's masks, the identity token, and refusals.
#include <catch2/catch.hpp>

#include <string>

#include "admin/identity_input.h"

using namespace sticky;
using admin::KeyInput;
using policy::IdentityKind;

namespace {
policy::IdentityConfig akamai_like() {
  policy::IdentityConfig c;
  c.order = {IdentityKind::TrueClientIp, IdentityKind::Source, IdentityKind::AppCookie};
  c.order_len = 3;
  c.tci_mask_v4 = 32;
  c.source_mask_v4 = 24;
  c.source_mask_v6 = 64;
  return c;
}
}  // namespace

TEST_CASE("an address is keyed exactly as the engine keys it", "[admin][identity]") {
  const auto cfg = akamai_like();
  KeyInput k;
  std::string error;
  REQUIRE(admin::parse_identity_input("true_client_ip", "203.0.113.7", cfg, k, error));
  CHECK(k.kind == IdentityKind::TrueClientIp);
  CHECK(k.key == std::string("\xCB\x00\x71\x07", 4));
  REQUIRE(admin::parse_identity_input("subnet", "10.1.2.99", cfg, k, error));
  CHECK(k.kind == IdentityKind::Source);
  CHECK(k.key == std::string("\x0A\x01\x02\x00", 4));
  CHECK(admin::describe_key(k.kind, k.key, cfg) == "10.1.2.0/24");
  REQUIRE(admin::parse_identity_input("source", "10.1.2.0/24", cfg, k, error));
  CHECK(k.key == std::string("\x0A\x01\x02\x00", 4));
  REQUIRE(admin::parse_identity_input("source", "2001:db8:1:2:3::4", cfg, k, error));
  CHECK(k.key.size() == 16);
  CHECK(admin::describe_key(k.kind, k.key, cfg) == "2001:db8:1:2::/64");
  REQUIRE(admin::parse_identity_input("app_cookie", "ABCDEF0123", cfg, k, error));
  CHECK(k.kind == IdentityKind::AppCookie);
  CHECK(k.key == "ABCDEF0123");
}

TEST_CASE("the identity token HAProxy carries names the same key", "[admin][identity]") {
  const auto cfg = akamai_like();
  KeyInput k;
  std::string error;
  REQUIRE(admin::parse_identity_input("token", "3cb007107", cfg, k, error));
  CHECK(k.kind == IdentityKind::TrueClientIp);
  CHECK(k.key == std::string("\xCB\x00\x71\x07", 4));
  CHECK_FALSE(admin::parse_identity_input("token", "3cb00710", cfg, k, error));  // odd hex length
  CHECK_FALSE(admin::parse_identity_input("token", "9cb007107", cfg, k, error));
  CHECK_FALSE(admin::parse_identity_input("token", "3zz007107", cfg, k, error));
}

TEST_CASE("malformed or inapplicable input is refused with the reason", "[admin][identity]") {
  const auto cfg = akamai_like();
  KeyInput k;
  std::string error;
  CHECK_FALSE(admin::parse_identity_input("true_client_ip", "not-an-ip", cfg, k, error));
  CHECK(error.find("not an IP address") != std::string::npos);
  CHECK_FALSE(admin::parse_identity_input("source", "10.1.2.0/16", cfg, k, error));
  CHECK(error.find("/24") != std::string::npos);
  CHECK_FALSE(admin::parse_identity_input("source", "10.1.2.0/x", cfg, k, error));
  CHECK_FALSE(admin::parse_identity_input("forwarded_for", "10.1.2.3", cfg, k, error));
  CHECK(error.find("does not use") != std::string::npos);
  CHECK_FALSE(admin::parse_identity_input("colour", "red", cfg, k, error));
  CHECK_FALSE(admin::parse_identity_input("app_cookie", "", cfg, k, error));
  CHECK_FALSE(admin::parse_identity_input("app_cookie", std::string(256, 'a'), cfg, k, error));
}
