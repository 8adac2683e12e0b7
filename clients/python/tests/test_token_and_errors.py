"""The Token never prints its value; every error has its stable code."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

import oauth_token_reader
from oauth_token_reader import (
    ConfigurationError,
    DecryptionError,
    MalformedItemError,
    NeedsReauthError,
    Token,
    TokenExpiredError,
    TokenInactiveError,
    TokenNotFoundError,
    TokenReaderError,
    UnsupportedEnvelopeVersionError,
)
from support import assert_not_shown, new_token


def _token(value: str) -> Token:
    return Token(
        access_token=value, expires_at=1900000000, scope="read", status="active", version=3
    )


def test_repr_str_and_format_hide_the_access_token() -> None:
    value = new_token()
    token = _token(value)
    shown = [repr(token), str(token), f"{token}", f"{token!r}", repr([token]), repr({"t": token})]
    assert_not_shown(value, *shown)
    assert repr(token) == (
        "Token(access_token='***', expires_at=1900000000, scope='read', status='active', version=3)"
    )
    assert str(token) == repr(token)


def test_the_repr_of_every_field_is_there_but_the_token() -> None:
    fields = {field.name: field.repr for field in dataclasses.fields(Token)}
    assert fields == {
        "access_token": False,
        "expires_at": True,
        "scope": True,
        "status": True,
        "version": True,
    }


def test_token_is_frozen() -> None:
    token = _token(new_token())
    with pytest.raises(dataclasses.FrozenInstanceError):
        token.access_token = "act.py-changed"  # type: ignore[misc]


def test_token_survives_pickling_for_process_pools() -> None:
    token = _token(new_token())
    assert pickle.loads(pickle.dumps(token)) == token  # noqa: S301 (our own bytes)


@pytest.mark.parametrize(
    ("error_class", "code"),
    [
        (TokenNotFoundError, "NOT_FOUND"),
        (NeedsReauthError, "NEEDS_REAUTH"),
        (TokenInactiveError, "INACTIVE"),
        (TokenExpiredError, "EXPIRED"),
        (MalformedItemError, "MALFORMED"),
        (UnsupportedEnvelopeVersionError, "MALFORMED"),
        (DecryptionError, "DECRYPTION"),
        (ConfigurationError, "CONFIGURATION"),
    ],
)
def test_every_error_has_its_stable_code(error_class: type[TokenReaderError], code: str) -> None:
    assert issubclass(error_class, TokenReaderError)
    assert error_class.code == code


def test_the_public_names_are_exported() -> None:
    for name in oauth_token_reader.__all__:
        assert hasattr(oauth_token_reader, name)
    assert oauth_token_reader.__version__
