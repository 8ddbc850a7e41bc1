// Loading the agent's YAML config file: every problem collected as "file:line: path: problem".
#include "config/config_file.h"

#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "config/diagnostics.h"
#include "config/options.h"

namespace sticky::config {

LoadResult load_string(std::string_view text, std::string_view pseudo_filename, std::string base_dir) {
  LoadResult result;
  Diagnostics d{std::string(pseudo_filename), std::move(base_dir)};
  result.config.source = std::string(pseudo_filename);
  try {
    YAML::Node root = YAML::Load(std::string(text));
    apply_root(root, result.config, d);
  } catch (const YAML::Exception& e) {
    // Syntax errors end parsing: yaml-cpp cannot resume after one.
    d.error(e.mark, "", "YAML syntax error: " + e.msg);
  }
  result.errors = std::move(d.errors());
  result.warnings = std::move(d.warnings());
  return result;
}

LoadResult load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back(path + ": cannot open config file");
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? std::string(".") : path.substr(0, slash == 0 ? 1 : slash);
  return load_string(ss.str(), path, dir);
}

std::string describe_options() { return sticky::config::describe_all_options(); }

}  // namespace sticky::config
