#!/usr/bin/env python3
"""Generates the receipt test vectors from tools that share no code with lib/receipts:

- canonical bytes: Python's own json.dumps(sort_keys=True, separators=(",", ":")) (ensure_ascii left at True),
  the serialisation the AITBC reference signer uses;
- signatures: the OpenSSL command line (`openssl pkeyutl -sign -rawin`), public keys from `openssl pkey -pubout`;
- crafted invalid signatures (small-order keys, S + L, mixed-order R): the Ed25519 group law written out below
  from RFC 8032, checked against OpenSSL's verdict, which every vector records.

Keys come from fixed seeds, so running this again reproduces the committed files byte for byte.
Usage: python3 test/vectors/generate.py   (writes canonical.json and receipts.json next to this file)
"""

import base64
import hashlib
import json
import os
import random
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# ───────────────────────────── Keccak-256 (for receipt_id; hashlib only has SHA3) ─────────────────────────────

_RC = [
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000, 0x000000000000808B,
    0x0000000080000001, 0x8000000080008081, 0x8000000000008009, 0x000000000000008A, 0x0000000000000088,
    0x0000000080008009, 0x000000008000000A, 0x000000008000808B, 0x800000000000008B, 0x8000000000008089,
    0x8000000000008003, 0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
]
_ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]]
_M = (1 << 64) - 1


def _rol(v, n):
    return ((v << n) | (v >> (64 - n))) & _M if n else v


def _keccak_f(a):
    for rc in _RC:
        c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rol(c[(x + 1) % 5], 1) for x in range(5)]
        a = [[a[x][y] ^ d[x] for y in range(5)] for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = _rol(a[x][y], _ROT[x][y])
        a = [[b[x][y] ^ (~b[(x + 1) % 5][y] & b[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
        a[0][0] ^= rc
    return a


def keccak256(data: bytes) -> bytes:
    rate = 136
    msg = bytearray(data) + b"\x01"
    while len(msg) % rate:
        msg += b"\x00"
    msg[-1] |= 0x80
    a = [[0] * 5 for _ in range(5)]
    for off in range(0, len(msg), rate):
        block = msg[off:off + rate]
        for i in range(rate // 8):
            x, y = i % 5, i // 5
            a[x][y] ^= struct.unpack_from("<Q", block, 8 * i)[0]
        a = _keccak_f(a)
    out = b"".join(struct.pack("<Q", a[i % 5][i // 5]) for i in range(4))
    return out


assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"

# ───────────────────────────── Ed25519 group law (RFC 8032 §5.1) ─────────────────────────────

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def decode_point(b: bytes):
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


def encode_point(pt) -> bytes:
    x, y, z, _ = pt
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def point_add(p1, p2):
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def point_mul(s, pt):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = point_add(q, pt)
        pt = point_add(pt, pt)
        s >>= 1
    return q


def point_neg(pt):
    x, y, z, t = pt
    return (P - x, y, z, P - t)


_GY = 4 * pow(5, P - 2, P) % P
G = (_recover_x(_GY, 0), _GY, 1, _recover_x(_GY, 0) * _GY % P)


def sha512_int(*parts: bytes) -> int:
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little")


def expand_seed(seed: bytes):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def cofactorless_ok(msg: bytes, sig: bytes, pub: bytes) -> bool:
    """RFC 8032 verification as OpenSSL does it (used only to double-check crafted vectors)."""
    A = decode_point(pub)
    s = int.from_bytes(sig[32:], "little")
    if A is None or s >= L:
        return False
    k = sha512_int(sig[:32], pub, msg) % L
    return encode_point(point_add(point_mul(s, G), point_neg(point_mul(k, A)))) == sig[:32]


SMALL_ORDER = []
_t8 = decode_point(bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"))
for _i in range(8):
    SMALL_ORDER.append(encode_point(point_mul(_i, _t8)))
assert len(set(SMALL_ORDER)) == 8

# ───────────────────────────── OpenSSL ─────────────────────────────

PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
TMP = tempfile.mkdtemp(prefix="aitbc-vectors-")


def _pem(label: str, der: bytes) -> bytes:
    b64 = base64.encodebytes(der).replace(b"\n", b"")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return b"-----BEGIN " + label.encode() + b"-----\n" + b"\n".join(lines) + b"\n-----END " + label.encode() + b"-----\n"


def _write(name: str, data: bytes) -> str:
    path = os.path.join(TMP, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


class Key:
    def __init__(self, label: str):
        self.seed = hashlib.sha256(b"aitbc test vector key " + label.encode()).digest()
        self.pem = _write(f"{label}.pem", _pem("PRIVATE KEY", PKCS8_PREFIX + self.seed))
        der = subprocess.run(["openssl", "pkey", "-in", self.pem, "-pubout", "-outform", "DER"], check=True, capture_output=True).stdout
        assert der[:12] == SPKI_PREFIX
        self.public = der[12:]

    def sign(self, msg: bytes) -> bytes:
        m = _write("msg.bin", msg)
        out = os.path.join(TMP, "sig.bin")
        subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", self.pem, "-in", m, "-out", out], check=True)
        with open(out, "rb") as f:
            sig = f.read()
        assert len(sig) == 64
        return sig


def openssl_verify(msg: bytes, sig: bytes, pub: bytes) -> bool:
    """OpenSSL's own verdict on raw inputs (no strict-key policy of ours applied)."""
    if len(pub) != 32:
        return False
    pem = _write("pub.pem", _pem("PUBLIC KEY", SPKI_PREFIX + pub))
    m = _write("vmsg.bin", msg)
    s = _write("vsig.bin", sig)
    r = subprocess.run(["openssl", "pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", pem, "-in", m, "-sigfile", s], capture_output=True)
    return r.returncode == 0


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def strict_b64u_decode(s: str):
    if not isinstance(s, str) or len(s) % 4 == 1 or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in s):
        return None
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    return raw if b64u(raw) == s else None

# ───────────────────────────── canonical form (the reference signer's) ─────────────────────────────


def drop_nulls(value):
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value if v is not None]
    return value


def canonical(receipt: dict) -> bytes:
    body = {k: v for k, v in receipt.items() if k not in ("signature", "attestations")}
    return json.dumps(drop_nulls(body), sort_keys=True, separators=(",", ":")).encode()


def canonical_vectors():
    cases = [
        ("float lexemes", {"a": 5.0, "b": 1e-05, "c": 1e16, "d": 0.1, "e": 2.5, "f": -0.0, "g": 1e15, "h": 0.0001,
                           "i": 1.7976931348623157e308, "j": 5e-324, "k": 1e22, "l": 123456.789, "m": 1e-07, "n": 0.3}),
        ("ints", {"zero": 0, "neg": -1, "big": 2**53 + 1, "u64": 2**64 - 1, "huge": 10**40, "list": [1, -2, 3]}),
        ("non-ascii", {"model": "llama3.2-é", "note": "日本語テキスト", "mixed": "naïve café ß Ω", "del": "\x7f", "c1": "\x80\x9f"}),
        ("astral", {"emoji": "😀", "clef": "𝄞", "pair": "a😀b𝄞c", "flag": "🇪🇺"}),
        ("escapes", {"ctrl": "\x00\x01\x1f", "short": "\n\r\t\b\f", "quote": '"', "backslash": "\\", "slash": "a/b", "all": "\"\\/\b\f\n\r\t"}),
        ("key order utf16 vs code point", {"\ue000": 1, "\U0001F600": 2, "\uffff": 3, "a": 4, "Z": 5, "é": 6, "\U00010000": 7, "\ud7ff": 8}),
        ("astral keys nested", {"outer": {"\U0001F600x": 1, "\ufb01": 2, "\U0001D11E": 3}, "\uff21": [{"\U0002000B": None, "k": "v"}]}),
        ("nulls in objects", {"a": None, "b": {"c": None, "d": 1}, "e": {"f": None}, "g": 2}),
        ("nulls in arrays", {"a": [None, 1, None, [None, None], {"x": None}], "b": [None], "c": [[None, [None, 3]]]}),
        ("nested", {"l1": {"l2": {"l3": {"l4": [1, {"l5": [True, False, "deep"]}]}}}, "empty_obj": {}, "empty_arr": []}),
        ("booleans", {"t": True, "f": False, "arr": [True, None, False]}),
        ("lone surrogate", {"lone": "\ud800", "low": "x\udc00y"}),
        ("numbers in arrays", {"v": [5.0, 5, 1e-05, 1e+16, -0.0, 0, 2.5e-08, 1.5e+300]}),
        ("unicode whitespace and bom", {"nbsp": "\u00a0", "bom": "\ufeff", "ls": "\u2028\u2029"}),
    ]
    out = []
    for name, obj in cases:
        has_lone = any(0xD800 <= ord(ch) <= 0xDFFF for ch in json.dumps(obj, ensure_ascii=False))
        # Served form: pretty, original key order, non-ASCII unescaped (escaped when a lone surrogate cannot be UTF-8).
        document = json.dumps(obj, indent=2, ensure_ascii=has_lone)
        assert json.loads(document) == obj or name == "float lexemes"  # -0.0 == 0.0 compares equal anyway
        canon = json.dumps(drop_nulls(obj), sort_keys=True, separators=(",", ":"))
        out.append({"name": name, "document": document, "canonical": canon,
                    "sha256": hashlib.sha256(canon.encode()).hexdigest()})
    rng = random.Random(0xA17BC)
    floats = []
    specials = [0.1, 0.2, 0.30000000000000004, 1 / 3, 2 / 3, 1e-4, 1e-5, 9.999999999999999e-05, 1e16, 9999999999999998.0,
                1e15 + 0.3, 123e20, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 4.35, 0.001, 1e21, 1e-6]
    for v in specials:
        floats.append([struct.pack(">d", v).hex(), repr(v)])
    while len(floats) < 3000:
        bits = rng.getrandbits(64)
        v = struct.unpack(">d", bits.to_bytes(8, "big"))[0]
        if v != v or v in (float("inf"), float("-inf")):
            continue
        floats.append([bits.to_bytes(8, "big").hex(), repr(v)])
    for _ in range(1000):
        v = round(rng.uniform(0, 10**rng.randint(0, 20)), rng.randint(0, 6))
        floats.append([struct.pack(">d", v).hex(), repr(v)])
    for milli in list(range(0, 2001)) + [rng.randint(0, 10**15) for _ in range(500)]:
        v = milli / 1000
        floats.append([struct.pack(">d", v).hex(), repr(v)])
    return {"cases": out, "floats": floats}

# ───────────────────────────── receipts ─────────────────────────────

CHAIN_ID = 31337
ESCROW = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
PROVIDER = "0x70997970c51812dc3a010c54e4f2ee5a4ca9de6a"
CLIENT = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"


def receipt_id(chain_id: int, escrow: str, job_id: int) -> str:
    enc = chain_id.to_bytes(32, "big") + bytes(12) + bytes.fromhex(escrow[2:]) + job_id.to_bytes(32, "big")
    return "0x" + keccak256(enc).hex()


def make_receipt(job_id: int, units_milli: int, price_base: int, model="llama3.2", extra=None):
    r = {
        "version": 1,
        "receipt_id": receipt_id(CHAIN_ID, ESCROW, job_id),
        "chain_id": CHAIN_ID,
        "escrow": ESCROW,
        "job_id": str(job_id),
        "provider": PROVIDER,
        "client": CLIENT,
        "model": model,
        "unit_type": "gpu_seconds",
        "units": units_milli / 1000,
        "units_milli": units_milli,
        "price": price_base / 10**18,
        "price_base": str(price_base),
        "started_at": 1767225600 + job_id,
        "completed_at": 1767225600 + job_id + (units_milli + 999) // 1000,
        "input_hash": "0x" + keccak256(f"prompt {job_id}".encode()).hex(),
        "result_hash": "0x" + keccak256(f"result {job_id}".encode()).hex(),
    }
    r.update(extra or {})
    return r


def signed(receipt: dict, key: Key, alg="Ed25519"):
    sig = key.sign(canonical(receipt))
    out = dict(receipt)
    out["signature"] = {"alg": alg, "key_id": b64u(key.public), "sig": b64u(sig)}
    return out


def served(receipt: dict, style: str) -> str:
    if style == "compact":
        return json.dumps(receipt, sort_keys=True, separators=(",", ":"))
    if style == "pretty-unsorted":
        items = list(receipt.items())
        random.Random(len(items)).shuffle(items)
        return json.dumps(dict(items), indent=2, ensure_ascii=False)
    if style == "pretty":
        return json.dumps(receipt, indent=4, ensure_ascii=False, sort_keys=True)
    raise ValueError(style)


def receipt_vectors():
    k1, k2 = Key("provider-1"), Key("provider-2")
    valid, invalid = [], []

    def add_valid(name, receipt, key, style):
        doc = signed(receipt, key)
        canon = canonical(doc)
        assert openssl_verify(canon, strict_b64u_decode(doc["signature"]["sig"]), key.public)
        valid.append({"name": name, "document": served(doc, style), "trusted_key": b64u(key.public),
                      "canonical": canon.decode(), "receipt_hash": "0x" + hashlib.sha256(canon).hexdigest()})
        return doc

    base = add_valid("basic 2.5 GPU-seconds", make_receipt(1, 2500, 5 * 10**18), k1, "compact")
    add_valid("integral units 5.0", make_receipt(2, 5000, 10 * 10**18), k1, "pretty-unsorted")
    add_valid("tiny units, price 1e-05", make_receipt(3, 1, 10**13), k1, "pretty")
    add_valid("price 1e+16", make_receipt(4, 123456, 10**34), k1, "compact")
    add_valid("zero units", make_receipt(5, 0, 0), k2, "pretty-unsorted")
    rich = make_receipt(6, 1500, 3 * 10**18, model="llama3.2:1b-ünïcode-😀", extra={
        "meta": {"note": "résumé 😀 𝄞", "tags": ["a", None, "b"], "gpu": None, "\U0001F600": 1, "\ue000": 2},
        "tokens": [12, 5.0, 1e-05],
        "region": None,
    })
    rich["attestations"] = [{"by": "auditor", "sig": "not covered"}]
    add_valid("unicode, astral keys, nulls, extra fields, attestations", rich, k2, "pretty-unsorted")
    add_valid("big job id", make_receipt(2**48 - 1, 999999, 1999998 * 10**15), k1, "pretty")

    def add_invalid(name, document, trusted, code, raw=None):
        entry = {"name": name, "document": document if isinstance(document, str) else served(document, "compact"),
                 "trusted_key": trusted, "code": code}
        if raw is not None:
            msg, sig, pub = raw
            entry["raw"] = {"message_b64u": b64u(msg), "sig_b64u": b64u(sig), "key_b64u": b64u(pub),
                            "openssl_accepts": openssl_verify(msg, sig, pub),
                            "cofactorless_accepts": len(sig) == 64 and len(pub) == 32 and cofactorless_ok(msg, sig, pub)}
        invalid.append(entry)

    msg = canonical(base)
    sig = strict_b64u_decode(base["signature"]["sig"])

    def with_sig(sig_bytes=None, key_bytes=None, alg="Ed25519", sig_text=None, key_text=None):
        d = json.loads(json.dumps(base))
        d["signature"] = {"alg": alg,
                          "key_id": key_text if key_text is not None else b64u(key_bytes if key_bytes is not None else k1.public),
                          "sig": sig_text if sig_text is not None else b64u(sig_bytes if sig_bytes is not None else sig)}
        return d

    s_plus_l = sig[:32] + (int.from_bytes(sig[32:], "little") + L).to_bytes(32, "little")
    add_invalid("S + L", with_sig(s_plus_l), b64u(k1.public), "ED25519_S_NOT_CANONICAL", (msg, s_plus_l, k1.public))

    # Small-order keys: forge R = a small-order point, S = 0, choosing R so that [S]B − [k]A == R. OpenSSL accepts
    # these on any message.
    # The challenge k depends on the message, so a few receipts (a `nonce` extra field) are tried per key.
    for i, weak in enumerate(SMALL_ORDER):
        A = decode_point(weak)
        found = None
        for nonce in range(256):
            body = make_receipt(1, 2500, 5 * 10**18, extra={"nonce": nonce})
            m = canonical(body)
            for r_enc in SMALL_ORDER:
                k = sha512_int(r_enc, weak, m) % L
                if encode_point(point_neg(point_mul(k, A))) == r_enc:
                    found = (body, m, r_enc + bytes(32))
                    break
            if found:
                break
        assert found is not None, "no forgery found"
        body, m, forged = found
        assert cofactorless_ok(m, forged, weak) and openssl_verify(m, forged, weak)
        doc = dict(body)
        doc["signature"] = {"alg": "Ed25519", "key_id": b64u(weak), "sig": b64u(forged)}
        add_invalid(f"small-order key #{i} with forged signature", doc, b64u(weak), "ED25519_KEY_SMALL_ORDER", (m, forged, weak))

    def noncanonical(y_plus_p: int, sign: int) -> bytes:
        return (y_plus_p | (sign << 255)).to_bytes(32, "little")

    forged_identity = SMALL_ORDER[0] + bytes(32)
    for name, enc in [("y = p (0)", noncanonical(P, 0)), ("y = p (0), sign", noncanonical(P, 1)),
                      ("y = p + 1 (1)", noncanonical(P + 1, 0)), ("y = p + 1 (1), sign", noncanonical(P + 1, 1)),
                      ("y = 1 with sign bit", noncanonical(1, 1)), ("y = p - 1 with sign bit", noncanonical(P - 1, 1))]:
        add_invalid(f"non-canonical small-order key {name}", with_sig(forged_identity, enc), b64u(enc), "ED25519_KEY_NOT_CANONICAL",
                    (msg, forged_identity, enc))

    # A large-order point with small y has a second, non-canonical encoding y + p.
    y = next(y for y in range(2, 19) if decode_point(y.to_bytes(32, "little")) is not None
             and encode_point(point_mul(8, decode_point(y.to_bytes(32, "little")))) != SMALL_ORDER[0])
    a_nc = (y + P).to_bytes(32, "little")
    add_invalid("non-canonical public key (y + p)", with_sig(sig, a_nc), b64u(a_nc), "ED25519_KEY_NOT_CANONICAL", (msg, sig, a_nc))
    r_nc = (y + P).to_bytes(32, "little") + sig[32:]
    add_invalid("non-canonical R (y + p)", with_sig(r_nc), b64u(k1.public), "ED25519_R_NOT_CANONICAL", (msg, r_nc, k1.public))
    r_negzero = noncanonical(1, 1) + sig[32:]
    add_invalid("non-canonical R (identity with sign bit)", with_sig(r_negzero), b64u(k1.public), "ED25519_R_NOT_CANONICAL",
                (msg, r_negzero, k1.public))

    # Mixed-order R: valid under the cofactored equation only. The key holder can make these; OpenSSL refuses them.
    a, prefix = expand_seed(k1.seed)
    r = sha512_int(prefix, msg) % L
    R = encode_point(point_add(point_mul(r, G), _t8))
    k = sha512_int(R, k1.public, msg) % L
    mixed = R + ((r + k * a) % L).to_bytes(32, "little")
    add_invalid("mixed-order R (cofactored-only signature)", with_sig(mixed), b64u(k1.public), "ED25519_SIGNATURE_INVALID",
                (msg, mixed, k1.public))

    add_invalid("signature by another key", with_sig(sig, k2.public), b64u(k2.public), "ED25519_SIGNATURE_INVALID", (msg, sig, k2.public))
    add_invalid("key not trusted", base, b64u(k2.public), "KEY_NOT_TRUSTED")
    add_invalid("truncated signature (63 bytes)", with_sig(sig[:63]), b64u(k1.public), "ED25519_SIGNATURE_LENGTH")
    add_invalid("extended signature (65 bytes)", with_sig(sig + b"\x00"), b64u(k1.public), "ED25519_SIGNATURE_LENGTH")
    add_invalid("empty signature", with_sig(b""), b64u(k1.public), "ED25519_SIGNATURE_LENGTH")
    add_invalid("truncated key (31 bytes)", with_sig(sig, k1.public[:31]), b64u(k1.public), "ED25519_KEY_LENGTH")
    add_invalid("extended key (33 bytes)", with_sig(sig, k1.public + b"\x00"), b64u(k1.public), "ED25519_KEY_LENGTH")
    add_invalid("wrong alg EdDSA", with_sig(alg="EdDSA"), b64u(k1.public), "UNSUPPORTED_ALG")
    add_invalid("wrong alg case", with_sig(alg="ed25519"), b64u(k1.public), "UNSUPPORTED_ALG")
    add_invalid("signature with padding", with_sig(sig_text=b64u(sig) + "=="), b64u(k1.public), "BAD_SIGNATURE_ENCODING")
    add_invalid("signature in standard base64", with_sig(sig_text=b64u(sig)[:-2] + "+/"),
                b64u(k1.public), "BAD_SIGNATURE_ENCODING")
    last = b64u(sig)
    sloppy = last[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(last[-1]) | 1]
    assert base64.urlsafe_b64decode(sloppy + "==") == sig
    add_invalid("signature with non-zero trailing bits", with_sig(sig_text=sloppy), b64u(k1.public), "BAD_SIGNATURE_ENCODING")
    add_invalid("key_id with padding", with_sig(key_text=b64u(k1.public) + "="), b64u(k1.public), "BAD_KEY_ID")
    add_invalid("key_id with invalid characters", with_sig(key_text=b64u(k1.public)[:-2] + "*!"), b64u(k1.public), "BAD_KEY_ID")

    tampered = json.loads(json.dumps(base))
    tampered["model"] = "llama3.3"
    add_invalid("field changed after signing", tampered, b64u(k1.public), "ED25519_SIGNATURE_INVALID")
    for field, value, code in [("units", 2.6, "UNITS_MISMATCH"), ("price", 5.5, "PRICE_MISMATCH"),
                               ("receipt_id", receipt_id(CHAIN_ID, ESCROW, 2), "RECEIPT_ID_MISMATCH"),
                               ("completed_at", 1000, "TIME_ORDER"), ("version", 2, "UNSUPPORTED_VERSION"),
                               ("escrow", ESCROW.upper().replace("0X", "0x"), "BAD_FIELD"),
                               ("units_milli", 2.5, "BAD_FIELD"), ("job_id", 1, "BAD_FIELD"),
                               ("input_hash", None, "MISSING_FIELD")]:
        r = make_receipt(1, 2500, 5 * 10**18)
        r[field] = value
        add_invalid(f"signed but inconsistent: {field}", signed(r, k1), b64u(k1.public), code)
    compact = served(base, "compact")
    add_invalid("number not as Python writes it (2.50)", compact.replace('"units":2.5', '"units":2.50'), b64u(k1.public), "NUMBER_NOT_CANONICAL")
    add_invalid("number not as Python writes it (1E+16)", compact.replace('"chain_id":31337', '"chain_id":3.1337E4'), b64u(k1.public),
                "NUMBER_NOT_CANONICAL")
    add_invalid("int written as -0", compact.replace('"version":1', '"version":-0'), b64u(k1.public), "NUMBER_NOT_CANONICAL")
    add_invalid("duplicate key", compact.replace('"model":"llama3.2"', '"model":"llama3.2","model":"llama3.3"'), b64u(k1.public), "DUPLICATE_KEY")
    add_invalid("NaN", compact.replace('"units":2.5', '"units":NaN'), b64u(k1.public), "INVALID_JSON")
    add_invalid("trailing garbage", compact + "x", b64u(k1.public), "INVALID_JSON")
    add_invalid("not an object", "[" + compact + "]", b64u(k1.public), "NOT_AN_OBJECT")
    add_invalid("truncated document", compact[:-5], b64u(k1.public), "INVALID_JSON")

    # Every single-byte change of a small served receipt, judged by an independent reference verifier: valid only
    # when the document still parses strictly, its canonical bytes and signature are those that were signed.
    small = make_receipt(9, 1000, 2 * 10**18)
    small["attestations"] = {"note": "unsigned"}
    small = signed(small, k1)
    small_doc = served(small, "compact")
    small_canon = canonical(small)
    verdicts = []
    for pos in range(len(small_doc)):
        mutated = bytearray(small_doc.encode())
        mutated[pos] ^= 0x01
        verdicts.append(reference_verify(bytes(mutated), small_canon, k1.public))
    assert verdicts.count(True) > 0
    tamper = {"document": small_doc, "trusted_key": b64u(k1.public), "mutation": "xor 0x01",
              "valid_positions": [i for i, ok in enumerate(verdicts) if ok]}
    return {"valid": valid, "invalid": invalid, "tamper": tamper,
            "small_order_keys": [b64u(k) for k in SMALL_ORDER]}


def _reject_constant(name):
    raise ValueError(name)


def _number_hook(kind):
    def hook(text):
        value = float(text) if kind == "float" else int(text)
        if (repr(value) if kind == "float" else str(value)) != text:
            raise ValueError("non-canonical number")
        return value
    return hook


def _pairs(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def reference_verify(document: bytes, signed_canonical: bytes, trusted: bytes) -> bool:
    try:
        doc = json.loads(document.decode("utf-8"), object_pairs_hook=_pairs, parse_constant=_reject_constant,
                         parse_float=_number_hook("float"), parse_int=_number_hook("int"))
    except (ValueError, UnicodeDecodeError):
        return False
    if not isinstance(doc, dict) or canonical(doc) != signed_canonical:
        return False
    s = doc.get("signature")
    if not isinstance(s, dict) or s.get("alg") != "Ed25519" or strict_b64u_decode(s.get("key_id")) != trusted:
        return False
    sig = strict_b64u_decode(s.get("sig"))
    return sig is not None and len(sig) == 64 and openssl_verify(signed_canonical, sig, trusted)


def main():
    for name, data in [("canonical.json", canonical_vectors()), ("receipts.json", receipt_vectors())]:
        with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, ensure_ascii=True)
            f.write("\n")
        print("wrote", name)


if __name__ == "__main__":
    main()
