// A reader of the parts of haproxy.cfg the agent depends on: which proxies (backend / listen) run the
// SPOE filter, so `sticky-agent --check FILE --haproxy-config HAPROXY.CFG` can tell when HAProxy asks
// for a backend the agent does not know (it would only count sticky_unknown_backend_total), or when
// the agent describes a backend HAProxy never asks about.
//
// Deliberately small: sections are recognised by their keyword at the start of a line, `#` starts a
// comment outside quotes, and only `filter spoe` lines are read inside proxies. Names are taken as
// written (a name built from "${VAR}" stays unexpanded).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sticky::config {

struct HaproxyProxy {
  std::string name;
  std::string keyword;     // "backend" or "listen" (frontends are not backends: never listed)
  int line = 0;            // of the section keyword, 1-based
  int spoe_filter_line = 0;  // first `filter spoe` line in the section; 0 = none
  std::string spoe_engine;   // its `engine NAME`, if given
};

// Every backend and listen section of `text`, in file order.
std::vector<HaproxyProxy> scan_haproxy_cfg(std::string_view text);

// The agent's backends with the line of their `name:` in the YAML file (0 when unknown).
struct NamedLine {
  std::string name;
  int line = 0;
};

// Cross-check, one message per problem, each starting with "file:line: ":
//  - a proxy with `filter spoe` whose name is not among `agent_backends` (error);
//  - an agent backend with no backend/listen of that name in haproxy.cfg (error), or one that exists
//    without `filter spoe` (warning: HAProxy never asks the agent about it).
struct CrossCheck {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};
CrossCheck cross_check(const std::string& haproxy_path, const std::vector<HaproxyProxy>& proxies,
                       const std::string& agent_path, const std::vector<NamedLine>& agent_backends);

// Reads `haproxy_path` and runs cross_check against the agent config `agent_path` (`backends[].name`).
// An unreadable file is one error.
CrossCheck cross_check_files(const std::string& haproxy_path, const std::string& agent_path);

}  // namespace sticky::config
