#!/usr/bin/env python3
"""Writes envelope-v1.json: the test vectors of envelope format v1 (docs/token-store.md).

Run once by hand when a case is added (`python3 tests/vectors/generate.py`); the file is
committed and every reader (Rust, TypeScript, Python) is tested against it. Keys and nonces are
fixed so the output is byte-for-byte reproducible; they are test values, never real ones.
Needs `cryptography` (AES-GCM from OpenSSL), not the project's own code: the vectors are an
independent statement of the format.
"""
import base64
import json
import pathlib

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))
KEY_ID = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def seal(key: bytes, nonce: bytes, user_id: str, platform: str, plaintext: bytes) -> dict:
    aad = f"{user_id}|{platform}".encode("utf-8")
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, aad)
    return {
        "version": 1,
        "keyId": KEY_ID,
        # What KMS would return as CiphertextBlob; readers under test map it to dataKey.
        "encryptedKey": b64(b"kms-blob:" + key[:4]),
        "nonce": b64(nonce),
        "ciphertext": b64(ciphertext),
    }


def case(name, user_id, platform, raw, key=KEY_A, nonce=bytes(12), **extra):
    envelope = seal(key, nonce, user_id, platform, raw)
    out = {
        "name": name,
        "dataKey": b64(key),
        "userId": user_id,
        "platform": platform,
        "associatedData": f"{user_id}|{platform}",
        "envelope": envelope,
    }
    out.update(extra)
    return out


def valid():
    yield case("ascii access token", "user-1", "tiktok", b"act.vector-access-token-1",
               plaintext="act.vector-access-token-1")
    yield case("unicode user id and token", "usr:\u00e9l\u00e8ve@example.com", "reddit",
               "r\u00e9fresh-\u2603-token".encode("utf-8"), nonce=bytes([7] * 12),
               plaintext="r\u00e9fresh-\u2603-token")
    long_token = ("IGQV" + "x" * 2044)
    yield case("2 KiB instagram token", "17841400000000001", "instagram", long_token.encode(),
               key=KEY_B, nonce=bytes(range(12)), plaintext=long_token)
    yield case("empty plaintext", "user-2", "schwab", b"", nonce=bytes([1] * 12), plaintext="")


def flip(b64text: str, index: int) -> str:
    raw = bytearray(base64.b64decode(b64text))
    raw[index] ^= 0x01
    return b64(bytes(raw))


def invalid():
    base = case("base", "user-1", "tiktok", b"act.vector-access-token-1")
    env = base["envelope"]

    def bad(name, error, user_id="user-1", platform="tiktok", key=KEY_A, **changes):
        return {
            "name": name,
            "error": error,
            "dataKey": b64(key),
            "userId": user_id,
            "platform": platform,
            "envelope": {**env, **changes},
        }

    yield bad("copied into another user's item", "authentication", user_id="user-2")
    yield bad("copied into another platform's item", "authentication", platform="reddit")
    yield bad("associated data shifted across the separator", "authentication",
              user_id="user-1|tiktok", platform="")
    yield bad("first ciphertext byte flipped", "authentication", ciphertext=flip(env["ciphertext"], 0))
    yield bad("last tag byte flipped", "authentication", ciphertext=flip(env["ciphertext"], -1))
    yield bad("nonce changed", "authentication", nonce=b64(bytes([9] * 12)))
    yield bad("another data key", "authentication", key=KEY_B)
    yield bad("ciphertext shorter than the tag", "authentication", ciphertext=b64(b"short"))
    yield bad("nonce of 8 bytes", "encoding", nonce=b64(bytes(8)))
    yield bad("ciphertext not base64", "encoding", ciphertext="%%%not-base64%%%")
    # The first nonce whose ciphertext's standard base64 has a '+' or '/', so that the URL-safe
    # form differs from it.
    nonce = next(bytes([i] * 12) for i in range(256)
                 if set("+/") & set(seal(KEY_A, bytes([i] * 12), "user-1", "tiktok", b"act.vector-access-token-1")["ciphertext"]))
    urlsafe = seal(KEY_A, nonce, "user-1", "tiktok", b"act.vector-access-token-1")
    yield bad("ciphertext in the URL-safe alphabet", "encoding", nonce=urlsafe["nonce"],
              ciphertext=urlsafe["ciphertext"].replace("+", "-").replace("/", "_"))
    assert env["ciphertext"].endswith("=")
    yield bad("ciphertext without its padding", "encoding", ciphertext=env["ciphertext"].rstrip("="))
    yield bad("unknown envelope version", "version", version=99)
    not_utf8 = seal(KEY_A, bytes([3] * 12), "user-1", "tiktok", b"\xff\xfe\xfd")
    yield {
        "name": "plaintext not UTF-8",
        "error": "utf8",
        "dataKey": b64(KEY_A),
        "userId": "user-1",
        "platform": "tiktok",
        "envelope": not_utf8,
    }


def main():
    doc = {
        "format": "envelope-v1",
        "spec": "docs/token-store.md#envelope-format-v1",
        "algorithm": "AES-256-GCM, 96-bit nonce, 128-bit tag appended to the ciphertext",
        "associatedData": "UTF-8 of userId + '|' + platform",
        "base64": "standard alphabet (RFC 4648 section 4) with padding; anything else is an encoding error",
        "errors": {
            "authentication": "AES-GCM refuses the ciphertext (moved, tampered, wrong key)",
            "encoding": "a field is not canonical base64 or the nonce is not 12 bytes",
            "version": "the envelope's version is not one the reader knows",
            "utf8": "the plaintext is not UTF-8",
        },
        "note": "encryptedKey stands for KMS's CiphertextBlob; a reader under test gets dataKey "
                "from a fake key source instead of KMS.",
        "valid": list(valid()),
        "invalid": list(invalid()),
    }
    path = pathlib.Path(__file__).with_name("envelope-v1.json")
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
