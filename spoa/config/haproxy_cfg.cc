// haproxy.cfg sections and SPOE filters, and their cross-check with the agent's backends.
#include "config/haproxy_cfg.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace sticky::config {

namespace {

// HAProxy's section keywords (2.6 - 3.x). A line starting with one of them opens a new section.
bool is_section_keyword(std::string_view w) {
  static constexpr std::string_view kKeywords[] = {
      "global", "defaults", "frontend", "backend", "listen", "peers", "resolvers", "userlist", "cache",
      "program", "http-errors", "ring", "mailers", "crt-store", "traces", "log-forward", "fcgi-app"};
  return std::find(std::begin(kKeywords), std::end(kKeywords), w) != std::end(kKeywords);
}

// Words of one line: whitespace-separated, quotes group (and are removed), `#` outside quotes ends it.
std::vector<std::string> words_of(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (c == quote) quote = 0;
      else cur.push_back(c);
      continue;
    }
    if (c == '\\' && i + 1 < line.size()) {
      cur.push_back(line[++i]);
      in_word = true;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
      continue;
    }
    if (c == '#' && !in_word) break;
    if (c == ' ' || c == '\t' || c == '\r') {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
      continue;
    }
    cur.push_back(c);
    in_word = true;
  }
  if (in_word) out.push_back(std::move(cur));
  return out;
}

std::string where(const std::string& path, int line) { return path + ":" + std::to_string(line) + ": "; }

}  // namespace

std::vector<HaproxyProxy> scan_haproxy_cfg(std::string_view text) {
  std::vector<HaproxyProxy> out;
  bool in_proxy = false;  // the current section is a backend or listen (out.back())
  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const std::vector<std::string> w = words_of(line);
    if (w.empty()) continue;
    if (is_section_keyword(w[0])) {
      in_proxy = (w[0] == "backend" || w[0] == "listen") && w.size() > 1;
      if (in_proxy) out.push_back(HaproxyProxy{w[1], w[0], line_no, 0, ""});
      continue;
    }
    if (!in_proxy || w.size() < 2 || w[0] != "filter" || w[1] != "spoe") continue;
    HaproxyProxy& p = out.back();
    if (p.spoe_filter_line != 0) continue;
    p.spoe_filter_line = line_no;
    for (std::size_t i = 2; i + 1 < w.size(); ++i)
      if (w[i] == "engine") p.spoe_engine = w[i + 1];
  }
  return out;
}

CrossCheck cross_check(const std::string& haproxy_path, const std::vector<HaproxyProxy>& proxies,
                       const std::string& agent_path, const std::vector<NamedLine>& agent_backends) {
  CrossCheck r;
  auto known = [&](const std::string& name) {
    return std::any_of(agent_backends.begin(), agent_backends.end(), [&](const NamedLine& b) { return b.name == name; });
  };
  std::string known_list;
  for (const NamedLine& b : agent_backends) known_list += (known_list.empty() ? "'" : ", '") + b.name + "'";
  if (known_list.empty()) known_list = "none";
  for (const HaproxyProxy& p : proxies) {
    if (p.spoe_filter_line == 0 || known(p.name)) continue;
    r.errors.push_back(where(haproxy_path, p.spoe_filter_line) + p.keyword + " '" + p.name +
                       "' runs the SPOE filter" + (p.spoe_engine.empty() ? "" : " (engine " + p.spoe_engine + ")") +
                       " but " + agent_path + " has no backend of that name (it knows " + known_list +
                       "): the agent would answer nothing and only count sticky_unknown_backend_total");
  }
  for (const NamedLine& b : agent_backends) {
    auto it = std::find_if(proxies.begin(), proxies.end(), [&](const HaproxyProxy& p) { return p.name == b.name; });
    if (it == proxies.end()) {
      r.errors.push_back(where(agent_path, b.line) + "backend '" + b.name + "' is not a backend or listen section of " +
                         haproxy_path + ": HAProxy never asks the agent about it (a typo in either name?)");
    } else if (it->spoe_filter_line == 0) {
      r.warnings.push_back(where(haproxy_path, it->line) + it->keyword + " '" + b.name + "' is described in " +
                           agent_path + " but has no `filter spoe` line: HAProxy never asks the agent about it");
    }
  }
  return r;
}

CrossCheck cross_check_files(const std::string& haproxy_path, const std::string& agent_path) {
  CrossCheck r;
  std::ifstream f(haproxy_path);
  if (!f) {
    r.errors.push_back(haproxy_path + ": cannot read the HAProxy configuration");
    return r;
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  std::vector<NamedLine> backends;
  try {
    const YAML::Node root = YAML::LoadFile(agent_path);
    if (const YAML::Node list = root["backends"]; list && list.IsSequence()) {
      for (const YAML::Node& b : list) {
        const YAML::Node name = b.IsMap() ? b["name"] : YAML::Node();
        if (name && name.IsScalar()) backends.push_back({name.as<std::string>(), name.Mark().line + 1});
      }
    }
  } catch (const YAML::Exception& e) {
    r.errors.push_back(agent_path + ": " + e.what());
    return r;
  }
  return cross_check(haproxy_path, scan_haproxy_cfg(ss.str()), agent_path, backends);
}

}  // namespace sticky::config
