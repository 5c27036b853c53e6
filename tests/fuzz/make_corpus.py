#!/usr/bin/env python3
"""Builds the fuzz targets' seed corpora from the captured fixtures.

    tests/fuzz/make_corpus.py     (from the repository root; rewrites tests/fuzz/corpus/)

Input layouts follow the targets: frame = raw packets; response = 8 bytes of capabilities
(little-endian) + one payload; handshake = one payload; tracker = capabilities + the command
packet + the packets that followed it, in order; xlat = the backend's and the client's
capabilities + a piece size + one command packet + the server's packets that answered it;
session = a mode byte + chunks (who, length, bytes) replaying a fixture's commands from the
client and its answers from the backend (fuzz_session.c)."""
import hashlib
import pathlib
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parent
FIXTURES = ROOT.parent / "protocol" / "fixtures"
CORPUS = ROOT / "corpus"

# Connection-phase packets (payloads) from MariaDB 10.11 and libmariadb 3.3; the same bytes
# as tests/protocol/test_handshake.c.
HANDSHAKE = bytes.fromhex(
    "0a352e352e352d31302e31312e31392d4d6172696144422d302b6465623132753100450000003661665e2333"
    "767900fef7080200ff81150000000000001d0000007c274875364b58562a6c6021006d7973716c5f6e617469"
    "76655f70617373776f726400")
RESPONSE = bytes.fromhex(
    "8ca2bf000000100021000000000000000000000000000000000000001d00000072696e6773716c5f74657374"
    "00148e3d4e7a2ac946890f889b60bb034d06451f83d272696e6773716c5f74657374006d7973716c5f6e6174"
    "6976655f70617373776f7264007f035f6f73054c696e75780c5f636c69656e745f6e616d650a6c69626d6172"
    "69616462045f7069640531303336320f5f636c69656e745f76657273696f6e06332e332e3230095f706c6174"
    "666f726d067838365f36340c70726f6772616d5f6e616d65056d7973716c0c5f7365727665725f686f737409"
    "3132372e302e302e31")


def header(payload, seq):
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def load(path):
    caps, items = 0, []
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        tag, _, hexdata = line.partition(" ")
        if tag == "caps":
            caps = int(hexdata, 16)
        else:
            items.append((tag, bytes.fromhex(hexdata)))
    return caps, items


# Layout bits xlat may drop for a client (SESSION_TRACK, MariaDB PROGRESS, EXTENDED_METADATA,
# CACHE_METADATA) and the one it may add (DEPRECATE_EOF).
XLAT_DOWN = (1 << 23) | (1 << 32) | (1 << 35) | (1 << 36)
XLAT_UP = 1 << 24


def xlat_seeds(caps, items, seen):
    """One seed per command: its response rewritten for a client without the extensions."""
    to = (caps & ~XLAT_DOWN) | (0 if caps & XLAT_UP else XLAT_UP)
    head = struct.pack("<QQ", caps, to) + b"\x3f"
    cmd, server = None, b""
    for tag, data in items + [("cmd", b"")]:
        if tag == "cmd":
            if cmd is not None and server:
                write("xlat", head + header(cmd, 0) + server, seen)
            cmd, server = data, b""
        elif tag == "S":
            server += data
        else:
            cmd = None  # the client takes part: not a seed


# The backend layout fuzz_session.c gives its backend connection.
SESSION_BACKEND_CAPS = 0x1afa28c


def session_seed(items, mode):
    """A fixture's exchange as fuzz_session.c's input: the client's packets, the server's."""
    out = bytearray([mode])
    for tag, data in items:
        packet = header(data, 0) if tag == "cmd" else data
        who = 1 if tag == "S" else 0
        for at in range(0, len(packet), 65535):
            piece = packet[at:at + 65535]
            out += bytes([who]) + struct.pack("<H", len(piece)) + piece
    return bytes(out[:65536])


def write(target, data, seen):
    digest = hashlib.sha1(data).hexdigest()
    if digest in seen:
        return
    seen.add(digest)
    (CORPUS / target / digest[:16]).write_bytes(data)


def main():
    for t in ("frame", "response", "handshake", "tracker", "xlat", "session"):
        shutil.rmtree(CORPUS / t, ignore_errors=True)  # framer/ and sql/ are kept as they are
        (CORPUS / t).mkdir(parents=True)
    seen = set()
    for path in sorted(FIXTURES.glob("*.fix")):
        caps, items = load(path)
        capb = struct.pack("<Q", caps)
        server = b"".join(d for tag, d in items if tag == "S")
        write("frame", server[:65536], seen)
        stream = bytearray(capb)
        per_kind = {}  # a few seeds of each leading byte per fixture is plenty
        for tag, data in items:
            if tag == "cmd":
                stream += header(data, 0)
            else:
                stream += data
            kind = data[4:5]
            if tag == "S" and len(data) < 4096 and per_kind.get(kind, 0) < 3:
                per_kind[kind] = per_kind.get(kind, 0) + 1
                write("response", capb + data[4:], seen)
            if tag == "C" or (tag == "S" and data[4:5] in (b"\xfe", b"\x01")):
                write("handshake", data[4:], seen)
        write("tracker", bytes(stream[:65536]), seen)
        xlat_seeds(caps, items, seen)
        if caps == SESSION_BACKEND_CAPS:
            for mode in range(8):  # both pool modes, each client layout
                write("session", session_seed(items, mode), seen)
    write("handshake", HANDSHAKE, seen)
    write("handshake", RESPONSE, seen)
    write("handshake", RESPONSE[:32], seen)


if __name__ == "__main__":
    main()
