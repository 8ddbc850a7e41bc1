// See token_file.h.
#include "admin/token_file.h"

#include <sys/stat.h>

#include "base/log.h"
#include "base/read_file.h"

namespace sticky::admin {

bool read_token_file(const std::string& path, std::string& token, std::string& error) {
  if (!read_whole_file(path, token)) {
    error = path + ": cannot read the admin token file";
    return false;
  }
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' || token.back() == '\t'))
    token.pop_back();
  if (token.size() < 16) {
    error = path + ": the admin token must be at least 16 bytes (e.g. `openssl rand -hex 32 > " + path + "`)";
    return false;
  }
  for (char c : token)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) {
      error = path + ": the admin token must be printable ASCII without spaces (it travels in a header)";
      return false;
    }
  return true;
}

TokenFile::Stamp TokenFile::stamp_of(const std::string& path) {
  Stamp s;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return s;
  s.size = static_cast<std::int64_t>(st.st_size);
  s.mtime = st.st_mtim;
  s.inode = static_cast<std::uint64_t>(st.st_ino);
  return s;
}

bool TokenFile::open(std::string path, std::string& error) {
  path_ = std::move(path);
  seen_ = stamp_of(path_);
  return read_token_file(path_, token_, error);
}

const std::string& TokenFile::current() {
  const Stamp now = stamp_of(path_);
  if (now == seen_) return token_;
  seen_ = now;
  std::string next, error;
  if (!read_token_file(path_, next, error)) {
    STICKY_LOG(Warn, "admin: %s; the previous token stays in force", error.c_str());
    return token_;
  }
  if (next != token_) {
    token_ = std::move(next);
    ++rotations_;
    STICKY_LOG(Info, "admin: token file %s changed: the new token is in force", path_.c_str());
  }
  return token_;
}

}  // namespace sticky::admin
