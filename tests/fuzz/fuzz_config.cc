// Fuzz entry point: the YAML agent config. Any text must give a config or a clean list of errors:
// no crash, no exception escaping load_string (the agent would die at start with no message), and
// every error names the pseudo file. Relative paths resolve in an empty directory, so the input
// cannot make the loader read the project's files.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>

#include <unistd.h>

#include "config/config_file.h"
#include "fuzz_check.h"

using namespace sticky;

namespace {

const std::string& empty_dir() {
  static const std::string dir = [] {
    const auto d = std::filesystem::temp_directory_path() / ("sticky-fuzz-config-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  config::LoadResult r;
  try {
    r = config::load_string(text, "fuzz.yaml", empty_dir());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "exception escaped load_string: %s\n", e.what());
    FUZZ_CHECK(false, "an exception escaped load_string");
  } catch (...) {
    FUZZ_CHECK(false, "a non-std exception escaped load_string");
  }
  for (const auto& e : r.errors) FUZZ_CHECK(!e.empty(), "an empty error message");
  if (r.ok()) {
    // A valid config is self-consistent: backend and profile names are unique and findable.
    for (const auto& b : r.config.backends) FUZZ_CHECK(r.config.find_backend(b.name) == &b, "duplicate backend");
    for (const auto& h : r.config.hsaf) FUZZ_CHECK(r.config.find_hsaf(h.name) == &h, "duplicate hsaf profile");
    // An empty list is valid (`listen: []` leaves the listeners to --listen; start-up refuses
    // having none at all), but every address in it was checked.
    for (const auto& l : r.config.agent.listen) FUZZ_CHECK(!l.empty(), "an empty listen address");
  }
  return 0;
}
