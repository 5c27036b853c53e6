#!/usr/bin/python3
"""sha2_crypt_vectors: prints the vectors of tests/protocol/test_sha2_crypt.c.

An independent SHA-256 crypt written from Drepper's specification
(https://www.akkadia.org/drepper/SHA-crypt.txt), without glibc's 16-byte salt cap because
MySQL's caching_sha2_password salts are 20 bytes. It is first checked against the vectors
published with the specification and against glibc's crypt (Python's crypt module) on salts
glibc accepts, so that the 20-byte vectors it then prints can be trusted.
Run: /usr/bin/python3 tests/protocol/sha2_crypt_vectors.py
"""
import hashlib
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # glibc's crypt(3); the module is gone from Python 3.13

ALPHABET = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# The spec's output order: each triple is packed big-endian into 24 bits, then written as
# base64 digits least significant first; the last group carries only two bytes.
ORDER = [(0, 10, 20), (21, 1, 11), (12, 22, 2), (3, 13, 23), (24, 4, 14), (15, 25, 5),
         (6, 16, 26), (27, 7, 17), (18, 28, 8), (9, 19, 29)]


def repeat_to(digest, n):
    return (digest * (n // len(digest) + 1))[:n]


def sha256_crypt(pw, salt, rounds):
    sha = hashlib.sha256
    b = sha(pw + salt + pw).digest()
    a = sha()
    a.update(pw + salt)
    a.update(repeat_to(b, len(pw)))
    n = len(pw)
    while n:
        a.update(b if n & 1 else pw)
        n >>= 1
    a = a.digest()
    p = repeat_to(sha(pw * len(pw)).digest(), len(pw))
    s = repeat_to(sha(salt * (16 + a[0])).digest(), len(salt))
    c = a
    for i in range(rounds):
        h = sha()
        h.update(p if i & 1 else c)
        if i % 3:
            h.update(s)
        if i % 7:
            h.update(p)
        h.update(c if i & 1 else p)
        c = h.digest()
    out = bytearray()
    groups = [(c[x], c[y], c[z], 4) for x, y, z in ORDER] + [(0, c[31], c[30], 3)]
    for b2, b1, b0, count in groups:
        w = b2 << 16 | b1 << 8 | b0
        for _ in range(count):
            out.append(ALPHABET[w & 63])
            w >>= 6
    return out.decode()


def glibc(pw, salt, rounds):
    spec = "$5$" + ("" if rounds == 5000 else "rounds=%d$" % rounds) + salt.decode()
    return crypt.crypt(pw.decode(), spec).rsplit("$", 1)[1]


def self_check():
    for pw, salt, rounds in [(b"", b"x", 5000),
                             (b"a" * 33, b"0123456789abcdef", 1000),
                             (b"pw", b"ab", 12000),
                             (b"a much longer password of sixty-four characters.................",
                              b"./ABCxyz", 5000)]:
        mine, theirs = sha256_crypt(pw, salt, rounds), glibc(pw, salt, rounds)
        assert mine == theirs, (pw, salt, rounds, mine, theirs)
    # Vectors published with the specification.
    for pw, salt, rounds, want in [
            (b"Hello world!", b"saltstring", 5000, "5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"),
            (b"Hello world!", b"saltstringsaltst", 10000,
             "3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"),
            (b"This is just a test", b"toolongsaltstrin", 5000,
             "Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5")]:
        assert sha256_crypt(pw, salt, rounds) == want, (pw, salt)


def c_string(data):
    return "".join(chr(c) if 32 <= c < 127 and c not in b'"\\?' else "\\%03o" % c
                   for c in data)


def main():
    self_check()
    vectors = [
        (b"password", b"0123456789abcdefghij", 5000),
        (b"", b"ABCDEFGHIJKLMNOPQRST", 5000),
        (b"test_pass", b"\x01\x7f:;<=>?@[]^_`{|}~ \t", 5000),
        (b"a" * 33, b"zyxwvutsrqponmlkjihg", 1000),
        (bytes(range(1, 65)), b"saltsaltsaltsaltsalt", 7000),
    ]
    for pw, salt, rounds in vectors:
        assert len(salt) == 20
        stored = b"$A$%03X$" % (rounds // 1000) + salt + sha256_crypt(pw, salt, rounds).encode()
        print('{"%s", %d, "%s",\n "0x%s"},' % (c_string(pw), len(pw), c_string(stored),
                                                stored.hex().upper()))


if __name__ == "__main__":
    main()
