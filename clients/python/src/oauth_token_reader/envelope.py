"""Envelope formats v1 and v2 (docs/token-store.md#envelope-format-v1): strict parsing, AES-GCM.

The two versions have the same five fields, AES-GCM layer, associated data and base64 rules; they
differ only in how the data key was generated, so only in the KMS ``Decrypt`` that recovers it:
v1 with no encryption context, v2 with ``{"tokensTable": <the tokens table>}``
(:data:`TOKENS_TABLE_CONTEXT_KEY`). That call is the reader's business; here a version is just
checked and kept on the :class:`Envelope`.

Pure functions, no I/O: the data key comes from the caller (the reader asks KMS; the vector tests
use the key the vectors carry). Parsing refuses anything the contract does not state, rather than
guess, because a reader that guesses reads what a writer never meant to write.

The envelope here is in its JSON form (``version`` an int, the other four strings): the same five
names the DynamoDB map and the DLQ records use. :mod:`oauth_token_reader.item` converts the map.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import DecryptionError, MalformedItemError, UnsupportedEnvelopeVersionError

__all__ = [
    "DATA_KEY_BYTES",
    "ENVELOPE_FIELDS",
    "ENVELOPE_VERSION",
    "ENVELOPE_VERSIONS",
    "NONCE_BYTES",
    "TAG_BYTES",
    "TOKENS_TABLE_CONTEXT_KEY",
    "Envelope",
    "associated_data",
    "open_envelope",
    "parse_envelope",
]

# Version 1, the first format (kept for callers that imported it); ENVELOPE_VERSIONS is what
# this reader opens.
ENVELOPE_VERSION = 1
ENVELOPE_VERSIONS = (1, 2)
# v2: the data key's KMS EncryptionContext is {TOKENS_TABLE_CONTEXT_KEY: <tokens table name>}.
TOKENS_TABLE_CONTEXT_KEY = "tokensTable"
ENVELOPE_FIELDS = ("version", "keyId", "encryptedKey", "nonce", "ciphertext")
NONCE_BYTES = 12
TAG_BYTES = 16
DATA_KEY_BYTES = 32

_KNOWN_VERSIONS = " and ".join(str(version) for version in ENVELOPE_VERSIONS)

_WRITER_HINT = (
    "The item's writer does not follow docs/token-store.md; "
    "reconnect the account (deployer tokens connect) or fix that writer."
)


@dataclass(frozen=True)
class Envelope:
    """A parsed envelope: every field decoded and checked, nothing decrypted yet.

    ``version`` is 1 or 2; it decides the KMS encryption context of ``encrypted_key`` (see
    :attr:`uses_table_context`) and nothing else.
    """

    key_id: str
    encrypted_key: bytes = field(repr=False)
    nonce: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)
    version: int = ENVELOPE_VERSION

    def __post_init__(self) -> None:
        # parse_envelope checks this with a typed error; a hand-built Envelope gets a plain one.
        if isinstance(self.version, bool) or self.version not in ENVELOPE_VERSIONS:
            raise ValueError(f"envelope version must be one of {_KNOWN_VERSIONS}")

    @property
    def uses_table_context(self) -> bool:
        """Whether KMS Decrypt of ``encrypted_key`` needs ``{"tokensTable": <table>}`` (v2)."""
        return self.version == 2


def associated_data(user_id: str, platform: str) -> bytes:
    """The AAD that binds an envelope to its item: an envelope copied elsewhere fails to open."""
    return f"{user_id}|{platform}".encode()


def parse_envelope(
    fields: Mapping[str, object], *, user_id: str, platform: str, attribute: str = "accessToken"
) -> Envelope:
    """Checks an envelope's JSON form field by field; raises naming the field, never its value.

    The version is checked first: an envelope of a version this reader does not know may well
    have other fields, and "unsupported version" is the error that tells the truth about it.
    """
    problem = _Problem(user_id=user_id, platform=platform, attribute=attribute)
    version = _check_version(fields, problem)
    _check_field_names(fields, problem)
    key_id = _string_field(fields, "keyId", problem)
    if not key_id:
        raise problem.malformed("keyId", "is empty; it must be the KMS key ARN")
    encrypted_key = _base64_field(fields, "encryptedKey", problem)
    if not encrypted_key:
        raise problem.malformed("encryptedKey", "is empty; it must be KMS's CiphertextBlob")
    nonce = _base64_field(fields, "nonce", problem)
    if len(nonce) != NONCE_BYTES:
        raise problem.malformed("nonce", f"is {len(nonce)} bytes; AES-GCM here uses {NONCE_BYTES}")
    ciphertext = _base64_field(fields, "ciphertext", problem)
    return Envelope(
        key_id=key_id,
        encrypted_key=encrypted_key,
        nonce=nonce,
        ciphertext=ciphertext,
        version=version,
    )


def open_envelope(
    envelope: Envelope,
    data_key: bytes,
    *,
    user_id: str,
    platform: str,
    attribute: str = "accessToken",
) -> str:
    """Decrypts and authenticates the value with the data key; returns it as strict UTF-8.

    A ciphertext shorter than the tag cannot authenticate, so it is a decryption error like any
    other that fails the tag (this is what the vectors state). Text that authenticates but is not
    UTF-8 was sealed that way by its writer: a malformed item, not a decryption failure.
    """
    if len(data_key) != DATA_KEY_BYTES:
        raise DecryptionError(
            f"{attribute} of ({user_id!r}, {platform!r}): the data key is {len(data_key)} bytes, "
            f"not {DATA_KEY_BYTES}; the key that decrypted encryptedKey is not an AES-256 data "
            "key of this format.",
            user_id=user_id,
            platform=platform,
        )
    if len(envelope.ciphertext) < TAG_BYTES:
        raise _not_authentic(attribute, user_id, platform, "is shorter than its 16-byte tag")
    try:
        plaintext = AESGCM(data_key).decrypt(
            envelope.nonce, envelope.ciphertext, associated_data(user_id, platform)
        )
    except InvalidTag:
        raise _not_authentic(attribute, user_id, platform, "does not authenticate") from None
    try:
        return plaintext.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        # `from None`: the UnicodeDecodeError holds the decrypted bytes.
        raise MalformedItemError(
            f"{attribute}.ciphertext of ({user_id!r}, {platform!r}) decrypts to text that is not "
            f"UTF-8. {_WRITER_HINT}",
            user_id=user_id,
            platform=platform,
            attribute=f"{attribute}.ciphertext",
        ) from None


def _not_authentic(attribute: str, user_id: str, platform: str, how: str) -> DecryptionError:
    return DecryptionError(
        f"{attribute} of ({user_id!r}, {platform!r}) {how}: the envelope was copied from another "
        "item, changed, or sealed with another data key. Do not retry; the refresher rewrites it "
        "on its next refresh, or reconnect the account.",
        user_id=user_id,
        platform=platform,
    )


@dataclass(frozen=True)
class _Problem:
    """Where a parse failure is, so each check raises with one line."""

    user_id: str
    platform: str
    attribute: str

    def malformed(self, name: str, what: str) -> MalformedItemError:
        path = f"{self.attribute}.{name}" if name else self.attribute
        return MalformedItemError(
            f"{path} of ({self.user_id!r}, {self.platform!r}) {what}. {_WRITER_HINT}",
            user_id=self.user_id,
            platform=self.platform,
            attribute=path,
        )


def _check_version(fields: Mapping[str, object], problem: _Problem) -> int:
    if "version" not in fields:
        raise problem.malformed("version", f"is missing; it must be one of {_KNOWN_VERSIONS}")
    version = fields["version"]
    # bool is an int in Python; JSON `true` is not a version.
    if not isinstance(version, int) or isinstance(version, bool):
        raise problem.malformed("version", "is not an integer")
    if version not in ENVELOPE_VERSIONS:
        path = f"{problem.attribute}.version"
        raise UnsupportedEnvelopeVersionError(
            f"{path} of ({problem.user_id!r}, {problem.platform!r}) is {version}; this reader "
            f"knows envelope versions {_KNOWN_VERSIONS} only. Upgrade oauth-token-reader.",
            user_id=problem.user_id,
            platform=problem.platform,
            attribute=path,
            envelope_version=version,
        )
    return version


def _check_field_names(fields: Mapping[str, object], problem: _Problem) -> None:
    missing = [name for name in ENVELOPE_FIELDS if name not in fields]
    extra = sorted(str(name) for name in fields if name not in ENVELOPE_FIELDS)
    if missing or extra:
        parts = []
        if missing:
            parts.append("lacks " + ", ".join(missing))
        if extra:
            parts.append("has unknown field(s) " + ", ".join(extra))
        raise problem.malformed(
            "",
            f"is an envelope that {' and '.join(parts)}; an envelope has exactly the five fields "
            + ", ".join(ENVELOPE_FIELDS),
        )


def _string_field(fields: Mapping[str, object], name: str, problem: _Problem) -> str:
    value = fields[name]
    if not isinstance(value, str):
        raise problem.malformed(name, "is not a string")
    return value


def _base64_field(fields: Mapping[str, object], name: str, problem: _Problem) -> bytes:
    """Standard alphabet with padding, canonical: exactly one text per byte string.

    ``validate=True`` refuses characters outside the alphabet (URL-safe ``-_``, whitespace) and
    missing padding; the round trip refuses non-zero padding bits, the last way two texts can
    mean the same bytes.
    """
    text = _string_field(fields, name, problem)
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        raise problem.malformed(
            name, "is not base64 (standard alphabet with padding, RFC 4648 section 4)"
        ) from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise problem.malformed(name, "is not canonical base64 (standard alphabet with padding)")
    return raw
