// Collects every config error and warning as "file:line: path: problem" so all are reported at once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/mark.h>

namespace sticky::config {

class Diagnostics {
 public:
  // `file` is printed in messages; relative paths in values resolve against `base_dir`.
  Diagnostics(std::string file, std::string base_dir)
      : file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  void error(const YAML::Mark& at, std::string_view path, std::string_view problem) {
    errors_.push_back(format(file_, at.line, path, problem));
  }
  void warning(const YAML::Mark& at, std::string_view path, std::string_view problem) {
    warnings_.push_back(format(file_, at.line, path, problem));
  }
  // For problems inside a file the config points at (a CIDR list, a secret); `line` is 1-based.
  void error_in(std::string_view other_file, int line, std::string_view path, std::string_view problem) {
    errors_.push_back(format(other_file, line - 1, path, problem));
  }

  // Absolute paths are kept; relative ones are taken from the config file's directory so the
  // agent behaves the same whatever its working directory.
  std::string resolve_path(std::string_view p) const {
    if (p.empty() || p.front() == '/' || base_dir_.empty()) return std::string(p);
    return base_dir_ + "/" + std::string(p);
  }

  const std::string& file() const { return file_; }
  std::vector<std::string>& errors() { return errors_; }
  std::vector<std::string>& warnings() { return warnings_; }

 private:
  // yaml-cpp lines are 0-based; a null mark (-1) has no line to print.
  static std::string format(std::string_view file, int line0, std::string_view path, std::string_view problem) {
    std::string s(file);
    if (line0 >= 0) s += ":" + std::to_string(line0 + 1);
    s += ": ";
    if (!path.empty()) {
      s += path;
      s += ": ";
    }
    s += problem;
    return s;
  }

  std::string file_;
  std::string base_dir_;
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
};

}  // namespace sticky::config
