// The admin bearer token, from its file, re-read when the file changes: an operator rotates the
// token by rewriting the file (`openssl rand -hex 32 > admin.token`), no restart or reload. A file
// that becomes unreadable or invalid keeps the previous token in force, with a warning, so a
// half-written file never locks the operator out nor opens the API.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace sticky::admin {

// The token from a token file: its content without trailing whitespace. False with `error` when the
// file cannot be read, or the token is shorter than 16 bytes or holds anything but printable ASCII.
bool read_token_file(const std::string& path, std::string& token, std::string& error);

// One thread only (the admin listener's).
class TokenFile {
 public:
  // Reads the file once; false with `error` if it is not a valid token file.
  bool open(std::string path, std::string& error);
  // The token in force: re-read first if the file's size or modification time changed.
  const std::string& current();
  std::uint64_t rotations() const { return rotations_; }

 private:
  struct Stamp {
    std::int64_t size = -1;
    std::timespec mtime{};
    std::uint64_t inode = 0;
    bool operator==(const Stamp& o) const {
      return size == o.size && mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec && inode == o.inode;
    }
  };
  static Stamp stamp_of(const std::string& path);

  std::string path_;
  std::string token_;
  Stamp seen_;
  std::uint64_t rotations_ = 0;
};

}  // namespace sticky::admin
