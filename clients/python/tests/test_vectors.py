"""tests/vectors/envelope-v1.json: the vectors every reader (Rust, TypeScript, Python) passes.

Twice: through the pure functions with the vector's data key, and through a whole TokenReader
whose DynamoDB and KMS are fakes that serve the vector (KMS maps encryptedKey to dataKey).

Error kinds map to this library's errors as follows:
- authentication -> DecryptionError (kms_error_code None: AES-GCM refused, not KMS)
- encoding       -> MalformedItemError naming accessToken.<field>
- version        -> UnsupportedEnvelopeVersionError (a MalformedItemError, code MALFORMED)
- utf8           -> MalformedItemError naming accessToken.ciphertext (it authenticated, so the
                    writer sealed bytes that are not text)
"""

from __future__ import annotations

import base64
from typing import Any, cast

import pytest

from oauth_token_reader import (
    DecryptionError,
    MalformedItemError,
    TokenNotFoundError,
    TokenReader,
    TokenReaderError,
    UnsupportedEnvelopeVersionError,
    open_envelope,
    parse_envelope,
)
from support import assert_same_secret, load_vectors

VECTORS = load_vectors()
ERRORS: dict[str, type[TokenReaderError]] = {
    "authentication": DecryptionError,
    "encoding": MalformedItemError,
    "version": UnsupportedEnvelopeVersionError,
    "utf8": MalformedItemError,
}


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


def _open(case: dict[str, Any]) -> str:
    envelope = parse_envelope(case["envelope"], user_id=case["userId"], platform=case["platform"])
    data_key = base64.b64decode(case["dataKey"])
    return open_envelope(envelope, data_key, user_id=case["userId"], platform=case["platform"])


def test_the_vectors_cover_every_error_kind() -> None:
    assert VECTORS["format"] == "envelope-v1"
    assert len(VECTORS["valid"]) >= 4
    assert {case["error"] for case in VECTORS["invalid"]} == set(ERRORS)


@pytest.mark.parametrize("case", VECTORS["valid"], ids=_ids(VECTORS["valid"]))
def test_valid_vector_opens_to_its_plaintext(case: dict[str, Any]) -> None:
    assert_same_secret(_open(case), case["plaintext"])


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=_ids(VECTORS["invalid"]))
def test_invalid_vector_fails_with_its_error_kind(case: dict[str, Any]) -> None:
    expected = ERRORS[case["error"]]
    with pytest.raises(expected) as caught:
        _open(case)
    error = caught.value
    if case["error"] == "authentication":
        assert isinstance(error, DecryptionError)
        assert error.kms_error_code is None
    if case["error"] == "utf8":
        assert isinstance(error, MalformedItemError)
        assert error.attribute == "accessToken.ciphertext"
    if case["error"] == "version":
        assert isinstance(error, UnsupportedEnvelopeVersionError)
        assert error.envelope_version == case["envelope"]["version"]
        assert str(case["envelope"]["version"]) in str(error)


class _VectorTable:
    """A fake DynamoDB client that holds one item: the vector's envelope as a map."""

    def __init__(self, case: dict[str, Any]) -> None:
        envelope = case["envelope"]
        fields: dict[str, Any] = {
            name: {"N": str(value)} if name == "version" else {"S": value}
            for name, value in envelope.items()
        }
        self.item = {
            "userId": {"S": case["userId"]},
            "platform": {"S": case["platform"]},
            "accessToken": {"M": fields},
        }

    def get_item(self, **_: Any) -> dict[str, Any]:
        return {"Item": self.item}


class _VectorKms:
    """A fake KMS: the vector's encryptedKey decrypts to its dataKey."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.blob = base64.b64decode(case["envelope"]["encryptedKey"])
        self.data_key = base64.b64decode(case["dataKey"])

    def decrypt(self, *, CiphertextBlob: bytes, KeyId: str) -> dict[str, Any]:  # noqa: N803
        assert CiphertextBlob == self.blob
        return {"Plaintext": self.data_key, "KeyId": KeyId}


def _reader(case: dict[str, Any]) -> TokenReader:
    return TokenReader(
        "tokens",
        dynamodb_client=cast(Any, _VectorTable(case)),
        kms_client=cast(Any, _VectorKms(case)),
    )


@pytest.mark.parametrize("case", VECTORS["valid"], ids=_ids(VECTORS["valid"]))
def test_valid_vector_through_a_reader(case: dict[str, Any]) -> None:
    reader = _reader(case)
    if case["plaintext"] == "":
        # An empty token counts as absent (docs/token-store.md, formats): not a token.
        with pytest.raises(TokenNotFoundError):
            reader.get_token(case["userId"], case["platform"])
        return
    token = reader.get_token(case["userId"], case["platform"])
    assert_same_secret(token.access_token, case["plaintext"])
    assert reader.stats.kms_decrypt_calls == 1


# A reader refuses an empty platform before any I/O (the shifted-separator case has one); the
# pure functions above cover that case.
READABLE_INVALID = [case for case in VECTORS["invalid"] if case["platform"]]


@pytest.mark.parametrize("case", READABLE_INVALID, ids=_ids(READABLE_INVALID))
def test_invalid_vector_through_a_reader(case: dict[str, Any]) -> None:
    with pytest.raises(ERRORS[case["error"]]):
        _reader(case).get_token(case["userId"], case["platform"])
