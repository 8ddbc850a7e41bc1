// Canonical serial input: host case, path case, query modes, absolute-form targets, buffer limits.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "base/hash.h"
#include "hsaf/serial.h"
#include "hsaf/stable_hasher.h"
#include "hsaf/url_normalizer.h"

using namespace sticky::hsaf;

namespace {
std::string norm(const UrlNormalization& cfg, std::string_view host, std::string_view target) {
  std::array<char, 256> buf{};
  CharBufferSink sink(buf);
  UrlNormalizer(cfg).feed(host, target, sink);
  REQUIRE(sink.fits());
  return std::string(sink.view());
}
UrlNormalization with_query(QueryMode m, std::vector<std::string> params = {}, bool lowercase_path = false) {
  UrlNormalization c;
  c.query = m;
  c.params = std::move(params);
  c.lowercase_path = lowercase_path;
  return c;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
  return s;
}

// The documented canonical form written the plain way (whole strings, no streaming, no fast paths),
// as the oracle for generated inputs.
std::string reference_form(const UrlNormalization& cfg, std::string host, std::string target) {
  for (const std::string scheme : {"http://", "https://"}) {
    if (lower(target.substr(0, scheme.size())) != scheme) continue;
    const std::string rest = target.substr(scheme.size());
    const std::size_t end = rest.find_first_of("/?#");
    if (host.empty()) host = rest.substr(0, end);
    target = end == std::string::npos ? std::string() : rest.substr(end);
    break;
  }
  target = target.substr(0, target.find('#'));
  const std::size_t q = target.find('?');
  std::string path = target.substr(0, q);
  const std::string query = q == std::string::npos ? std::string() : target.substr(q + 1);
  if (path.empty()) path = "/";
  std::string out = lower(host) + (cfg.lowercase_path ? lower(path) : path);
  if (cfg.query == QueryMode::Keep && !query.empty()) out += "?" + query;
  if (cfg.query == QueryMode::Params) {
    std::vector<std::string> names = cfg.params;
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    char sep = '?';
    for (const std::string& name : names) {
      std::size_t at = 0;
      while (at <= query.size()) {
        const std::size_t amp = std::min(query.find('&', at), query.size());
        const std::string seg = query.substr(at, amp - at);
        if (!seg.empty() && seg.substr(0, seg.find('=')) == name) {
          out += sep + seg;
          sep = '&';
        }
        at = amp + 1;
      }
    }
  }
  return out;
}
}  // namespace

TEST_CASE("the host is always lowercased and the path keeps its case by default", "[url_normalizer]") {
  CHECK(norm({}, "WWW.Example.COM", "/Videos/Intro.MP4") == "www.example.com/Videos/Intro.MP4");
}

TEST_CASE("lowercase_path lowercases the path but not the query", "[url_normalizer]") {
  UrlNormalization c;
  c.lowercase_path = true;
  CHECK(norm(c, "Example.com", "/Videos/Intro.MP4?Q=X") == "example.com/videos/intro.mp4?Q=X");
}

TEST_CASE("query modes keep, drop, or reduce the query", "[url_normalizer]") {
  CHECK(norm(with_query(QueryMode::Keep), "h", "/p?b=2&a=1") == "h/p?b=2&a=1");
  CHECK(norm(with_query(QueryMode::Drop), "h", "/p?b=2&a=1") == "h/p");
  CHECK(norm(with_query(QueryMode::Params, {"b", "a"}), "h", "/p?z=9&b=2&a=1") == "h/p?a=1&b=2");
}

TEST_CASE("named parameters are order-independent and keep repeats and bare flags", "[url_normalizer]") {
  const auto c = with_query(QueryMode::Params, {"v", "flag", "v"});
  CHECK(norm(c, "h", "/p?v=1&x=0&flag&v=2") == "h/p?flag&v=1&v=2");
  CHECK(norm(c, "h", "/p?v=1&x=0&flag&v=2") == norm(c, "h", "/p?flag&v=1&v=2&x=5"));
  CHECK(norm(c, "h", "/p?x=1&vv=2") == "h/p");
  CHECK(norm(c, "h", "/p") == "h/p");
}

TEST_CASE("an empty query and a fragment do not change the input", "[url_normalizer]") {
  CHECK(norm({}, "h", "/p?") == "h/p");
  CHECK(norm({}, "h", "/p#top") == "h/p");
  CHECK(norm({}, "h", "/p?a=1#top") == "h/p?a=1");
}

TEST_CASE("an empty path is '/'", "[url_normalizer]") {
  CHECK(norm({}, "h", "") == "h/");
  CHECK(norm({}, "h", "?a=1") == "h/?a=1");
}

TEST_CASE("an absolute-form target gives its path and, without a Host, its authority", "[url_normalizer]") {
  CHECK(norm({}, "", "HTTP://Cdn.Example/x?y=1") == "cdn.example/x?y=1");
  CHECK(norm({}, "other", "https://cdn.example/x") == "other/x");
  CHECK(norm({}, "", "http://cdn.example") == "cdn.example/");
}

TEST_CASE("a buffer that is too small reports the size it needed", "[url_normalizer]") {
  std::array<char, 8> buf{};
  CharBufferSink sink(buf);
  UrlNormalizer({}).feed("example.com", "/index.html", sink);
  CHECK_FALSE(sink.fits());
  CHECK(sink.needed() == std::string_view("example.com/index.html").size());
  CHECK(sink.view() == "example.");
}

TEST_CASE("hashing while normalising equals hashing the normalised text", "[url_normalizer]") {
  const auto c = with_query(QueryMode::Params, {"id", "lang"});
  StableHasher h(0x1234ULL);
  UrlNormalizer(c).feed("Shop.Example", "/Item?lang=en&utm=x&id=42", h);
  CHECK(h.finish() == sticky::stable_hash64("shop.example/Item?id=42&lang=en", 0x1234ULL));
}

TEST_CASE("invalid normalisation settings are reported", "[url_normalizer]") {
  CHECK(validate_url_normalization({}).empty());
  auto errs = validate_url_normalization(with_query(QueryMode::Params));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0] == "url.query is 'params' but no parameter names are listed");
  errs = validate_url_normalization(with_query(QueryMode::Params, {"a=b", ""}));
  REQUIRE(errs.size() == 2);
  CHECK(errs[0] == "url.params name 'a=b' contains one of '&', '=', '?', '#'");
  CHECK(errs[1] == "url.params contains an empty parameter name");
  errs = validate_url_normalization(with_query(QueryMode::Drop, {"a"}));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0] == "url.params are listed but url.query is not 'params', so they would be ignored");
}

TEST_CASE("generated URLs: the streamed form equals the reference form and hashes as its text, in every mode",
          "[url_normalizer]") {
  static constexpr char kAlphabet[] = "aZ09-./%=&?#~\xC3\x89q";
  std::uint64_t x = 0x5eed;
  auto next = [&x] {  // SplitMix64 step
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  auto text = [&](std::size_t max_len) {
    std::string s;
    for (std::size_t n = next() % (max_len + 1); n > 0; --n) s += kAlphabet[next() % (sizeof kAlphabet - 1)];
    return s;
  };
  // Targets built from the shapes the normaliser tells apart: absolute-form, leading '/', no/empty/
  // named/raw query, fragment, with random bytes (including '?', '#', '&', '=') everywhere.
  auto target_of = [&] {
    std::string t;
    if (next() % 4 == 0) t += next() % 2 ? "hTTp://Au" + text(6) : "https://" + text(6);
    if (next() % 4 != 0) t += "/";
    t += text(60);
    switch (next() % 4) {
      case 0: break;
      case 1: t += "?"; break;
      case 2: t += "?a=" + text(5) + "&q&Z=" + text(9) + "&a"; break;
      default: t += "?" + text(20); break;
    }
    if (next() % 5 == 0) t += "#" + text(8);
    return t;
  };
  const std::vector<UrlNormalization> configs = {
      with_query(QueryMode::Keep),
      with_query(QueryMode::Keep, {}, true),
      with_query(QueryMode::Drop),
      with_query(QueryMode::Drop, {}, true),
      with_query(QueryMode::Params, {"q", "a"}),
      with_query(QueryMode::Params, {"Z", "a", "Z"}, true),
  };
  for (const UrlNormalization& cfg : configs) {
    const UrlNormalizer n(cfg);
    for (int i = 0; i < 4000; ++i) {
      const std::string host = next() % 5 == 0 ? std::string() : text(24);
      const std::string target = target_of();
      std::array<char, 512> buf{};
      CharBufferSink sink(buf);
      n.feed(host, target, sink);
      REQUIRE(sink.fits());
      INFO(host << " | " << target);
      REQUIRE(sink.view() == reference_form(cfg, host, target));
      StableHasher one(0x77);
      DualHasher two(kSerialSeed1, kSerialSeed2);
      n.feed(host, target, one);
      n.feed(host, target, two);
      CHECK(one.finish() == sticky::stable_hash64(sink.view(), 0x77));
      CHECK(two.finish_first() == sticky::stable_hash64(sink.view(), kSerialSeed1));
      CHECK(two.finish_second() == sticky::stable_hash64(sink.view(), kSerialSeed2));
    }
  }
}
