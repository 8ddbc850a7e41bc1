// Entry points of the option tables: the root of the file, and the list sections it delegates to.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "config/diagnostics.h"

namespace sticky::config {

// Applies the whole document to `cfg` (which starts at its defaults), then the cross-section checks.
void apply_root(const YAML::Node& root, Config& cfg, Diagnostics& d);

// `backends:` and `hsaf:` lists (backend_options.cc, hsaf_options.cc).
void parse_backends(const YAML::Node& n, Config& cfg, Diagnostics& d, const std::string& path);
void parse_hsaf_profiles(const YAML::Node& n, Config& cfg, Diagnostics& d, const std::string& path);

// Shared by both: `servers: [{name, weight}, ...]` with duplicate names rejected.
void parse_static_servers(const YAML::Node& n, std::vector<StaticServer>& out, Diagnostics& d,
                          const std::string& path);

// Text reference of every option (type, default, bounds, help), for `sticky-agent --help-config`.
std::string describe_all_options();
std::string describe_backend_options();
std::string describe_hsaf_options();

}  // namespace sticky::config
