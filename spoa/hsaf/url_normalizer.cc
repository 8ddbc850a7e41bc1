// URL normalisation config checks and the parts of the normaliser that need no sink.
#include "hsaf/url_normalizer.h"

#include <algorithm>

namespace sticky::hsaf {

std::vector<std::string> validate_url_normalization(const UrlNormalization& cfg) {
  std::vector<std::string> errors;
  if (cfg.query == QueryMode::Params && cfg.params.empty())
    errors.push_back("url.query is 'params' but no parameter names are listed");
  if (cfg.query != QueryMode::Params && !cfg.params.empty())
    errors.push_back("url.params are listed but url.query is not 'params', so they would be ignored");
  for (const std::string& p : cfg.params) {
    if (p.empty()) {
      errors.push_back("url.params contains an empty parameter name");
    } else if (p.find_first_of("&=?#") != std::string::npos) {
      errors.push_back("url.params name '" + p + "' contains one of '&', '=', '?', '#'");
    }
  }
  return errors;
}

UrlNormalizer::UrlNormalizer(const UrlNormalization& cfg)
    : query_(cfg.query), lowercase_path_(cfg.lowercase_path), params_(cfg.params) {
  std::sort(params_.begin(), params_.end());
  params_.erase(std::unique(params_.begin(), params_.end()), params_.end());
}

namespace detail {

namespace {
bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
    if (c != prefix[i]) return false;
  }
  return true;
}
}  // namespace

std::string_view strip_absolute_form(std::string_view& target) {
  std::size_t skip = 0;
  if (starts_with_nocase(target, "http://")) {
    skip = 7;
  } else if (starts_with_nocase(target, "https://")) {
    skip = 8;
  } else {
    return {};
  }
  std::string_view rest = target.substr(skip);
  const std::size_t end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  target = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  return authority;
}

}  // namespace detail
}  // namespace sticky::hsaf
