// Loading the agent's YAML config file: every problem collected as "file:line: path: problem".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace sticky::config {

struct LoadResult {
  Config config;                      // meaningful only when ok()
  std::vector<std::string> errors;    // all of them, in file order per section
  std::vector<std::string> warnings;  // accepted but worth fixing
  bool ok() const { return errors.empty(); }
};

// Reads and validates `path`; relative paths inside resolve against the file's directory.
// Never throws: unreadable files and YAML syntax errors are reported in `errors`.
LoadResult load_file(const std::string& path);

// Same as load_file on text already in memory; `pseudo_filename` prefixes messages and relative
// paths resolve against `base_dir` (empty = the working directory).
LoadResult load_string(std::string_view text, std::string_view pseudo_filename, std::string base_dir = "");

// One line per option: path, type, default, bounds, help (for `sticky-agent --help-config`).
std::string describe_options();

}  // namespace sticky::config
