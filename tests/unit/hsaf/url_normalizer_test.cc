// Canonical serial input: host case, path case, query modes, absolute-form targets, buffer limits.
#include <catch2/catch.hpp>

#include <array>
#include <string>

#include "base/hash.h"
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
UrlNormalization with_query(QueryMode m, std::vector<std::string> params = {}) {
  UrlNormalization c;
  c.query = m;
  c.params = std::move(params);
  return c;
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
