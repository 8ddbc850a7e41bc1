// A small file read whole (secrets, tokens): its content, or false when it cannot be opened.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace sticky {

inline bool read_whole_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

}  // namespace sticky
