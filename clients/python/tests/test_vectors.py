"""tests/vectors/envelope-v1.json: the vectors every reader (Rust, TypeScript, Python) passes.

Twice: through the pure functions with the vector's data key, and through a whole TokenReader
whose DynamoDB and KMS are fakes that serve the vector (KMS maps encryptedKey to dataKey).

Envelope v2 differs from v1 only in the KMS encryption context of its data key, so each valid
vector with ``version`` changed to 2 is a v2 vector: it opens with the same data key.

Error kinds map to this library's errors as follows:
- authentication -> DecryptionError (kms_error_code None: AES-GCM refused, not KMS)
- encoding       -> MalformedItemError naming accessToken.<field>
- version        -> UnsupportedEnvelopeVersionError (a MalformedItemError, code MALFORMED)
- utf8           -> MalformedItemError naming accessToken.ciphertext (it authenticated, so the
                    writer sealed bytes that are not text)
"""

from __future__ import annotations

import base64
from typing import Any, Optional, cast

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


def _as_v2(case: dict[str, Any]) -> dict[str, Any]:
    return {**case, "envelope": {**case["envelope"], "version": 2}}


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


@pytest.mark.parametrize("case", VECTORS["valid"], ids=_ids(VECTORS["valid"]))
def test_valid_vector_as_v2_opens_with_the_same_data_key(case: dict[str, Any]) -> None:
    v2 = _as_v2(case)
    envelope = parse_envelope(v2["envelope"], user_id=v2["userId"], platform=v2["platform"])
    assert (envelope.version, envelope.uses_table_context) == (2, True)
    assert_same_secret(_open(v2), case["plaintext"])


# Every invalid vector but the one whose version is its point.
INVALID_BUT_VERSION = [case for case in VECTORS["invalid"] if case["error"] != "version"]


@pytest.mark.parametrize("case", INVALID_BUT_VERSION, ids=_ids(INVALID_BUT_VERSION))
def test_invalid_vector_as_v2_fails_with_the_same_error_kind(case: dict[str, Any]) -> None:
    with pytest.raises(ERRORS[case["error"]]):
        _open(_as_v2(case))


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
    """A fake KMS: the vector's encryptedKey decrypts to its dataKey; records the contexts."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.blob = base64.b64decode(case["envelope"]["encryptedKey"])
        self.data_key = base64.b64decode(case["dataKey"])
        self.contexts: list[Optional[dict[str, str]]] = []

    def decrypt(
        self,
        *,
        CiphertextBlob: bytes,  # noqa: N803
        KeyId: str,  # noqa: N803
        EncryptionContext: Optional[dict[str, str]] = None,  # noqa: N803
    ) -> dict[str, Any]:
        assert CiphertextBlob == self.blob
        self.contexts.append(EncryptionContext)
        return {"Plaintext": self.data_key, "KeyId": KeyId}


def _reader(case: dict[str, Any], kms: Optional[_VectorKms] = None) -> TokenReader:
    return TokenReader(
        "tokens",
        dynamodb_client=cast(Any, _VectorTable(case)),
        kms_client=cast(Any, kms or _VectorKms(case)),
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


NONEMPTY_VALID = [case for case in VECTORS["valid"] if case["plaintext"]]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("case", NONEMPTY_VALID, ids=_ids(NONEMPTY_VALID))
def test_valid_vector_through_a_reader_decrypts_in_its_versions_context(
    case: dict[str, Any], version: int
) -> None:
    case = _as_v2(case) if version == 2 else case
    kms = _VectorKms(case)
    token = _reader(case, kms).get_token(case["userId"], case["platform"])
    assert_same_secret(token.access_token, case["plaintext"])
    assert kms.contexts == [{"tokensTable": "tokens"} if version == 2 else None]


# A reader refuses an empty platform before any I/O (the shifted-separator case has one); the
# pure functions above cover that case.
READABLE_INVALID = [case for case in VECTORS["invalid"] if case["platform"]]


@pytest.mark.parametrize("case", READABLE_INVALID, ids=_ids(READABLE_INVALID))
def test_invalid_vector_through_a_reader(case: dict[str, Any]) -> None:
    with pytest.raises(ERRORS[case["error"]]):
        _reader(case).get_token(case["userId"], case["platform"])
