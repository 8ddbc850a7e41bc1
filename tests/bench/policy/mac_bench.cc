// HMAC-SHA256 of a 17-byte cookie payload, the way the insert cookie needs it, by each API we could
// build it on: thread CPU ns per MAC and heap allocations per MAC. Every variant's MAC is checked
// against the first one before it is timed, so a fast wrong answer cannot win.
//
//   build/tests/bench/policy/mac_bench [rounds]      (default 7 rounds, medians printed)
//
// Variants (the key's HMAC pads are prepared once, at "config time", wherever the API allows it):
//   legacy SHA256_* pads       SHA256_CTX states copied by value (deprecated in OpenSSL 3; reference)
//   EVP_MAC dup                an EVP_MAC_CTX initialised once per key, EVP_MAC_CTX_dup per MAC
//   EVP_MAC re-init            one EVP_MAC_CTX per key and thread, EVP_MAC_init(NULL key) per MAC
//   EVP_MD_CTX copy_ex         inner/outer EVP_MD_CTX after the pads, EVP_MD_CTX_copy_ex into a
//                              preallocated work context per MAC
//   EVP_MD_CTX re-init         one EVP_MD_CTX per thread, EVP_DigestInit_ex2 and the 64-byte pad
//                              absorbed again per MAC (4 compressions instead of 2)
//   HMAC() one-shot            OpenSSL's non-deprecated one-shot HMAC()
//   libsodium state copy       crypto_auth_hmacsha256_state (plain struct) copied by value
//   nettle ctx copy            struct hmac_sha256_ctx (plain struct) copied by value
//   nettle pad states copy     only its inner and outer sha256_ctx copied, as policy/hmac_sha256.cc
#define OPENSSL_SUPPRESS_DEPRECATED 1  // only for the legacy reference row
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <nettle/hmac.h>
#include <nettle/sha2.h>
#ifdef STICKY_BENCH_SODIUM
#include <sodium.h>
#endif

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_calloc(size_t, size_t);
extern "C" void* __libc_realloc(void*, size_t);
static unsigned long g_allocs = 0;
extern "C" void* malloc(size_t n) { ++g_allocs; return __libc_malloc(n); }
extern "C" void* calloc(size_t n, size_t m) { ++g_allocs; return __libc_calloc(n, m); }
extern "C" void* realloc(void* p, size_t n) { ++g_allocs; return __libc_realloc(p, n); }

namespace {

constexpr std::size_t kMsgLen = 17;  // the cookie payload: version/key, token, issued, last_seen
constexpr std::size_t kBlock = 64;
using Digest = unsigned char[32];
using MacFn = std::function<void(const unsigned char* msg, unsigned char* out)>;

struct Variant {
  const char* name;
  MacFn mac;
  std::vector<double> ns;
  std::vector<double> allocs;
};

double thread_ns() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

void make_pads(const unsigned char* key, std::size_t key_len, unsigned char ipad[kBlock], unsigned char opad[kBlock]) {
  unsigned char block[kBlock] = {};
  std::memcpy(block, key, key_len);  // keys here are 32 bytes, below the block size
  for (std::size_t i = 0; i < kBlock; ++i) {
    ipad[i] = block[i] ^ 0x36;
    opad[i] = block[i] ^ 0x5c;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
  const int iters = 200000;
  unsigned char key[32];
  for (int i = 0; i < 32; ++i) key[i] = static_cast<unsigned char>(i * 7 + 1);
  unsigned char ipad[kBlock], opad[kBlock];
  make_pads(key, sizeof key, ipad, opad);

  std::vector<Variant> v;

  // legacy: what cookie_codec did before (deprecated interface).
  SHA256_CTX l_in, l_out;
  SHA256_Init(&l_in);
  SHA256_Update(&l_in, ipad, kBlock);
  SHA256_Init(&l_out);
  SHA256_Update(&l_out, opad, kBlock);
  v.push_back({"legacy SHA256_* pads (reference)", [&](const unsigned char* m, unsigned char* out) {
                 SHA256_CTX c = l_in;
                 SHA256_Update(&c, m, kMsgLen);
                 Digest inner;
                 SHA256_Final(inner, &c);
                 c = l_out;
                 SHA256_Update(&c, inner, sizeof inner);
                 SHA256_Final(out, &c);
               }, {}, {}});

  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                         OSSL_PARAM_construct_end()};
  EVP_MAC_CTX* mac_tmpl = EVP_MAC_CTX_new(hmac);
  EVP_MAC_init(mac_tmpl, key, sizeof key, params);
  v.push_back({"EVP_MAC dup per MAC", [&](const unsigned char* m, unsigned char* out) {
                 EVP_MAC_CTX* c = EVP_MAC_CTX_dup(mac_tmpl);
                 std::size_t len = 0;
                 EVP_MAC_update(c, m, kMsgLen);
                 EVP_MAC_final(c, out, &len, 32);
                 EVP_MAC_CTX_free(c);
               }, {}, {}});
  EVP_MAC_CTX* mac_work = EVP_MAC_CTX_dup(mac_tmpl);
  v.push_back({"EVP_MAC re-init (ctx per key+thread)", [&](const unsigned char* m, unsigned char* out) {
                 std::size_t len = 0;
                 EVP_MAC_init(mac_work, nullptr, 0, nullptr);
                 EVP_MAC_update(mac_work, m, kMsgLen);
                 EVP_MAC_final(mac_work, out, &len, 32);
               }, {}, {}});

  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* md_in = EVP_MD_CTX_new();
  EVP_MD_CTX* md_out = EVP_MD_CTX_new();
  EVP_DigestInit_ex2(md_in, sha256, nullptr);
  EVP_DigestUpdate(md_in, ipad, kBlock);
  EVP_DigestInit_ex2(md_out, sha256, nullptr);
  EVP_DigestUpdate(md_out, opad, kBlock);
  EVP_MD_CTX* md_work = EVP_MD_CTX_new();
  EVP_DigestInit_ex2(md_work, sha256, nullptr);
  v.push_back({"EVP_MD_CTX copy_ex of pad states", [&](const unsigned char* m, unsigned char* out) {
                 Digest inner;
                 unsigned int n = 0;
                 EVP_MD_CTX_copy_ex(md_work, md_in);
                 EVP_DigestUpdate(md_work, m, kMsgLen);
                 EVP_DigestFinal_ex(md_work, inner, &n);
                 EVP_MD_CTX_copy_ex(md_work, md_out);
                 EVP_DigestUpdate(md_work, inner, sizeof inner);
                 EVP_DigestFinal_ex(md_work, out, &n);
               }, {}, {}});
  EVP_MD_CTX* md_reinit = EVP_MD_CTX_new();
  EVP_DigestInit_ex2(md_reinit, sha256, nullptr);
  v.push_back({"EVP_MD_CTX re-init, pads re-absorbed", [&](const unsigned char* m, unsigned char* out) {
                 Digest inner;
                 unsigned int n = 0;
                 EVP_DigestInit_ex2(md_reinit, nullptr, nullptr);
                 EVP_DigestUpdate(md_reinit, ipad, kBlock);
                 EVP_DigestUpdate(md_reinit, m, kMsgLen);
                 EVP_DigestFinal_ex(md_reinit, inner, &n);
                 EVP_DigestInit_ex2(md_reinit, nullptr, nullptr);
                 EVP_DigestUpdate(md_reinit, opad, kBlock);
                 EVP_DigestUpdate(md_reinit, inner, sizeof inner);
                 EVP_DigestFinal_ex(md_reinit, out, &n);
               }, {}, {}});

  v.push_back({"HMAC() one-shot", [&](const unsigned char* m, unsigned char* out) {
                 unsigned int n = 0;
                 HMAC(EVP_sha256(), key, sizeof key, m, kMsgLen, out, &n);
               }, {}, {}});

  struct hmac_sha256_ctx nettle_key;
  hmac_sha256_set_key(&nettle_key, sizeof key, key);
  v.push_back({"nettle ctx copy", [&](const unsigned char* m, unsigned char* out) {
                 struct hmac_sha256_ctx c = nettle_key;
                 hmac_sha256_update(&c, kMsgLen, m);
                 hmac_sha256_digest(&c, 32, out);
               }, {}, {}});

  v.push_back({"nettle pad states copy (cookie_codec)", [&](const unsigned char* m, unsigned char* out) {
                 struct sha256_ctx c = nettle_key.inner;
                 sha256_update(&c, kMsgLen, m);
                 unsigned char inner[32];
                 sha256_digest(&c, sizeof inner, inner);
                 c = nettle_key.outer;
                 sha256_update(&c, sizeof inner, inner);
                 sha256_digest(&c, 32, out);
               }, {}, {}});

#ifdef STICKY_BENCH_SODIUM
  if (sodium_init() < 0) {
    std::fprintf(stderr, "sodium_init failed\n");
    return 1;
  }
  crypto_auth_hmacsha256_state na;
  crypto_auth_hmacsha256_init(&na, key, sizeof key);
  v.push_back({"libsodium state copy", [&](const unsigned char* m, unsigned char* out) {
                 crypto_auth_hmacsha256_state s = na;
                 crypto_auth_hmacsha256_update(&s, m, kMsgLen);
                 crypto_auth_hmacsha256_final(&s, out);
               }, {}, {}});
#else
  std::printf("libsodium: not found at configure time (apt-get install libsodium-dev), row skipped\n");
#endif

  // Messages vary per call, like cookies do; every variant must agree with the first.
  std::vector<unsigned char> msgs(kMsgLen * 1024);
  for (std::size_t i = 0; i < msgs.size(); ++i) msgs[i] = static_cast<unsigned char>(i * 131 + 7);
  for (std::size_t k = 0; k < 1024; ++k) {
    Digest ref, got;
    v[0].mac(&msgs[k * kMsgLen], ref);
    for (std::size_t j = 1; j < v.size(); ++j) {
      std::memset(got, 0, sizeof got);
      v[j].mac(&msgs[k * kMsgLen], got);
      if (std::memcmp(ref, got, sizeof ref) != 0) {
        std::fprintf(stderr, "%s: MAC differs from the reference\n", v[j].name);
        return 1;
      }
    }
  }

  unsigned char sink = 0;
  for (int r = 0; r < rounds; ++r) {
    for (Variant& x : v) {  // interleaved, so drift on this shared machine hits every row alike
      Digest out;
      for (int i = 0; i < 1000; ++i) x.mac(&msgs[(i & 1023) * kMsgLen], out);
      const unsigned long a0 = g_allocs;
      const double t0 = thread_ns();
      for (int i = 0; i < iters; ++i) {
        x.mac(&msgs[(i & 1023) * kMsgLen], out);
        sink = static_cast<unsigned char>(sink ^ out[0]);
      }
      x.ns.push_back((thread_ns() - t0) / iters);
      x.allocs.push_back(double(g_allocs - a0) / iters);
    }
  }
  auto median = [](std::vector<double> xs) {
    std::sort(xs.begin(), xs.end());
    return xs[xs.size() / 2];
  };
  const double base = median(v[0].ns);
  std::printf("%s, HMAC-SHA256 of %zu bytes, %d rounds x %d MACs, thread CPU time, medians\n",
              OpenSSL_version(OPENSSL_VERSION), kMsgLen, rounds, iters);
  std::printf("%-40s %10s %8s %14s\n", "variant", "ns/MAC", "ratio", "allocs/MAC");
  for (const Variant& x : v)
    std::printf("%-40s %10.1f %8.2f %14.3f\n", x.name, median(x.ns), median(x.ns) / base, median(x.allocs));
  std::printf("(sink %u)\n", sink);

  EVP_MD_CTX_free(md_reinit);
  EVP_MD_CTX_free(md_work);
  EVP_MD_CTX_free(md_in);
  EVP_MD_CTX_free(md_out);
  EVP_MD_free(sha256);
  EVP_MAC_CTX_free(mac_work);
  EVP_MAC_CTX_free(mac_tmpl);
  EVP_MAC_free(hmac);
  return 0;
}
