#!/usr/bin/python3
"""ed25519_vectors: prints the signatures of tests/protocol/test_ed25519.c.

MariaDB's client_ed25519 hashes the password of any length with SHA-512 where RFC 8032 hashes
a 32-byte seed; OpenSSL only takes seeds, so signatures for other passwords come from this
small RFC 8032 (section 6) signer. It is first checked against what MariaDB and OpenSSL gave
for a 32-byte password (seed). Run: /usr/bin/python3 tests/protocol/ed25519_vectors.py
"""
import base64
import hashlib

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def add(p, q):
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a, b = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    c, d = t1 * 2 * D * t2 % P, z1 * 2 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % P, g * h % P, f * g % P, e * h % P


def mul(s, p):
    q = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = add(q, p)
        p, s = add(p, p), s >> 1
    return q


def encode(p):
    x, y, z, _ = p
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return int.to_bytes(y | (x & 1) << 255, 32, "little")


def base():
    y = 4 * pow(5, P - 2, P) % P
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if x & 1:
        x = P - x
    return x, y, 1, x * y % P


def h(*parts):
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little")


def sign(password, message):
    """MariaDB's crypto_sign: the secret scalar and prefix come from SHA-512(password)."""
    digest = hashlib.sha512(password).digest()
    a = int.from_bytes(digest[:32], "little")
    a = (a & ((1 << 254) - 8)) | (1 << 254)
    pub = encode(mul(a, base()))
    r = h(digest[32:], message) % L
    big_r = encode(mul(r, base()))
    s = (r + h(big_r, pub, message) * a) % L
    return base64.b64encode(pub).decode().rstrip("="), big_r + int.to_bytes(s, 32, "little")


def main():
    nonce = b"ringsql nonce: 32 bytes exactly!"
    pub, sig = sign(b"ringsql ed25519 32-byte password", nonce)
    # SELECT ed25519_password(...) on MariaDB 10.11, and `openssl pkeyutl -sign -rawin`.
    assert pub == "aYNjVZnHYtnj1lPb3FkdfDNw3tlv5DLUvjv2aH20+Ek"
    assert sig.hex() == ("5d983e213ae769404dfc9182765b09cb0c1567926a42f96b193d297acb43f4cb"
                         "667298edfb9e83af77dfeca32f93032f4cc520a62e83a40201c428c1f9094709")
    # SELECT ed25519_password('secret'), ed25519_password('') on MariaDB 10.11.
    mariadb = {b"secret": "ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY",
               b"": "4LH+dBF+G5W2CKTyId8xR3SyDqZoQjUNUVNxx8aWbG4"}
    for password, want in mariadb.items():
        pub, sig = sign(password, nonce)
        assert pub == want, password
        print('{"%s", "%s",\n "%s"\n "%s"},' % (password.decode(), pub, sig[:32].hex(),
                                                 sig[32:].hex()))


if __name__ == "__main__":
    main()
