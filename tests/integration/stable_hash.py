"""The project's stable hash (spoa/base/hash.h, "sticky-hash-1") in Python, for tests that must
predict a value the agent derives: the key id of a cookie secret (agent/persist_runtime.cc).
Checked at import against vectors of tests/unit/base/hash_test.cc."""

M = 0xc6a4a7935bd1e995
SEED_SALT = 0x9e3779b97f4a7c15
MASK = (1 << 64) - 1
KEY_ID_SEED = 0x6b65792d6964  # "key-id"


def fmix64(k):
    k ^= k >> 33
    k = (k * 0xff51afd7ed558ccd) & MASK
    k ^= k >> 33
    k = (k * 0xc4ceb9fe1a85ec53) & MASK
    return k ^ (k >> 33)


def _round(h, w):
    k = (w * M) & MASK
    k ^= k >> 47
    return ((h ^ ((k * M) & MASK)) * M) & MASK


def stable_hash64(data: bytes, seed: int) -> int:
    h = fmix64(seed ^ SEED_SALT)
    whole = len(data) - len(data) % 8
    for i in range(0, whole, 8):
        h = _round(h, int.from_bytes(data[i:i + 8], "little"))
    h = _round(h, int.from_bytes(data[whole:], "little") | ((len(data) % 256) << 56))
    return fmix64(h)


def cookie_key_id(secret: str) -> int:
    """The 4-bit id the agent gives a secret file's content (trailing newlines are not part of it)."""
    return stable_hash64(secret.rstrip("\r\n").encode(), KEY_ID_SEED) & 0x0F


# A wrong port would make tests build the wrong secrets; fail at import instead.
for _data, _want in ((b"", 0xd6c0f2940a72b857), (b"abcdefg", 0xc675b9c47e83ab6a),
                     (b"abcdefgh", 0x5de43e7208fcb42e), (b"abcdefghi", 0x2dc283e1bfc538e9)):
    assert stable_hash64(_data, 0) == _want, _data
