// Benchmark for the policy building blocks: prints ns per call and heap allocations per call.
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "policy/cidr.h"
#include "policy/cookie_codec.h"
#include "policy/identity.h"
#include "policy/set_cookie_parse.h"

extern "C" void* __libc_malloc(size_t);
static unsigned long g_mallocs = 0;
extern "C" void* malloc(size_t n) { ++g_mallocs; return __libc_malloc(n); }

using namespace sticky::policy;
using Clock = std::chrono::steady_clock;

template <typename F>
void run(const char* name, int iters, F&& f) {
  for (int i = 0; i < 1000; ++i) f(i);
  const unsigned long m0 = g_mallocs;
  // Thread CPU time: the machine is shared, wall time would include other people's builds.
  timespec a, b;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  for (int i = 0; i < iters; ++i) f(i);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  const double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / iters;
  std::printf("%-40s %8.1f ns/call  %.3f mallocs/call\n", name, ns, double(g_mallocs - m0) / iters);
}

int main() {
  CookieCodec codec(CookieLimits{600, 86400, 60});
  codec.add_key(0, "0123456789abcdef-old-secret");
  codec.add_key(1, "fedcba9876543210-new-secret");
  ServerToken tok; codec.server_token(1, "web1", tok);
  const std::int64_t now = 1700000000;
  char value[kCookieValueLen];
  codec.encode(codec.make(tok, now), value);
  const std::string_view v(value, kCookieValueLen);
  volatile int sink = 0;
  run("cookie verify (Ok)", 500000, [&](int) { sink += (int)codec.verify(v, now + 1).status; });
  char out[kCookieValueLen];
  AgentCookie ck = codec.make(tok, now);
  run("cookie encode", 500000, [&](int i) { ck.last_seen = (std::uint32_t)(now + i); sink += (int)codec.encode(ck, out); });

  // Reference: OpenSSL 3 EVP_MAC with a prepared context dup'd per call.
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* tmpl = EVP_MAC_CTX_new(mac);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  const unsigned char key[32] = {1};
  EVP_MAC_init(tmpl, key, sizeof key, params);
  run("reference: EVP_MAC dup+update+final", 200000, [&](int) {
    EVP_MAC_CTX* c = EVP_MAC_CTX_dup(tmpl);
    unsigned char md[32]; size_t len = 0;
    EVP_MAC_update(c, reinterpret_cast<const unsigned char*>(value), 17);
    EVP_MAC_final(c, md, &len, sizeof md);
    EVP_MAC_CTX_free(c);
    sink += md[0];
  });
  EVP_MAC_CTX* work = EVP_MAC_CTX_dup(tmpl);
  run("reference: EVP_MAC re-init (same ctx)", 200000, [&](int) {
    unsigned char md[32]; size_t len = 0;
    EVP_MAC_init(work, nullptr, 0, nullptr);
    EVP_MAC_update(work, reinterpret_cast<const unsigned char*>(value), 17);
    EVP_MAC_final(work, md, &len, sizeof md);
    sink += md[0];
  });

  // CIDR: a few hundred v4 + v6 ranges, Akamai-sized.
  CidrSet set;
  std::uint64_t x = 42;
  auto rnd = [&] { x = x * 6364136223846793005ull + 1442695040888963407ull; return (std::uint32_t)(x >> 32); };
  for (int i = 0; i < 300; ++i) {
    Cidr c; std::uint32_t a = rnd();
    c.network.bytes = {(std::uint8_t)(a >> 24), (std::uint8_t)(a >> 16), (std::uint8_t)(a >> 8), (std::uint8_t)a};
    c.prefix_len = (std::uint8_t)(12 + rnd() % 13); mask_ip(c.network, c.prefix_len); set.add(c);
  }
  for (int i = 0; i < 100; ++i) {
    Cidr c; c.network.family = IpFamily::V6;
    for (auto& b : c.network.bytes) b = (std::uint8_t)rnd();
    c.prefix_len = (std::uint8_t)(20 + rnd() % 30); mask_ip(c.network, c.prefix_len); set.add(c);
  }
  std::vector<IpAddress> probes(4096);
  for (std::size_t i = 0; i < probes.size(); ++i) {
    if (i % 2) { probes[i].family = IpFamily::V6; for (auto& b : probes[i].bytes) b = (std::uint8_t)rnd(); }
    else { std::uint32_t a = rnd(); probes[i].bytes = {(std::uint8_t)(a >> 24), (std::uint8_t)(a >> 16), (std::uint8_t)(a >> 8), (std::uint8_t)a}; }
  }
  std::printf("cidr set: %zu prefixes, %zu merged ranges\n", set.prefixes_added(), set.ranges());
  run("cidr contains (400 prefixes, v4/v6 mix)", 2000000, [&](int i) { sink += set.contains(probes[i & 4095]); });

  IdentityConfig cfg;
  cfg.cdn_ranges = set;
  parse_cidr("10.0.0.0/8");
  cfg.trusted_proxies.add(parse_cidr("10.0.0.0/8").cidr);
  IdentityResolver resolver(cfg, &codec);
  IpAddress src; parse_ip("10.1.1.1", src);
  ClientFacts f; f.source = src.view(); f.forwarded_for = "198.51.100.1, 203.0.113.9, 10.2.2.2";
  IdentityCounters n; std::uint8_t buf[kIdentityKeyCapacity];
  run("identity resolve via XFF (3 hops)", 1000000, [&](int) { sink += (int)resolver.resolve(f, now, buf, n).kind; });
  ClientFacts fc = f; fc.agent_cookie = v;
  run("identity resolve via agent cookie", 500000, [&](int) { sink += (int)resolver.resolve(fc, now, buf, n).kind; });

  SetCookieCounters sc;
  const std::string_view hdr = "lang=en; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/\nJSESSIONID=ABCDEF0123456789; Path=/; HttpOnly";
  run("set-cookie learn (2 cookies, Expires)", 1000000, [&](int) { sink += (int)parse_set_cookie(hdr, "JSESSIONID", now, sc).outcome; });
  return 0;
}
