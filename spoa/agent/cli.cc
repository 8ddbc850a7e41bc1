// Command-line parsing: strict, every refusal is one line naming the offending argument.
#include "agent/cli.h"

#include <charconv>
#include <string_view>

#include "config/units.h"

namespace sticky::agent {

const char* usage_text() {
  return "Usage: sticky-agent [options]\n"
         "  SPOE agent for HAProxy: session persistence and request routing.\n"
         "\n"
         "Options:\n"
         "  --listen ADDR       listen on HOST:PORT, [IPv6]:PORT or unix:PATH (repeatable;\n"
         "                      default 127.0.0.1:12345, or agent.listen in the config)\n"
         "  --socket-mode MODE  permission bits of unix sockets, octal (e.g. 0660)\n"
         "  --socket-owner USER owner of unix sockets (name or uid; needs root)\n"
         "  --socket-group GRP  group of unix sockets (name or gid, e.g. haproxy)\n"
         "  --threads N         worker threads (default: number of cores)\n"
         "  -c, --config FILE   agent configuration (YAML); see haproxy-conf/agent/\n"
         "                      (SIGHUP or POST /api/v1/reload re-reads it live)\n"
         "  --check FILE        validate a configuration file, with the other options given,\n"
         "                      exactly as start-up does, and exit (0 = valid)\n"
         "  --haproxy-config CFG  with --check: also read this haproxy.cfg and report, as\n"
         "                      file:line, proxies with `filter spoe` the config lacks and\n"
         "                      configured backends HAProxy does not have\n"
         "  --metrics ADDR      serve Prometheus metrics on HOST:PORT (GET /metrics, /healthz)\n"
         "  --admin ADDR        admin API and web page on HOST:PORT (default 127.0.0.1:9125,\n"
         "                      or agent.admin in the config); needs a token file\n"
         "  --admin-token-file FILE  bearer token of the admin API (or agent.admin_token_file);\n"
         "                      without one the admin API is disabled\n"
         "  --log-level LEVEL   error, warn, info or debug (default info)\n"
         "  --drain-grace DUR   on SIGTERM, fail HAProxy's health checks for DUR (e.g. 3s,\n"
         "                      500ms; 0 = no drain) while still answering, then close\n"
         "                      (default 3s, or agent.drain_grace in the config)\n"
         "  --version           print the version and exit\n"
         "  --help              print this help and exit\n";
}

bool parse_cli(int argc, const char* const* argv, CliOptions& out, std::string& error) {
  out = CliOptions{};
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_inline = false;
    if (const std::size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline = true;
    }
    auto need_value = [&](std::string_view& v) {
      if (has_inline) {
        v = value;
        return true;
      }
      if (i + 1 >= argc) {
        error = "option " + std::string(arg) + " needs a value";
        return false;
      }
      v = argv[++i];
      return true;
    };
    std::string_view v;
    if (arg == "--help" || arg == "-h") {
      out.help = true;
    } else if (arg == "--version" || arg == "-V") {
      out.version = true;
    } else if (arg == "--listen") {
      if (!need_value(v)) return false;
      io::ListenAddress a;
      std::string why;
      if (!io::parse_listen_address(v, a, why)) {
        error = "--listen: " + why;
        return false;
      }
      out.listen.push_back(std::move(a));
    } else if (arg == "--socket-mode") {
      if (!need_value(v)) return false;
      out.socket_mode = std::string(v);
    } else if (arg == "--socket-owner") {
      if (!need_value(v)) return false;
      out.socket_owner = std::string(v);
    } else if (arg == "--socket-group") {
      if (!need_value(v)) return false;
      out.socket_group = std::string(v);
    } else if (arg == "--threads") {
      if (!need_value(v)) return false;
      int n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || p != v.data() + v.size() || n < 1 || n > 256) {
        error = "--threads: expected a number from 1 to 256, got '" + std::string(v) + "'";
        return false;
      }
      out.threads = n;
    } else if (arg == "--config" || arg == "-c") {
      if (!need_value(v)) return false;
      out.config_path = std::string(v);
    } else if (arg == "--check") {
      if (!need_value(v)) return false;
      out.check_path = std::string(v);
    } else if (arg == "--haproxy-config") {
      if (!need_value(v)) return false;
      out.haproxy_config_path = std::string(v);
    } else if (arg == "--metrics") {
      if (!need_value(v)) return false;
      io::ListenAddress a;
      std::string why;
      if (!io::parse_listen_address(v, a, why) || a.kind != io::ListenAddress::Kind::Tcp) {
        error = "--metrics: expected HOST:PORT, got '" + std::string(v) + "'";
        return false;
      }
      out.metrics_address = std::string(v);
    } else if (arg == "--admin") {
      if (!need_value(v)) return false;
      io::ListenAddress a;
      std::string why;
      if (!io::parse_listen_address(v, a, why) || a.kind != io::ListenAddress::Kind::Tcp) {
        error = "--admin: expected HOST:PORT, got '" + std::string(v) + "'";
        return false;
      }
      out.admin_address = std::string(v);
    } else if (arg == "--admin-token-file") {
      if (!need_value(v)) return false;
      out.admin_token_file = std::string(v);
    } else if (arg == "--log-level") {
      if (!need_value(v)) return false;
      if (!log::parse_level(v, out.log_level)) {
        error = "--log-level: expected error, warn, info or debug, got '" + std::string(v) + "'";
        return false;
      }
      out.log_level_set = true;
    } else if (arg == "--drain-grace") {
      if (!need_value(v)) return false;
      const config::ParsedNumber d = config::parse_duration_ms(v);
      if (!d.ok() || d.value > 600 * 1000) {
        error = "--drain-grace: expected a duration up to 10m such as 3s or 500ms, got '" + std::string(v) + "'";
        return false;
      }
      out.drain_grace_ms = static_cast<long long>(d.value);
    } else {
      error = "unknown option '" + std::string(argv[i]) + "' (see --help)";
      return false;
    }
  }
  if (!out.haproxy_config_path.empty() && out.check_path.empty() && !out.help && !out.version) {
    error = "--haproxy-config is only used with --check FILE";
    return false;
  }
  return true;
}

}  // namespace sticky::agent
