// Redis key and channel naming for the shared sticky store.
#include "store/redis_key.h"

namespace sticky::store {

bool valid_cluster_name(std::string_view cluster) {
  if (cluster.empty() || cluster.size() > 64) return false;
  for (char c : cluster) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void make_redis_key(std::string& out, std::string_view cluster, std::string_view backend, std::uint8_t kind,
                    std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.clear();
  out.append(kKeyPrefix);
  out.append(cluster);
  out.push_back(':');
  out.append(backend);
  out.push_back(':');
  out.append(std::to_string(kind));
  out.push_back(':');
  for (char c : key) {
    auto b = static_cast<unsigned char>(c);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0f]);
  }
}

std::string redis_key_of(std::string_view cluster, const StickyRecord& record) {
  std::string out;
  make_redis_key(out, cluster, record.backend, record.kind, record.key);
  return out;
}

std::string sticky_channel(std::string_view cluster) { return std::string(kKeyPrefix) + std::string(cluster); }
std::string scan_pattern(std::string_view cluster) {
  return std::string(kKeyPrefix) + std::string(cluster) + ":*";
}

std::string backend_scan_pattern(std::string_view cluster, std::string_view backend) {
  std::string out = std::string(kKeyPrefix) + std::string(cluster) + ":";
  for (char c : backend) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');  // glob-literal
    out.push_back(c);
  }
  return out + ":*";
}

std::string_view key_backend(std::string_view redis_key, std::string_view cluster) {
  const std::string head = std::string(kKeyPrefix) + std::string(cluster) + ":";
  if (!redis_key.starts_with(head)) return {};
  std::string_view rest = redis_key.substr(head.size());
  const std::size_t hex = rest.rfind(':');
  if (hex == std::string_view::npos || hex == 0) return {};
  const std::size_t kind = rest.rfind(':', hex - 1);
  if (kind == std::string_view::npos || kind == 0 || kind + 1 == hex) return {};
  return rest.substr(0, kind);
}

}  // namespace sticky::store
