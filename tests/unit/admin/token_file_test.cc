// The admin token file: rotation by rewriting the file, and a broken rewrite keeping the old token.
#include "admin/token_file.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

using sticky::admin::TokenFile;

namespace {

struct TempFile {
  std::string path = (std::filesystem::temp_directory_path() / ("token-test-" + std::to_string(::getpid()))).string();
  ~TempFile() { std::filesystem::remove(path); }
  // Writes `text`; `stamp` sets the modification time, so two writes in one tick still differ.
  void write(const std::string& text, long stamp) const {
    std::ofstream(path, std::ios::trunc) << text;
    struct timespec t[2] = {{stamp, 0}, {stamp, 0}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), t, 0) == 0);
  }
};

}  // namespace

TEST_CASE("a rewritten token file puts the new token in force; a broken one keeps the old", "[token_file]") {
  TempFile f;
  f.write("first-token-0123456789\n", 1000);
  TokenFile t;
  std::string error;
  REQUIRE(t.open(f.path, error));
  CHECK(t.current() == "first-token-0123456789");
  f.write("second-token-abcdefghij\n", 2000);
  CHECK(t.current() == "second-token-abcdefghij");
  CHECK(t.rotations() == 1);
  f.write("short\n", 3000);  // too short: refused, the previous token stays
  CHECK(t.current() == "second-token-abcdefghij");
  std::filesystem::remove(f.path);  // gone: the same
  CHECK(t.current() == "second-token-abcdefghij");
  f.write("third-token-klmnopqrst", 4000);
  CHECK(t.current() == "third-token-klmnopqrst");
  CHECK(t.rotations() == 2);
}

TEST_CASE("a token file that is invalid from the start is refused with the reason", "[token_file]") {
  TempFile f;
  f.write("has space inside the token\n", 1000);
  TokenFile t;
  std::string error;
  CHECK_FALSE(t.open(f.path, error));
  CHECK(error.find("printable ASCII") != std::string::npos);
  TokenFile missing;
  CHECK_FALSE(missing.open(f.path + ".absent", error));
  CHECK(error.find("cannot read") != std::string::npos);
}
