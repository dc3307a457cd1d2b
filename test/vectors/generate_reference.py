#!/usr/bin/python3
"""Receipts in the shapes the AITBC network itself produces, signed with the reference stack: Python's json module
for the canonical bytes and PyNaCl (Debian's python3-nacl) for Ed25519, exactly as the reference signer does it:

    message = json.dumps(remove_none(receipt without signature and attestations),
                         sort_keys=True, separators=(",", ":")).encode("utf-8")
    signature = {"alg": "Ed25519", "key_id": b64url(verify_key), "sig": b64url(SigningKey(seed).sign(message).signature)}

with `remove_none` dropping every None from dicts and lists, recursively, and the coordinator's attestations being
the same kind of signature by the coordinator's attestation key over the same bytes.

Shapes: the payments guide's example receipt (no version, `rcpt-…` id, `job-…` job id, `ait1…` addresses), and the
reference coordinator's receipts (`"version": "1.0"`, 32-hex receipt id, status, unit_price, nested metadata with the
job payload, constraints, result and metrics, attestations), with floats such as 0.02, 1e-05 and 1.5e-07, integers
above 2^64, None inside lists, non-BMP characters; each served as a Python service would serve it, and tampered
variants of each with the reason a verifier must give.

Also a verifier (`verify` on the command line) that the test suite runs on receipts this project signs.

Keys come from fixed seeds and Ed25519 is deterministic, so running this again writes the committed file byte for byte.
Usage:
    /usr/bin/python3 test/vectors/generate_reference.py            # writes reference.json next to this file
    /usr/bin/python3 test/vectors/generate_reference.py --stdout   # prints it instead
    /usr/bin/python3 test/vectors/generate_reference.py verify KEY_B64URL < receipt.json
"""

import base64
import copy
import hashlib
import json
import os
import sys

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

HERE = os.path.dirname(os.path.abspath(__file__))


def b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def drop_none(value):
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none(v) for v in value if v is not None]
    return value


def canonical(receipt: dict) -> bytes:
    body = {k: v for k, v in receipt.items() if k not in ("signature", "attestations")}
    return json.dumps(drop_none(body), sort_keys=True, separators=(",", ":")).encode("utf-8")


class Key:
    def __init__(self, label: str):
        self.signing = SigningKey(hashlib.sha256(b"aitbc reference vector key " + label.encode()).digest())
        self.key_id = b64u(bytes(self.signing.verify_key))

    def sign(self, receipt: dict) -> dict:
        sig = self.signing.sign(canonical(receipt)).signature
        return {"alg": "Ed25519", "key_id": self.key_id, "sig": b64u(sig)}


MINER = Key("miner")
COORDINATOR = Key("coordinator attestations")
OTHER = Key("someone else")


def hex_id(label: str) -> str:
    """A 32-hex receipt id like the coordinator's token_hex(16), from a label instead of randomness."""
    return hashlib.sha256(label.encode()).hexdigest()[:32]


def guide_receipt() -> dict:
    return {
        "receipt_id": "rcpt-20260124-001234",
        "job_id": "job-abc123",
        "provider": "ait1miner...",
        "client": "ait1client...",
        "units": 2.5,
        "unit_type": "gpu_seconds",
        "price": 5.0,
        "model": "llama3.2",
        "started_at": 1737730800,
        "completed_at": 1737730803,
    }


def coordinator_receipt(label: str, units: float, unit_price: float, metadata: dict) -> dict:
    return {
        "version": "1.0",
        "receipt_id": hex_id(label),
        "job_id": "job-" + hex_id("job " + label)[:12],
        "provider": "ait1miner7q3xk",
        "client": "ait1client9d2mz",
        "status": "COMPLETED",
        "units": units,
        "unit_type": "gpu_seconds",
        "unit_price": unit_price,
        "price": round(units * unit_price, 6),
        "started_at": 1769212800,
        "completed_at": 1769212803,
        "metadata": metadata,
    }


def coordinator_metadata() -> dict:
    return {
        "job_payload": {"prompt": "Summarise: \u00e9t\u00e9 \u2192 \U0001F600", "model": "llama3.2", "max_tokens": 64, "temperature": 0.7},
        "job_constraints": {"gpu": "rtx4090", "region": None, "min_vram_gb": 24, "models": ["llama3.2", None, "qwen2.5"]},
        "result": {"output": "r\u00e9sum\u00e9 \U0001D11E \U0001F680", "tokens": [17, None, 42], "finish_reason": "stop"},
        "metrics": {"duration_ms": 2500, "tokens_per_second": 25.6, "gpu_util": 0.93, "energy_kwh": 1.5e-07},
    }


def numbers_metadata() -> dict:
    return {
        "job_payload": {"prompt": "\u0000\u001f\u007f \" \\ / \u2028 \ud7ff \ue000 \uffff", "seed": 2**64 + 1},
        "job_constraints": {"max_price": 1e-05, "deadline_ns": 2**70, "negative": -(2**65), "zero": -0.0, "big_float": 1e+16},
        "result": {"scores": [0.02, None, 1.5e-07, 5.0, 123456789.125, 1e-300], "nested": [[None, [None, {"x": None, "y": 2**64}]]]},
        "metrics": {"\U0001F600": 1, "\ufb01": 2, "\U0001D11E": 3, "\uff21": [{"\U0002000B": None, "k": "v"}], "units": 2.5},
    }


def signed(receipt: dict, attest_with=None) -> dict:
    out = dict(receipt)
    out["signature"] = MINER.sign(receipt)
    if attest_with:
        out["attestations"] = [key.sign(receipt) for key in attest_with]
    return out


def served(receipt: dict, style: str) -> str:
    if style == "pretty":  # a Python service's pretty JSON, non-ASCII unescaped, in insertion order
        return json.dumps(receipt, indent=2, ensure_ascii=False) + "\n"
    if style == "compact":
        return json.dumps(receipt, separators=(",", ":"))
    if style == "sorted":
        return json.dumps(receipt, sort_keys=True, indent=1)
    raise ValueError(style)


def vectors() -> dict:
    valid, invalid = [], []

    def add_valid(name, receipt, style, attestation_key=None, attestations=None):
        valid.append({
            "name": name,
            "document": served(receipt, style),
            "trusted_key": MINER.key_id,
            "attestation_key": attestation_key,
            "attestations": attestations or [],
            "canonical": canonical(receipt).decode("ascii"),
            "receipt_hash": "0x" + hashlib.sha256(canonical(receipt)).hexdigest(),
        })

    def add_invalid(name, document, code, trusted_key=MINER.key_id, attestation_key=None):
        invalid.append({
            "name": name,
            "document": document if isinstance(document, str) else served(document, "compact"),
            "trusted_key": trusted_key,
            "attestation_key": attestation_key,
            "code": code,
        })

    guide = signed(guide_receipt())
    coord = signed(coordinator_receipt("coordinator receipt", 2.5, 0.02, coordinator_metadata()), [COORDINATOR])
    numbers = signed(coordinator_receipt("coordinator numbers", 1e-05, 0.02, numbers_metadata()), [COORDINATOR])
    plain = signed(coordinator_receipt("coordinator without attestations", 3.0, 0.02, {"job_payload": None, "result": {"ok": True}}))
    two = signed(coordinator_receipt("coordinator two attestations", 0.5, 1.5e-07, coordinator_metadata()), [OTHER, COORDINATOR])

    add_valid("payments guide example", guide, "pretty")
    add_valid("payments guide example, compact", guide, "compact")
    add_valid("coordinator receipt with attestation", coord, "pretty", COORDINATOR.key_id, ["valid"])
    add_valid("coordinator receipt, numbers and characters", numbers, "pretty", COORDINATOR.key_id, ["valid"])
    add_valid("coordinator receipt, numbers and characters, sorted", numbers, "sorted", COORDINATOR.key_id, ["valid"])
    add_valid("coordinator receipt without attestations", plain, "compact")
    add_valid("coordinator receipt, two attestations (one by another key)", two, "pretty", COORDINATOR.key_id, ["untrusted", "valid"])
    no_nulls = drop_none(copy.deepcopy(coord))  # nulls are not signed: a copy served without them is the same receipt
    add_valid("coordinator receipt served without its nulls", no_nulls, "compact", COORDINATOR.key_id, ["valid"])

    def tampered(receipt, edit):
        copy_ = copy.deepcopy(receipt)
        edit(copy_)
        return copy_

    for label, receipt in [("guide", guide), ("coordinator", coord), ("numbers", numbers)]:
        add_invalid(f"{label}: provider changed", tampered(receipt, lambda r: r.__setitem__("provider", r["provider"] + "x")), "ED25519_SIGNATURE_INVALID")
        add_invalid(f"{label}: units changed", tampered(receipt, lambda r: r.__setitem__("units", r["units"] * 2)), "ED25519_SIGNATURE_INVALID")
        add_invalid(f"{label}: key not trusted", receipt, "KEY_NOT_TRUSTED", trusted_key=OTHER.key_id)
        add_invalid(f"{label}: signature removed", tampered(receipt, lambda r: r.pop("signature")), "MISSING_FIELD")
        add_invalid(f"{label}: wrong alg", tampered(receipt, lambda r: r["signature"].__setitem__("alg", "ed25519")), "UNSUPPORTED_ALG")
        add_invalid(f"{label}: signature by another key", tampered(receipt, lambda r: r.__setitem__("signature", OTHER.sign(receipt))),
                    "KEY_NOT_TRUSTED")
        add_invalid(f"{label}: field added", tampered(receipt, lambda r: r.__setitem__("bonus", 1)), "ED25519_SIGNATURE_INVALID")
        add_invalid(f"{label}: field removed", tampered(receipt, lambda r: r.pop("completed_at")), "ED25519_SIGNATURE_INVALID")

    add_invalid("guide: price 5.0 written as the int 5", served(guide, "compact").replace('"price":5.0', '"price":5'), "ED25519_SIGNATURE_INVALID")
    add_invalid("guide: duplicate key", served(guide, "compact").replace('"model":"llama3.2"', '"model":"llama3.2","model":"llama3.3"'), "DUPLICATE_KEY")
    add_invalid("coordinator: status changed", tampered(coord, lambda r: r.__setitem__("status", "FAILED")), "ED25519_SIGNATURE_INVALID")
    add_invalid("coordinator: unit_price changed", tampered(coord, lambda r: r.__setitem__("unit_price", 0.03)), "ED25519_SIGNATURE_INVALID")
    add_invalid("coordinator: version changed to 1.1", tampered(coord, lambda r: r.__setitem__("version", "1.1")), "ED25519_SIGNATURE_INVALID")
    add_invalid("coordinator: nested result changed", tampered(coord, lambda r: r["metadata"]["result"].__setitem__("output", "other")),
                "ED25519_SIGNATURE_INVALID")
    add_invalid("coordinator: nested metric changed", tampered(coord, lambda r: r["metadata"]["metrics"].__setitem__("energy_kwh", 1.6e-07)),
                "ED25519_SIGNATURE_INVALID")
    add_invalid("coordinator: null in a list replaced by a value",
                tampered(coord, lambda r: r["metadata"]["result"]["tokens"].__setitem__(1, 0)), "ED25519_SIGNATURE_INVALID")
    add_invalid("coordinator: attestation tampered", tampered(coord, lambda r: r["attestations"][0].__setitem__("sig", OTHER.sign(coord)["sig"])),
                "ED25519_SIGNATURE_INVALID", attestation_key=COORDINATOR.key_id)
    add_invalid("coordinator: attestations removed", tampered(coord, lambda r: r.pop("attestations")), "ATTESTATIONS_MISSING",
                attestation_key=COORDINATOR.key_id)
    add_invalid("coordinator: attestations not an array", tampered(coord, lambda r: r.__setitem__("attestations", r["attestations"][0])),
                "ATTESTATIONS_MALFORMED", attestation_key=COORDINATOR.key_id)
    add_invalid("coordinator: attested only by another key", tampered(coord, lambda r: r.__setitem__("attestations", [OTHER.sign(coord)])),
                "ATTESTATION_NOT_VERIFIED", attestation_key=COORDINATOR.key_id)
    add_invalid("numbers: integer above 2^64 changed by one",
                tampered(numbers, lambda r: r["metadata"]["job_payload"].__setitem__("seed", 2**64 + 2)), "ED25519_SIGNATURE_INVALID")
    add_invalid("numbers: 1e-05 changed to 2e-05", tampered(numbers, lambda r: r["metadata"]["job_constraints"].__setitem__("max_price", 2e-05)),
                "ED25519_SIGNATURE_INVALID")
    add_invalid("numbers: -0.0 changed to 0.0", tampered(numbers, lambda r: r["metadata"]["job_constraints"].__setitem__("zero", 0.0)),
                "ED25519_SIGNATURE_INVALID")
    add_invalid("numbers: non-BMP character changed",
                tampered(numbers, lambda r: r["metadata"]["job_payload"].__setitem__("prompt", r["metadata"]["job_payload"]["prompt"] + "\U0001F601")),
                "ED25519_SIGNATURE_INVALID")
    add_invalid("numbers: 1e-05 written as 1E-05", served(numbers, "compact").replace('"units":1e-05', '"units":1E-05'), "NUMBER_NOT_CANONICAL")
    small_order = b64u(bytes([1] + [0] * 31))
    forged = tampered(guide, lambda r: r.__setitem__("signature", {"alg": "Ed25519", "key_id": small_order, "sig": b64u(bytes([1] + [0] * 63))}))
    add_invalid("guide: small-order key with the identity forgery", forged, "ED25519_KEY_SMALL_ORDER")

    return {
        "keys": {"miner": MINER.key_id, "coordinator": COORDINATOR.key_id, "other": OTHER.key_id},
        "valid": valid,
        "invalid": invalid,
    }


def verify_main(key_id: str) -> int:
    """Verifies a receipt read from stdin as the reference verifier does; prints the receipt hash, exit 0 if valid."""
    receipt = json.loads(sys.stdin.read())
    sig = receipt.get("signature") or {}
    if sig.get("alg") != "Ed25519" or sig.get("key_id") != key_id:
        print("INVALID: not signed by the given key")
        return 1
    message = canonical(receipt)
    try:
        VerifyKey(b64u_decode(key_id)).verify(message, b64u_decode(sig["sig"]))
    except BadSignatureError:
        print("INVALID: bad signature")
        return 1
    print("VALID 0x" + hashlib.sha256(message).hexdigest())
    return 0


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "verify":
        return verify_main(sys.argv[2])
    text = json.dumps(vectors(), indent=1, ensure_ascii=True) + "\n"
    if sys.argv[1:] == ["--stdout"]:
        sys.stdout.write(text)
        return 0
    with open(os.path.join(HERE, "reference.json"), "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote reference.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
