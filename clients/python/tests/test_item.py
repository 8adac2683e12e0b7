"""Item interpretation (pure): statuses, formats, attribute types, expiry."""

from __future__ import annotations

from typing import Any, Optional

import pytest

from oauth_token_reader import (
    Envelope,
    MalformedItemError,
    NeedsReauthError,
    TokenExpiredError,
    TokenInactiveError,
    TokenNotFoundError,
)
from oauth_token_reader.item import (
    PROJECTED_ATTRIBUTES,
    StoredToken,
    check_validity,
    interpret_item,
)
from support import assert_same_secret, new_token

USER, PLATFORM = "user-1", "schwab"


def _item(**attributes: Optional[dict[str, Any]]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "userId": {"S": USER},
        "platform": {"S": PLATFORM},
        "accessToken": {"S": "act.py-item"},
    }
    for name, value in attributes.items():
        if value is None:
            item.pop(name, None)
        else:
            item[name] = value
    return item


def _interpret(item: Optional[dict[str, Any]]) -> StoredToken:
    return interpret_item(item, user_id=USER, platform=PLATFORM)


def test_an_app_written_item_is_active_version_0_without_expiry() -> None:
    token = new_token()
    stored = _interpret(_item(accessToken={"S": token}))
    assert_same_secret(stored.access_token, token)
    assert (stored.status, stored.version, stored.expires_at, stored.scope) == (
        "active",
        0,
        None,
        None,
    )


def test_a_full_item() -> None:
    stored = _interpret(
        _item(
            status={"S": "active"},
            version={"N": "7"},
            expiresAt={"N": "1900000000"},
            scope={"S": "read write"},
        )
    )
    assert (stored.status, stored.version, stored.expires_at, stored.scope) == (
        "active",
        7,
        1900000000,
        "read write",
    )


def test_null_attributes_count_as_absent() -> None:
    stored = _interpret(_item(status={"NULL": True}, version={"NULL": True}, scope={"NULL": True}))
    assert (stored.status, stored.version, stored.scope) == ("active", 0, None)


def test_no_item_is_not_found() -> None:
    with pytest.raises(TokenNotFoundError) as caught:
        _interpret(None)
    assert caught.value.code == "NOT_FOUND"
    with pytest.raises(TokenNotFoundError):
        _interpret({})


@pytest.mark.parametrize("platform", ["refresh-oauth", "refresh-oauth#tiktok"])
def test_provider_locks_are_not_found(platform: str) -> None:
    lock = {
        "userId": {"S": "cron"},
        "platform": {"S": platform},
        "expiresAt": {"N": "1"},
        "lockOwner": {"S": "r"},
        "accessToken": {"S": "not-a-token"},
    }
    with pytest.raises(TokenNotFoundError):
        interpret_item(lock, user_id="cron", platform=platform)


@pytest.mark.parametrize("access_token", [None, {"S": ""}, {"NULL": True}])
def test_an_item_without_an_access_token_is_not_a_token(
    access_token: Optional[dict[str, Any]],
) -> None:
    with pytest.raises(TokenNotFoundError, match="holds no access token"):
        _interpret(_item(accessToken=access_token))


def test_needs_reauth_wins_over_a_broken_token() -> None:
    with pytest.raises(NeedsReauthError) as caught:
        _interpret(_item(status={"S": "needs_reauth"}, accessToken={"N": "1"}))
    assert caught.value.code == "NEEDS_REAUTH"


@pytest.mark.parametrize("status", ["inactive", "paused", "Active", ""])
def test_inactive_and_unknown_statuses_are_inactive(status: str) -> None:
    with pytest.raises(TokenInactiveError) as caught:
        _interpret(_item(status={"S": status}))
    assert caught.value.code == "INACTIVE"
    assert caught.value.status == status


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("accessToken", {"N": "1"}),
        ("accessToken", {"B": b"act.py"}),
        ("accessToken", {"L": []}),
        ("accessToken", "act.py-raw"),
        ("status", {"N": "1"}),
        ("expiresAt", {"S": "1900000000"}),
        ("expiresAt", {"N": "1900000000.5"}),
        ("expiresAt", {"N": "1e30"}),
        ("expiresAt", {"N": "not-a-number"}),
        ("version", {"N": "-1"}),
        ("expiresAt", {"N": "-1"}),
        ("version", {"N": "18446744073709551616"}),
        ("version", {"S": "1"}),
        ("scope", {"SS": ["read"]}),
        ("scope", {"S": "a", "N": "1"}),
    ],
)
def test_a_malformed_attribute_is_named_never_shown(attribute: str, value: Any) -> None:
    with pytest.raises(MalformedItemError) as caught:
        _interpret(_item(**{attribute: value}))
    assert caught.value.attribute == attribute
    assert caught.value.code == "MALFORMED"
    assert "act.py" not in str(caught.value)


def _envelope_map(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "version": {"N": "1"},
        "keyId": {"S": "arn:aws:kms:us-east-1:123456789012:key/k"},
        "encryptedKey": {"S": "a21zLWJsb2I="},
        "nonce": {"S": "AAAAAAAAAAAAAAAA"},
        "ciphertext": {"S": "AAAAAAAAAAAAAAAAAAAAAA=="},
    }
    fields.update(changes)
    return {"M": {name: value for name, value in fields.items() if value is not None}}


def test_an_envelope_map_is_parsed_not_opened() -> None:
    stored = _interpret(_item(accessToken=_envelope_map()))
    assert isinstance(stored.access_token, Envelope)
    assert "envelope" in repr(stored)


@pytest.mark.parametrize(
    ("changes", "attribute"),
    [
        ({"nonce": {"B": b"\x00" * 12}}, "accessToken.nonce"),
        ({"keyId": {"N": "1"}}, "accessToken.keyId"),
        ({"version": {"S": "1"}}, "accessToken.version"),
        ({"version": {"N": "1.5"}}, "accessToken.version"),
        ({"ciphertext": None}, "accessToken"),
        ({"extra": {"S": "x"}}, "accessToken"),
        ({"nonce": "AAAAAAAAAAAAAAAA"}, "accessToken.nonce"),
    ],
)
def test_a_malformed_envelope_map_names_the_field(changes: dict[str, Any], attribute: str) -> None:
    with pytest.raises(MalformedItemError) as caught:
        _interpret(_item(accessToken=_envelope_map(**changes)))
    assert caught.value.attribute == attribute


def test_projection_fetches_no_refresh_token() -> None:
    assert "refreshToken" not in PROJECTED_ATTRIBUTES
    assert "accessToken" in PROJECTED_ATTRIBUTES


@pytest.mark.parametrize(
    ("expires_at", "min_validity", "now", "expired"),
    [
        (None, 3600, 1000.0, False),
        (1100, 60, 1000.0, False),
        (1060, 60, 1000.0, False),  # exactly the validity asked for
        (1060, 60, 1000.9, False),  # now counts in whole seconds, like expiresAt
        (1059, 60, 1000.0, True),
        (1001, 0, 1000.0, False),
        (1000, 0, 1000.0, True),  # expires this second: at least one second is always asked
        (999, 0, 1000.0, True),  # already past: expired even with no margin asked
        (1002, 1.5, 1000.0, False),
        (1001, 1.5, 1000.0, True),
    ],
)
def test_check_validity(
    expires_at: Optional[int], min_validity: float, now: float, expired: bool
) -> None:
    def check() -> None:
        check_validity(
            expires_at, min_validity_seconds=min_validity, now=now, user_id=USER, platform=PLATFORM
        )

    if not expired:
        check()
        return
    with pytest.raises(TokenExpiredError) as caught:
        check()
    assert caught.value.expires_at == expires_at
    assert caught.value.min_validity_seconds == min_validity
    assert "refresher refreshes it on its schedule" in str(caught.value)
