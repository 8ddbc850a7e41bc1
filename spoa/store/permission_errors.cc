// Recognising Redis ACL/auth refusals and remembering which were already reported.
#include "store/permission_errors.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include "store/redis_key.h"

namespace sticky::store {

bool is_permission_error(std::string_view m) {
  for (std::string_view code : {"NOPERM", "WRONGPASS", "NOAUTH"}) {
    std::size_t at = m.find(code);
    // A reply code stands at the start or right after a "<context>: " prefix.
    if (at != std::string_view::npos && (at == 0 || (at >= 2 && m.substr(at - 2, 2) == ": "))) return true;
  }
  // Redis before 6 (and `requirepass` without ACL users) answer a bad AUTH with a plain ERR.
  return m.find("invalid password") != std::string_view::npos ||
         m.find("invalid username-password") != std::string_view::npos;
}

std::string acl_requirement(std::string_view username) {
  std::string out = "ACL user '";
  out += username.empty() ? std::string_view("default") : username;
  out += "' must allow keys ";
  out += kAclKeyPattern;
  out += " and channels ";
  out += kAclChannelPattern;
  out += " with +get +set +mget +pexpire +pttl +publish +subscribe +scan +role +ping +evalsha +eval (see redis/redis.conf)";
  return out;
}

bool first_permission_report(std::string_view what) {
  static std::mutex mu;
  static std::vector<std::string> seen;
  std::lock_guard<std::mutex> lock(mu);
  if (std::find(seen.begin(), seen.end(), what) != seen.end()) return false;
  if (seen.size() >= kMaxPermissionReports) return false;
  seen.emplace_back(what);
  return true;
}

}  // namespace sticky::store
