"""Envelope parsing beyond the vectors: the strictness the contract asks of every reader."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from oauth_token_reader import (
    DecryptionError,
    Envelope,
    MalformedItemError,
    UnsupportedEnvelopeVersionError,
    open_envelope,
    parse_envelope,
)
from oauth_token_reader.envelope import associated_data
from support import assert_same_secret, b64, new_token

USER, PLATFORM = "user-1", "tiktok"
KEY = bytes(range(32))


def _fields(value: str = "act.py-envelope", **changes: Any) -> dict[str, Any]:
    nonce = secrets.token_bytes(12)
    ciphertext = AESGCM(KEY).encrypt(nonce, value.encode(), associated_data(USER, PLATFORM))
    fields: dict[str, Any] = {
        "version": 1,
        "keyId": "arn:aws:kms:us-east-1:123456789012:key/test",
        "encryptedKey": b64(b"kms-blob"),
        "nonce": b64(nonce),
        "ciphertext": b64(ciphertext),
    }
    fields.update(changes)
    return fields


def _parse(fields: dict[str, Any]) -> Any:
    return parse_envelope(fields, user_id=USER, platform=PLATFORM)


def test_round_trip() -> None:
    token = new_token()
    envelope = _parse(_fields(token))
    assert_same_secret(open_envelope(envelope, KEY, user_id=USER, platform=PLATFORM), token)


@pytest.mark.parametrize("version", [1, 2])
def test_both_versions_parse_and_keep_their_version(version: int) -> None:
    token = new_token()
    envelope = _parse(_fields(token, version=version))
    assert envelope.version == version
    assert envelope.uses_table_context is (version == 2)
    assert_same_secret(open_envelope(envelope, KEY, user_id=USER, platform=PLATFORM), token)


@pytest.mark.parametrize("version", [0, 3, True])
def test_a_hand_built_envelope_of_an_unknown_version_is_refused(version: int) -> None:
    with pytest.raises(ValueError, match="1 and 2"):
        Envelope("k", b"blob", bytes(12), bytes(16), version=version)


def test_envelope_repr_shows_no_bytes() -> None:
    envelope = _parse(_fields())
    assert "ciphertext" not in repr(envelope)
    assert "nonce" not in repr(envelope)


@pytest.mark.parametrize("missing", ["keyId", "encryptedKey", "nonce", "ciphertext"])
def test_a_missing_field_is_malformed(missing: str) -> None:
    fields = _fields()
    del fields[missing]
    with pytest.raises(MalformedItemError, match=missing) as caught:
        _parse(fields)
    assert caught.value.attribute == "accessToken"


def test_a_missing_version_is_malformed_not_guessed() -> None:
    fields = _fields()
    del fields["version"]
    with pytest.raises(MalformedItemError) as caught:
        _parse(fields)
    assert caught.value.attribute == "accessToken.version"


def test_an_extra_field_is_malformed() -> None:
    with pytest.raises(MalformedItemError, match="unknown field"):
        _parse(_fields(aad="user-1|tiktok"))


@pytest.mark.parametrize("version", [0, 3, -1, 99])
def test_an_unknown_version_names_it(version: int) -> None:
    with pytest.raises(UnsupportedEnvelopeVersionError) as caught:
        _parse(_fields(version=version))
    assert caught.value.envelope_version == version
    assert caught.value.code == "MALFORMED"
    assert f"is {version};" in str(caught.value)


def test_an_unknown_version_is_reported_before_its_other_fields() -> None:
    with pytest.raises(UnsupportedEnvelopeVersionError):
        _parse({"version": 3, "keyId": "k", "sealed": "AAAA"})


@pytest.mark.parametrize("version", ["1", 1.0, True, None])
def test_a_version_that_is_not_an_integer_is_malformed(version: object) -> None:
    with pytest.raises(MalformedItemError) as caught:
        _parse(_fields(version=version))
    assert caught.value.attribute == "accessToken.version"
    assert not isinstance(caught.value, UnsupportedEnvelopeVersionError)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nonce", "AAAAAAAAAAAAAAAA\n"),  # whitespace
        ("nonce", " AAAAAAAAAAAAAAAA"),
        ("nonce", "AAAAAAAAAAAAAAAA="),  # padding past a whole quantum
        ("encryptedKey", "a21zLWJsb2I"),  # missing padding
        ("encryptedKey", "a21zLWJsb2J="),  # non-zero padding bits: not canonical
        ("encryptedKey", "a21z_WJsb2I="),  # URL-safe alphabet
        ("ciphertext", "éé=="),  # not ASCII
        ("keyId", 42),
        ("ciphertext", None),
    ],
)
def test_a_field_that_is_not_canonical_base64_is_malformed(field: str, value: object) -> None:
    fields = _fields()
    fields[field] = value
    with pytest.raises(MalformedItemError) as caught:
        _parse(fields)
    assert caught.value.attribute == f"accessToken.{field}"
    # The message names the attribute, never the value.
    if isinstance(value, str) and value.strip():
        assert value.strip() not in str(caught.value)


@pytest.mark.parametrize("size", [0, 8, 11, 13, 16])
def test_the_nonce_is_12_bytes(size: int) -> None:
    with pytest.raises(MalformedItemError) as caught:
        _parse(_fields(nonce=b64(bytes(size))))
    assert caught.value.attribute == "accessToken.nonce"


def test_empty_key_id_and_encrypted_key_are_malformed() -> None:
    with pytest.raises(MalformedItemError, match="keyId"):
        _parse(_fields(keyId=""))
    with pytest.raises(MalformedItemError, match="encryptedKey"):
        _parse(_fields(encryptedKey=""))


@pytest.mark.parametrize("size", [0, 1, 15])
def test_a_ciphertext_shorter_than_the_tag_does_not_authenticate(size: int) -> None:
    envelope = _parse(_fields(ciphertext=b64(bytes(size))))
    with pytest.raises(DecryptionError):
        open_envelope(envelope, KEY, user_id=USER, platform=PLATFORM)


def test_a_data_key_that_is_not_256_bits_is_a_decryption_error() -> None:
    envelope = _parse(_fields())
    with pytest.raises(DecryptionError, match="16 bytes"):
        open_envelope(envelope, bytes(16), user_id=USER, platform=PLATFORM)


def test_a_non_utf8_plaintext_does_not_chain_the_decoded_bytes() -> None:
    nonce = bytes(12)
    sealed = AESGCM(KEY).encrypt(nonce, b"\xffact.py", associated_data(USER, PLATFORM))
    envelope = _parse(_fields(nonce=b64(nonce), ciphertext=b64(sealed)))
    with pytest.raises(MalformedItemError) as caught:
        open_envelope(envelope, KEY, user_id=USER, platform=PLATFORM)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
